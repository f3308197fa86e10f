"""Working off the outbox: claim due deliveries, render them, send them, record the outcome.

Safe to run in many processes at once. A claim is a lease: the claiming statement only
takes rows nobody holds (``FOR UPDATE SKIP LOCKED`` where the database has it, and on
every database an update that only succeeds on an unleased row, checked by the claim's own
token). A dispatcher killed mid-batch loses nothing: its leases run out and another takes
the rows. It may then send some of them again; every send carries the delivery's id, which
the providers deduplicate on (SMS ``request_id``, FCM message data, the webhook's
``X-Superapp-Delivery``), so a person is not told twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import structlog
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from notifications import rules, webhooks
from notifications.channels.base import Channel, Outcome, Outgoing, batches
from notifications.channels.webhook import retry_schedule
from notifications.models import Delivery, Device
from notifications.templates import Template, render, sms_params

log = structlog.get_logger("superapp.notifications")
Recipients = Callable[[Sequence[str]], Awaitable[Mapping[str, rules.Recipient]]]
WRITE_BATCH = 500  # deliveries per UPDATE when a batch's outcomes are written back


def backoff_s(attempts: int) -> float:
    """Seconds before another try: 30 s doubling to an hour."""
    return float(min(3600, 30 * 2 ** max(0, attempts - 1)))


class Dispatcher:
    """Sends what the outbox holds through ``channels`` (by name: push, sms, webhook)."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        templates: Mapping[str, Template],
        recipients: Recipients,
        *,
        batch: int = 200,
        lease_s: int = 120,
        max_attempts: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        webhook_disabled: webhooks.Disabled | None = None,
    ) -> None:
        """``webhook_disabled``: told of each hook this dispatcher turns off (to tell its admins)."""
        self.channels = channels
        self.templates = templates
        self._recipients = recipients
        self._batch = batch
        self._lease = timedelta(seconds=lease_s)
        self._max_attempts = max_attempts
        self._clock = clock
        self.webhook_disabled = webhook_disabled

    async def run_until_idle(self, limit: int = 1000) -> int:
        """Dispatch batch after batch until nothing is due (or ``limit`` batches); returns
        how many deliveries were worked."""
        worked = 0
        for _ in range(limit):
            done = await self.run_once()
            worked += done
            if done == 0:
                break
        return worked

    async def run_forever(self, stop: asyncio.Event, idle_s: float = 1.0) -> None:
        """Dispatch until ``stop`` is set: back to back while there is work, every ``idle_s``
        when there is none. A failing round is logged and tried again, never fatal."""
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception as exc:  # a database hiccup must not end the loop
                log.error("dispatch_failed", error_type=type(exc).__name__)
                worked = 0
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle_s)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and work them; returns how many. The batch's
        recipients and devices are read in one query each, and its outcomes written back in
        one statement per few hundred rows (only where this claim still holds the lease)."""
        claimed = await self.claim()
        if not claimed:
            return 0
        ledger = Ledger(self._clock())
        by_channel: dict[str, list[tuple[Delivery, Outgoing]]] = defaultdict(list)
        for delivery, outgoing in await self._outgoing(claimed, ledger):
            by_channel[delivery.channel].append((delivery, outgoing))
        for name, items in by_channel.items():
            await self._send(self.channels[name], items, ledger)
        await ledger.write(claimed[0].lease_owner)
        return len(claimed)

    async def claim(self) -> list[Delivery]:
        """Lease up to ``batch`` due deliveries to this call; nobody else gets them meanwhile."""
        now = self._clock()
        token = secrets.token_hex(8)
        async with in_transaction() as conn:
            unleased = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
            due = Delivery.filter(unleased, status="pending", not_before__lte=now)
            query = due.order_by("not_before").limit(self._batch)
            if conn.capabilities.dialect == "postgres":
                query = query.select_for_update(skip_locked=True)
            ids = await query.values_list("id", flat=True)
            if not ids:
                return []
            # Only rows still free are taken: on SQLite two dispatchers may have read the same
            # candidates; the token says whose update won each row.
            free = Delivery.filter(unleased, id__in=list(ids), status="pending")
            await free.update(lease_until=now + self._lease, lease_owner=token)
        # One query for the batch and its notifications, not one more per row.
        return await Delivery.filter(lease_owner=token).select_related("notification")

    async def _outgoing(
        self, claimed: Sequence[Delivery], ledger: Ledger
    ) -> list[tuple[Delivery, Outgoing]]:
        """The rendered messages the batch sends; a delivery a rule says no to now (a
        preference changed, the device went, no SMS template) is closed in the ledger."""
        people = await self._recipients(
            sorted({str(d.notification.recipient_id) for d in claimed if d.channel != "webhook"})
        )
        pushing = {d.notification.recipient_id for d in claimed if d.channel == "push"}
        devices: dict[str, list[Device]] = defaultdict(list)
        for device in await Device.filter(account_id__in=list(pushing)).order_by("created_at"):
            devices[str(device.account_id)].append(device)
        found: list[tuple[Delivery, Outgoing]] = []
        for delivery in claimed:
            if delivery.channel == "webhook":  # an enterprise's hook, not a resident
                outgoing = await self._webhook_outgoing(delivery, ledger)
            else:
                outgoing = self._render(delivery, people, devices, ledger)
            found.extend((delivery, item) for item in outgoing)
        return found

    def _render(
        self,
        delivery: Delivery,
        people: Mapping[str, rules.Recipient],
        devices: Mapping[str, list[Device]],
        ledger: Ledger,
    ) -> list[Outgoing]:
        note = delivery.notification
        recipient = people[str(note.recipient_id)]
        if not rules.wants(recipient, note.category, delivery.channel):
            ledger.close(delivery, "skipped", "preference")
            return []
        template = self.templates.get(note.template)
        if template is None:
            ledger.close(delivery, "failed", "unknown_template")
            return []
        text = render(template, note.params, locale=recipient.locale, elderly=recipient.elderly)
        common = {
            "recipient_id": str(note.recipient_id),
            "title": text.title,
            "body": text.body,
            "link": None if recipient.elderly else note.link,
            "category": note.category,
            "priority": note.priority,
        }
        if delivery.channel == "push":
            theirs = devices.get(str(note.recipient_id), [])
            if not theirs:
                ledger.close(delivery, "skipped", "no_device")
                return []
            return [
                Outgoing(delivery_id=f"{delivery.id}:{d.id}", address=d.token, **common)
                for d in theirs
            ]
        if delivery.channel == "sms":
            if not recipient.phone or template.sms_template is None:
                ledger.close(delivery, "skipped", "no_sms")
                return []
            return [
                Outgoing(
                    delivery_id=str(delivery.id),
                    address=recipient.phone,
                    template=template.sms_template,
                    # The registered template takes what it names: the words, or the params.
                    params={"title": text.title, "body": text.body, **sms_params(note.params)},
                    **common,
                )
            ]
        ledger.close(delivery, "failed", "unknown_channel")
        return []

    async def _send(
        self, channel: Channel, items: Sequence[tuple[Delivery, Outgoing]], ledger: Ledger
    ) -> None:
        outcomes: dict[str, list[Outcome]] = defaultdict(list)
        for chunk in batches(items, channel.max_batch):
            for (delivery, _), outcome in zip(
                chunk, await channel.send([o for _, o in chunk]), strict=True
            ):
                outcomes[str(delivery.id)].append(outcome)
        deliveries = {str(d.id): d for d, _ in items}
        for delivery_id, results in outcomes.items():
            await self._record(deliveries[delivery_id], results, ledger)

    async def _record(self, delivery: Delivery, results: list[Outcome], ledger: Ledger) -> None:
        """One delivery's outcome from its sends (a push goes to each of the person's devices)."""
        if delivery.channel == "webhook":
            await self._record_webhook(delivery, results, ledger)
            return
        for result in results:
            if result.status == "invalid_address" and delivery.channel == "push":
                ledger.dead_devices.add(uuid.UUID(result.delivery_id.rpartition(":")[2]))
        sent = [r for r in results if r.status == "sent"]
        if sent:
            ledger.close(delivery, "sent", None, sent[0].provider_message_id)
            return
        retry = [r for r in results if r.status == "retry"]
        attempts = delivery.attempts + 1
        if retry and attempts < self._max_attempts:
            wait = max(backoff_s(attempts), *(r.retry_after_s or 0 for r in retry))
            ledger.later(delivery, attempts, wait, retry[0].error)
            return
        error = (retry or results)[0].error if results else None
        ledger.close(delivery, "failed", error or "gave_up", attempts=attempts)

    async def _webhook_outgoing(self, delivery: Delivery, ledger: Ledger) -> list[Outgoing]:
        found = await webhooks.outgoing(delivery, self.templates)
        if isinstance(found, str):
            ledger.close(delivery, "skipped" if found == "hook_disabled" else "failed", found)
            return []
        return [found]

    async def _record_webhook(
        self, delivery: Delivery, results: list[Outcome], ledger: Ledger
    ) -> None:
        """A webhook's outcome: retried on :func:`retry_schedule` for 24 h, then (or on 410
        Gone, or a URL now refused) the hook is turned off and its admins are told."""
        hook_id, now = webhooks.hook_for(delivery), self._clock()
        result = results[0]
        attempts = delivery.attempts + 1
        if hook_id is None:
            ledger.close(delivery, "failed", "hook_unknown", attempts=attempts)
            return
        if result.status == "sent":
            await webhooks.succeeded(hook_id)
            ledger.close(delivery, "sent", None, result.provider_message_id)
            return
        await webhooks.failing(hook_id, now)
        wait = retry_schedule(attempts) if result.status == "retry" else None
        if wait is not None:
            ledger.later(delivery, attempts, max(wait, result.retry_after_s or 0), result.error)
            return
        ledger.close(delivery, "failed", result.error or "gave_up", attempts=attempts)
        if result.status == "failed":  # a 4xx refuses this message, not the hook
            return
        reason = webhooks.REASON_FAILING if result.status == "retry" else result.error or "gone"
        hook = await webhooks.disable(hook_id, reason, now)
        if hook is not None:
            log.warning("webhook_disabled", hook=str(hook_id), reason=reason)
            if self.webhook_disabled is not None:
                await self.webhook_disabled(hook)


class Ledger:
    """What working one claimed batch decided, kept in memory and written back together."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rows: list[Delivery] = []
        self.rescheduled: set[uuid.UUID] = set()  # tried again later: their not_before moved
        self.dead_devices: set[uuid.UUID] = set()  # tokens FCM says will never work

    def close(
        self,
        delivery: Delivery,
        status: str,
        error: str | None,
        provider_message_id: str | None = None,
        *,
        attempts: int | None = None,
    ) -> None:
        """The delivery is done: sent, skipped or failed."""
        delivery.status = status
        delivery.error = error
        delivery.provider_message_id = provider_message_id
        delivery.attempts = delivery.attempts + 1 if attempts is None else attempts
        self.rows.append(delivery)
        if status != "sent":
            log.info("delivery_closed", channel=delivery.channel, status=status, reason=error)

    def later(self, delivery: Delivery, attempts: int, wait_s: float, error: str | None) -> None:
        """The delivery is tried again after ``wait_s`` (by whichever dispatcher claims it)."""
        delivery.attempts = attempts
        delivery.not_before = self.now + timedelta(seconds=wait_s)
        delivery.error = error
        self.rows.append(delivery)
        self.rescheduled.add(delivery.id)

    async def write(self, token: str | None) -> None:
        """Write every decision, only where ``token`` still holds the lease: a dispatcher
        that outlived its lease does not overwrite what the one that took over decided.

        Rows that end alike (most of a batch: sent at the first attempt) are one UPDATE
        each group; only the providers' message ids, one per row, go row by row in a CASE."""
        named = [d for d in self.rows if d.provider_message_id]
        for chunk in batches(named, WRITE_BATCH):
            await Delivery.filter(lease_owner=token).bulk_update(
                chunk, fields=("provider_message_id",)
            )
        alike: dict[tuple[str, str | None, int, datetime | None], list[uuid.UUID]]
        alike = defaultdict(list)
        for d in self.rows:
            later = d.not_before if d.id in self.rescheduled else None
            alike[(d.status, d.error, d.attempts, later)].append(d.id)
        for (status, error, attempts, later), ids in alike.items():
            moved = {} if later is None else {"not_before": later}
            for chunk in batches(ids, WRITE_BATCH):
                await Delivery.filter(lease_owner=token, id__in=chunk).update(
                    status=status,
                    error=error,
                    attempts=attempts,
                    lease_until=None,
                    lease_owner=None,
                    updated_at=datetime.now(UTC),
                    **moved,
                )
        if self.dead_devices:
            await Device.filter(id__in=list(self.dead_devices)).delete()
