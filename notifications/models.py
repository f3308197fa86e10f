"""The outbox: notifications, their per-channel deliveries, devices and preferences.

A notification is written in the same transaction as the change that causes it (a policy
match, an approved withdrawal); the in-app inbox *is* the notification row, so the inbox
has it the moment that transaction commits. Every other channel gets one delivery row,
worked off by the dispatcher (:mod:`notifications.dispatcher`).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

CATEGORIES = ("policy", "service_status", "transit", "security", "announcement")
PRIORITIES = ("normal", "urgent")
CHANNELS = ("push", "sms", "webhook")
# pending: waiting for the dispatcher (not before ``not_before``); sent: a provider took it;
# delivered: a receipt said it arrived; skipped: a rule said no (preference, no device,
# digest); failed: given up.
DELIVERY_STATES = ("pending", "sent", "delivered", "skipped", "failed")


class Notification(Model):
    """One message to one account: the inbox shows it, the deliveries carry it elsewhere."""

    id = fields.UUIDField(primary_key=True)
    recipient_id = fields.UUIDField()
    category = fields.CharField(max_length=16)
    template = fields.CharField(max_length=96)
    params = fields.JSONField(default=dict)
    priority = fields.CharField(max_length=8, default="normal")
    # The sender's key: the same key written twice is one notification.
    idempotency_key = fields.CharField(max_length=160, unique=True)
    link = fields.CharField(max_length=256, null=True)
    campaign = fields.CharField(max_length=96, null=True, db_index=True)
    # A relative's copy of an elder's urgent message names the elder (亲情代办).
    on_behalf_of = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("recipient_id", "read_at", "created_at"),)


class Delivery(Model):
    """One notification on one channel, and what became of it."""

    id = fields.UUIDField(primary_key=True)
    notification: fields.ForeignKeyRelation[Notification] = fields.ForeignKeyField(
        "notifications.Notification", related_name="deliveries", on_delete=fields.CASCADE
    )
    channel = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    not_before = fields.DatetimeField()
    # A dispatcher that claimed the row holds it until then; one killed mid-batch lets go.
    lease_until = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=32, null=True)
    provider_message_id = fields.CharField(max_length=160, null=True)
    error = fields.CharField(max_length=64, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_delivery"
        unique_together = (("notification", "channel"),)
        indexes = (("status", "not_before"),)


class Device(Model):
    """A phone that receives pushes: its FCM registration token, tied to the session that
    registered it (logging out unregisters it)."""

    id = fields.UUIDField(primary_key=True)
    account_id = fields.UUIDField(db_index=True)
    token = fields.CharField(max_length=512, unique=True)
    platform = fields.CharField(max_length=16)
    session_family = fields.CharField(max_length=64, null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification_device"


class Preference(Model):
    """A resident's choice for one category on one channel (absent: the default, on)."""

    id = fields.IntField(primary_key=True)
    account_id = fields.UUIDField()
    category = fields.CharField(max_length=16)
    channel = fields.CharField(max_length=16)
    enabled = fields.BooleanField()

    class Meta:
        table = "notification_preference"
        unique_together = (("account_id", "category", "channel"),)


class Webhook(Model):
    """An enterprise's HTTPS endpoint for its messages (see notifications.webhooks).

    The signing secret is sealed (AES-GCM under the app's vault key, bound to the hook id):
    we must sign with the secret itself, so a one-way hash would not do, and a copy of the
    database alone does not let anyone forge our signatures."""

    id = fields.UUIDField(primary_key=True)
    enterprise_id = fields.UUIDField(db_index=True)
    url = fields.CharField(max_length=2048)
    secret_sealed = fields.CharField(max_length=256)
    created_by = fields.UUIDField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The first failed attempt since the last success, cleared by a success.
    failing_since = fields.DatetimeField(null=True)
    disabled_at = fields.DatetimeField(null=True)
    disabled_reason = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "notification_webhook"


class DailyCount(Model):
    """How many capped messages (``policy``, ``announcement``) an account was written on
    ``day``, its latest day (one row per account, reset when the day changes). Counted by one
    atomic upsert, so senders writing at once cannot all slip under the cap."""

    account_id = fields.CharField(max_length=36, primary_key=True)
    day = fields.CharField(max_length=10)
    sent = fields.IntField(default=0)

    class Meta:
        table = "notification_daily_count"
