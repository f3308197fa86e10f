"""SMS through the gateway's registered templates, exactly once per delivery.

Chinese gateways send only templates registered with the carrier, so an :class:`Outgoing`
for this channel carries the template id in ``template`` and its parameters in ``params``
(the renderer chooses them); ``title`` and ``body`` are not sent. The delivery id goes to
the gateway as its ``request_id``, on which the gateway deduplicates: a batch sent again
after a crash returns the first message ids and reaches nobody twice.

The gateway client lives above this room (``integrations.sms.SmsClient``); it is handed in
as an :class:`SmsSender`. Failures are read from the exception's ``status`` and ``code``:

==========================================  ===================
the sender's exception                      outcome
==========================================  ===================
4xx with an invalid-number code             ``invalid_address``
401, 429, 5xx, no answer (``status`` None)  ``retry``
``TimeoutError`` / ``OSError``              ``retry``
any other 4xx, or another exception         ``failed``
==========================================  ===================

Retrying a message the gateway may already have taken is safe: the request id is the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from notifications.channels.base import Outcome, Outgoing

# Codes gateways use for a number that will never take a message (ours; Aliyun's; Tencent's).
INVALID_NUMBER_CODES = frozenset(
    {
        "INVALID_MOBILE",
        "isv.MOBILE_NUMBER_ILLEGAL",
        "FailedOperation.PhoneNumberInBlacklist",
        "InvalidParameterValue.IncorrectPhoneNumber",
    }
)


class SmsSender(Protocol):
    """Sends one template message; ``integrations.sms.SmsClient`` is one.

    Returns the gateway's message id. Raises on failure; the exception should carry
    ``status`` (the gateway's HTTP status, ``None`` when no answer came) and ``code`` (its
    error code, if any) so the channel can tell a bad number from an outage.
    """

    async def send(
        self, phone: str, template: str, params: dict[str, str], request_id: str | None = None
    ) -> str:
        """Send ``template`` with ``params`` to ``phone``; the same ``request_id`` sends once."""
        ...


class SmsChannel:
    """The ``sms`` channel: up to ``max_batch`` messages, ``concurrency`` at a time."""

    name = "sms"

    def __init__(
        self,
        sender: SmsSender,
        *,
        max_batch: int = 50,
        concurrency: int = 8,
        default_template: str | None = None,
    ) -> None:
        """``default_template``: a registered template taking one ``title`` parameter, used
        when an Outgoing names none; without it such an Outgoing fails (``no_template``)."""
        self._sender = sender
        self.max_batch = max_batch
        self._limit = asyncio.Semaphore(concurrency)
        self._default_template = default_template

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """Send each message of ``batch``; one outcome per item, in order, never raising."""
        if len(batch) > self.max_batch:
            raise ValueError(f"a batch of {len(batch)} exceeds max_batch={self.max_batch}")
        return list(await asyncio.gather(*(self._send_one(item) for item in batch)))

    async def close(self) -> None:
        """Nothing to release: the sender belongs to whoever built it (it also sends codes)."""

    async def _send_one(self, item: Outgoing) -> Outcome:
        template, params = item.template, dict(item.params)
        if template is None:
            if self._default_template is None:
                return Outcome(delivery_id=item.delivery_id, status="failed", error="no_template")
            template, params = self._default_template, {"title": item.title}
        async with self._limit:
            try:
                message_id = await self._sender.send(
                    item.address, template, params, request_id=item.delivery_id
                )
            except Exception as exc:  # any failure of the sender is an outcome, not a crash
                return _failure(item.delivery_id, exc)
        return Outcome(delivery_id=item.delivery_id, status="sent", provider_message_id=message_id)


def _failure(delivery_id: str, exc: Exception) -> Outcome:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if isinstance(status, int):
        error = f"http_{status}" + (f":{str(code)[:48]}" if code else "")
        if 400 <= status < 500 and code in INVALID_NUMBER_CODES:
            return Outcome(delivery_id=delivery_id, status="invalid_address", error=error)
        # 401: our credentials or clock, not this message, are wrong; once they are put
        # right it goes, so it waits rather than being dropped.
        if status in (401, 429) or status >= 500:
            return Outcome(delivery_id=delivery_id, status="retry", error=error)
        return Outcome(delivery_id=delivery_id, status="failed", error=error)
    if hasattr(exc, "status") or isinstance(exc, TimeoutError | OSError):
        # No answer came (timeout, connection refused, a garbled reply): the gateway may or
        # may not have the message, and the request id makes asking again harmless. The
        # exception's text is not kept: it may name the number.
        return Outcome(delivery_id=delivery_id, status="retry", error="no_answer")
    return Outcome(delivery_id=delivery_id, status="failed", error=type(exc).__name__)
