"""Writing notifications: in the caller's transaction, once per idempotency key.

A mini-program calls ``await notify(...)`` (one recipient) or ``await notify_many(...)`` (a
policy's thousands) inside the transaction of the change that causes the message (app_api
hands both through the contract); if that transaction rolls back, so do the messages, and
a key written twice is one message. Many recipients cost a handful of statements per
thousand, not several per person: rows are inserted together, the recipients, their
relatives and their daily counts are read and counted together.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise import connections

from notifications import rules
from notifications.addressed import Addressed
from notifications.channels.base import batches
from notifications.models import (
    CATEGORIES,
    PRIORITIES,
    DailyCount,
    Delivery,
    Notification,
    Webhook,
)
from notifications.templates import Template
from notifications.webhooks import HOOK_PARAM

DIGEST_TEMPLATE = "notifications.digest"
# Room for a relative's copy (":relative:<account id>") in the column's 160 characters.
MAX_KEY = 160 - len(":relative:") - 36
CHUNK = 1000  # recipients per round of statements (bounded memory and SQL parameters)
# Many recipients -> the relatives who receive for each of them.
Relatives = Callable[[Sequence[str]], Awaitable[Mapping[str, list[str]]]]
# Many account ids -> what the rules need of each (every id asked for is answered).
Recipients = Callable[[Sequence[str]], Awaitable[Mapping[str, rules.Recipient]]]


@dataclass(frozen=True)
class _Kind:
    """What every message of one send shares."""

    category: str
    template: str
    params: Mapping[str, object]
    priority: str
    link: str | None
    campaign: str | None


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
        written = await self.notify_many(
            [Addressed(recipient_id, idempotency_key)],
            category,
            template,
            params,
            priority=priority,
            link=link,
            campaign=campaign,
        )
        return written == 1

    async def notify_many(
        self,
        addressed: Sequence[Addressed],
        category: str,
        template: str,
        params: Mapping[str, object],
        *,
        priority: str = "normal",
        link: str | None = None,
        campaign: str | None = None,
    ) -> int:
        """Write one notification per :class:`Addressed` (its own params over ``params``),
        with the same rules as :meth:`notify`; returns how many were new (a key written
        before is skipped, the others are still written)."""
        self._check_kind(category, template, priority)
        too_long = next((a for a in addressed if len(a.idempotency_key) > MAX_KEY), None)
        if too_long is not None:
            raise ValueError(f"an idempotency key is at most {MAX_KEY} characters")
        keys = Counter(a.idempotency_key for a in addressed)
        if keys and keys.most_common(1)[0][1] > 1:
            raise ValueError(f"idempotency key {keys.most_common(1)[0][0]!r} given twice")
        kind = _Kind(category, template, params, priority, link, campaign)
        # One order for every writer, so two sends to overlapping people at once take the
        # unique keys and the daily counts in the same order and cannot deadlock.
        ordered = sorted(addressed, key=lambda a: a.idempotency_key)
        written = 0
        for chunk in batches(ordered, CHUNK):
            rows = await self._write(chunk, kind)
            written += len(rows)
            if rows and priority == "urgent":
                await self._copy_to_relatives(rows, kind)
        return written

    def _check_kind(self, category: str, template: str, priority: str) -> None:
        """A sender's mistake, refused before anything is written."""
        if category not in CATEGORIES or priority not in PRIORITIES:
            raise ValueError(f"unknown category {category!r} or priority {priority!r}")
        if template not in self.templates:
            raise ValueError(f"unknown notification template {template!r}")

    async def _copy_to_relatives(self, rows: Sequence[Notification], kind: _Kind) -> None:
        """A copy of each urgent message for every relative who receives the elder's."""
        relatives = await self._relatives([str(row.recipient_id) for row in rows])
        copies = [
            (
                Addressed(
                    relative,
                    f"{row.idempotency_key}:relative:{relative}",
                    row.params,  # the elder's own, already laid over the shared ones
                ),
                str(row.recipient_id),
            )
            for row in rows
            for relative in relatives.get(str(row.recipient_id), [])
        ]
        for chunk in batches(sorted(copies, key=lambda c: c[0].idempotency_key), CHUNK):
            await self._write(
                [a for a, _ in chunk], kind, on_behalf_of={a.recipient_id: e for a, e in chunk}
            )

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
        self._check_kind(category, template, priority)
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
        addressed: Sequence[Addressed],
        kind: _Kind,
        *,
        on_behalf_of: Mapping[str, str] | None = None,
        send_at: datetime | None = None,
    ) -> list[Notification]:
        """Insert what is new among ``addressed`` and its deliveries; the rows written."""
        now = self._clock()
        rows = [
            Notification(
                id=uuid.uuid4(),
                recipient_id=a.recipient_id,
                category=kind.category,
                template=kind.template,
                params={**kind.params, **a.params},
                priority=kind.priority,
                idempotency_key=a.idempotency_key,
                link=kind.link,
                campaign=kind.campaign,
                on_behalf_of=(on_behalf_of or {}).get(a.recipient_id),
            )
            for a in addressed
        ]
        # ON CONFLICT DO NOTHING: a duplicate must not abort the caller's transaction.
        await Notification.bulk_create(rows, ignore_conflicts=True)
        new = set(
            await Notification.filter(id__in=[r.id for r in rows]).values_list("id", flat=True)
        )
        rows = [row for row in rows if row.id in new]
        if not rows:
            return []
        people = await self._recipients(sorted({str(row.recipient_id) for row in rows}))
        capped: set[str] = set()
        if kind.category in rules.CAPPED:
            capped = await self._over_cap(rows, people, now)
        deliveries = []
        for row in rows:
            person = people[str(row.recipient_id)]
            held = str(row.id) in capped
            for channel in sorted(rules.channels_for(person, kind.category, kind.priority)):
                deliveries.append(
                    Delivery(
                        id=uuid.uuid4(),
                        notification_id=row.id,
                        channel=channel,
                        status="skipped" if held else "pending",
                        error="digest" if held else None,
                        not_before=send_at
                        or rules.send_at(now, person, kind.category, kind.priority),
                    )
                )
        await Delivery.bulk_create(deliveries)
        if capped:
            held_for = {str(row.recipient_id) for row in rows if str(row.id) in capped}
            await self._digest([people[account] for account in sorted(held_for)], now)
        return rows

    async def _over_cap(
        self, rows: Sequence[Notification], people: Mapping[str, rules.Recipient], now: datetime
    ) -> set[str]:
        """The ids of the rows past their recipient's daily cap. Each recipient's count for
        their day is raised by how many rows they get here, in one upsert that returns the new
        totals: the rows take the places below the total, and those beyond the cap are held."""
        mine: dict[str, list[Notification]] = defaultdict(list)
        for row in rows:
            mine[str(row.recipient_id)].append(row)
        accounts = sorted(mine)
        days = {account: rules.day_of(now, people[account]) for account in accounts}
        conn = connections.get("default")
        postgres = conn.capabilities.dialect == "postgres"
        marks = iter(range(1, 3 * len(accounts) + 1))
        values = ", ".join(
            "(" + ", ".join(f"${next(marks)}" if postgres else "?" for _ in range(3)) + ")"
            for _ in accounts
        )
        table = DailyCount._meta.db_table
        sql = (
            f"INSERT INTO {table} (account_id, day, sent) VALUES {values} "
            "ON CONFLICT (account_id) DO UPDATE SET "
            f"sent = CASE WHEN {table}.day = excluded.day THEN {table}.sent + excluded.sent "
            "ELSE excluded.sent END, day = excluded.day "
            "RETURNING account_id, sent"
        )
        params = [p for a in accounts for p in (a, days[a], len(mine[a]))]
        totals = {r["account_id"]: r["sent"] for r in await conn.execute_query_dict(sql, params)}
        held: set[str] = set()
        for account, theirs in mine.items():
            before = totals[account] - len(theirs)
            held.update(
                str(row.id) for n, row in enumerate(theirs, before + 1) if n > self._daily_cap
            )
        return held

    async def _digest(self, people: Sequence[rules.Recipient], now: datetime) -> None:
        """One digest a day for what the cap held back, sent the next morning."""
        kind = _Kind(
            "service_status",  # not a capped category itself: a digest is never digested
            DIGEST_TEMPLATE,
            {},
            "normal",
            "/api/v1/notifications",
            None,
        )
        by_morning: dict[datetime, list[Addressed]] = defaultdict(list)
        for person in people:
            day = rules.day_of(now, person)
            by_morning[rules.next_morning(now, person)].append(
                Addressed(person.account_id, f"digest:{person.account_id}:{day}", {"day": day})
            )
        for morning, addressed in by_morning.items():
            await self._write(addressed, kind, send_at=morning)
