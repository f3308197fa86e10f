"""One recipient of a message sent to many (:meth:`notifications.outbox.Outbox.notify_many`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Addressed:
    """Who, the sender's idempotency key for them, and the parameters that are theirs alone
    (e.g. the reasons they qualify), laid over the parameters every recipient shares."""

    recipient_id: str
    idempotency_key: str
    params: Mapping[str, object] = field(default_factory=dict)
