"""What every channel (push, SMS, enterprise webhook) takes and gives back.

The dispatcher claims pending deliveries, renders each for its recipient (language, elderly
variant) and hands a channel a batch of :class:`Outgoing`; the channel answers one
:class:`Outcome` per item, never raising for a single bad address or a provider's refusal.
``delivery_id`` is our id for this (notification, channel) pair: channels pass it to the
provider where the provider deduplicates (SMS ``request_id``, FCM message data, the webhook's
``X-Superapp-Delivery``), so a batch sent again after a crash is not delivered twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, Protocol, TypeVar

import msgspec

# sent: the provider accepted it. retry: a transient failure (5xx, timeout, throttled); the
# dispatcher tries again with back-off. invalid_address: the token/number/URL will never
# work (the dispatcher forgets it: an unregistered device token is deleted). failed: a
# refusal that a retry will not change.
OutcomeStatus = Literal["sent", "retry", "invalid_address", "failed"]
T = TypeVar("T")


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One rendered message for one address."""

    delivery_id: str
    recipient_id: str
    address: str  # device token, mobile number, or webhook URL
    title: str
    body: str
    link: str | None = None  # deep link into the app (a route of the sending mini-program)
    category: str = "service_status"
    priority: Literal["normal", "urgent"] = "normal"
    # Channel-specific extras, e.g. the SMS gateway's registered template and its parameters.
    template: str | None = None
    params: dict[str, str] = msgspec.field(default_factory=dict)


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one :class:`Outgoing`."""

    delivery_id: str
    status: OutcomeStatus
    provider_message_id: str | None = None
    error: str | None = None  # a short code (e.g. "UNREGISTERED", "http_503"), never personal data
    retry_after_s: float | None = None


class Channel(Protocol):
    """A way of reaching people. ``max_batch``: the most items one ``send`` may be given."""

    name: str
    max_batch: int

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """Send ``batch`` (at most ``max_batch`` items); one outcome per item, in order."""
        ...

    async def close(self) -> None:
        """Release connections; the channel is not used afterwards."""
        ...


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (e.g. a channel's ``max_batch``)."""
    if size < 1:
        raise ValueError("a batch holds at least one item")
    for start in range(0, len(items), size):
        yield items[start : start + size]
