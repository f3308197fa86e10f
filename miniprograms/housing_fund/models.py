"""Withdrawal applications we filed, keyed by the resident's Idempotency-Key."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class WithdrawalApplication(Model):
    """One withdrawal (提取) application. A row with no ``application_no`` is being filed."""

    id = fields.UUIDField(primary_key=True)
    resident_id = fields.UUIDField(db_index=True)
    idempotency_key = fields.CharField(max_length=64)
    fingerprint = fields.CharField(max_length=64)
    reason = fields.CharField(max_length=16)
    amount_fen = fields.BigIntField()
    application_no = fields.CharField(max_length=32, null=True)
    status = fields.CharField(max_length=16, default="submitting")
    submitted_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "hf_withdrawal_application"
        unique_together = (("resident_id", "idempotency_key"),)
