"""Writing notifications: in the caller's transaction, once per idempotency key.

A mini-program calls ``await notify(...)`` inside the transaction of the change that causes
the message (app_api hands it :meth:`Outbox.notify` through the contract); if that
transaction rolls back, so does the message, and a key written twice is one message.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from notifications import rules
from notifications.models import CATEGORIES, PRIORITIES, Delivery, Notification, Webhook
from notifications.templates import Template
from notifications.webhooks import HOOK_PARAM

DIGEST_TEMPLATE = "notifications.digest"
Relatives = Callable[[str], Awaitable[list[str]]]  # elder -> relatives who receive for them
Recipients = Callable[[str], Awaitable[rules.Recipient]]


class Outbox:
    """Writes notifications and their pending deliveries (see :mod:`notifications.rules`)."""

    def __init__(
        self,
        templates: Mapping[str, Template],
        recipients: Recipients,
        relatives: Relatives,
        *,
        daily_cap: int = 3,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.templates = templates
        self._recipients = recipients
        self._relatives = relatives
        self._daily_cap = daily_cap
        self._clock = clock

    async def notify(
        self,
        recipient_id: str,
        category: str,
        template: str,
        params: Mapping[str, object],
        idempotency_key: str,
        *,
        priority: str = "normal",
        link: str | None = None,
        campaign: str | None = None,
    ) -> bool:
        """Write one notification (and, if urgent, a copy for each relative who receives the
        recipient's notifications); False when ``idempotency_key`` was written before."""
        if category not in CATEGORIES or priority not in PRIORITIES:
            raise ValueError(f"unknown category {category!r} or priority {priority!r}")
        if template not in self.templates:
            raise ValueError(f"unknown notification template {template!r}")
        written = await self._write(
            recipient_id, category, template, params, idempotency_key, priority, link, campaign
        )
        if written and priority == "urgent":
            for relative in await self._relatives(recipient_id):
                await self._write(
                    relative,
                    category,
                    template,
                    params,
                    f"{idempotency_key}:relative:{relative}",
                    priority,
                    link,
                    campaign,
                    on_behalf_of=recipient_id,
                )
        return written

    async def notify_enterprise(
        self,
        enterprise_id: str,
        category: str,
        template: str,
        params: Mapping[str, object],
        idempotency_key: str,
        *,
        priority: str = "normal",
        link: str | None = None,
        campaign: str | None = None,
    ) -> bool:
        """Write one message to each active webhook of an enterprise (a notification with
        ``recipient_id`` = the enterprise and one pending ``webhook`` delivery per hook, see
        :mod:`notifications.webhooks`); False when ``idempotency_key`` was written before
        for every one of them (or the enterprise has no active hook)."""
        if category not in CATEGORIES or priority not in PRIORITIES:
            raise ValueError(f"unknown category {category!r} or priority {priority!r}")
        if template not in self.templates:
            raise ValueError(f"unknown notification template {template!r}")
        if len(idempotency_key) > 160 - 41:  # room for ":webhook:<hook id hex>"
            raise ValueError("an enterprise idempotency key is at most 119 characters")
        written = False
        hooks = await Webhook.filter(enterprise_id=enterprise_id, disabled_at__isnull=True)
        for hook in hooks:
            row = Notification(
                id=uuid.uuid4(),
                recipient_id=enterprise_id,
                category=category,
                template=template,
                params={**params, HOOK_PARAM: str(hook.id)},
                priority=priority,
                idempotency_key=f"{idempotency_key}:webhook:{hook.id.hex}",
                link=link,
                campaign=campaign,
            )
            await Notification.bulk_create([row], ignore_conflicts=True)
            if not await Notification.filter(id=row.id).exists():
                continue
            # Machines have no quiet hours: due at once.
            await Delivery.create(
                id=uuid.uuid4(), notification_id=row.id, channel="webhook", not_before=self._clock()
            )
            written = True
        return written

    async def _write(
        self,
        recipient_id: str,
        category: str,
        template: str,
        params: Mapping[str, object],
        key: str,
        priority: str,
        link: str | None,
        campaign: str | None,
        on_behalf_of: str | None = None,
        send_at: datetime | None = None,
    ) -> bool:
        now = self._clock()
        row = Notification(
            id=uuid.uuid4(),
            recipient_id=recipient_id,
            category=category,
            template=template,
            params=dict(params),
            priority=priority,
            idempotency_key=key,
            link=link,
            campaign=campaign,
            on_behalf_of=on_behalf_of,
        )
        # ON CONFLICT DO NOTHING: a duplicate must not abort the caller's transaction.
        await Notification.bulk_create([row], ignore_conflicts=True)
        if not await Notification.filter(id=row.id).exists():
            return False
        recipient = await self._recipients(recipient_id)
        capped = category in rules.CAPPED and await self._over_cap(recipient, category, now)
        channels = rules.channels_for(recipient, category, priority)
        await Delivery.bulk_create(
            [
                Delivery(
                    id=uuid.uuid4(),
                    notification_id=row.id,
                    channel=channel,
                    status="skipped" if capped else "pending",
                    error="digest" if capped else None,
                    not_before=send_at or rules.send_at(now, recipient, category, priority),
                )
                for channel in sorted(channels)
            ]
        )
        if capped:
            await self._digest(recipient, now)
        return True

    async def _over_cap(self, recipient: rules.Recipient, category: str, now: datetime) -> bool:
        """Whether today's capped messages to this recipient already reached the cap."""
        day_start = datetime.fromisoformat(rules.day_of(now, recipient)).replace(
            tzinfo=recipient.tz
        )
        sent_today = await Notification.filter(
            recipient_id=recipient.account_id,
            category__in=tuple(rules.CAPPED),
            created_at__gte=day_start,
        ).count()
        return sent_today > self._daily_cap  # this one is counted already

    async def _digest(self, recipient: rules.Recipient, now: datetime) -> None:
        """One digest a day for what the cap held back, sent the next morning."""
        day = rules.day_of(now, recipient)
        await self._write(
            recipient.account_id,
            "service_status",  # not a capped category itself: a digest is never digested
            DIGEST_TEMPLATE,
            {"day": day},
            f"digest:{recipient.account_id}:{day}",
            "normal",
            "/api/v1/notifications",
            None,
            send_at=rules.next_morning(now, recipient),
        )
