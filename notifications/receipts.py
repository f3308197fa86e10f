"""SMS delivery receipts: the gateway's signed callback, checked and read into a typed receipt.

The gateway POSTs, some seconds after it accepted a message::

    {"message_id": "...", "request_id": "<our delivery id>", "status": "DELIVRD" | "UNDELIV",
     "error_code": "MK:0005" | null, "done_at": "2026-01-05T08:00:03+00:00"}

signed with the gateway's own app id and secret the way our outbound requests are signed
(``X-App-Id``, ``X-Timestamp``, ``X-Nonce``, ``X-Signature`` over method, path, query and the
body's hash). This module holds no keys and imports nothing above it: the caller hands
:func:`parse_receipt` a verifier (``functools.partial(integrations.signing.verify_headers,
gateway_app_id, gateway_secret)``). A receipt may arrive more than once (the gateway retries
until it hears 2xx), so applying one must be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Literal

import msgspec

# (method, path, query, headers, body) -> None when the signature holds, else a short reason.
ReceiptVerifier = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes], str | None]

MAX_RECEIPT_BYTES = 4096  # a receipt is a few hundred bytes; anything larger is not one


class ReceiptRejected(Exception):
    """The callback is not a genuine receipt. ``reason``: ``signature``, ``skew``, ``app_id``,
    ``too_large`` or ``malformed`` (answer 401 for the first three, 400 otherwise)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"delivery receipt rejected: {reason}")
        self.reason = reason


class _Wire(msgspec.Struct, frozen=True):
    message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    status: Literal["DELIVRD", "UNDELIV"]
    done_at: Annotated[datetime, msgspec.Meta(tz=True)]
    error_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """What the carrier said became of one SMS."""

    delivery_id: str  # our id, sent to the gateway as its request id
    provider_message_id: str  # the gateway's message id, as SmsChannel's Outcome recorded it
    delivered: bool
    status: Literal["DELIVRD", "UNDELIV"]
    error_code: str | None
    done_at: datetime  # tz-aware


def parse_receipt(
    body: bytes,
    headers: Mapping[str, str],
    verify: ReceiptVerifier,
    *,
    path: str,
    method: str = "POST",
    query: Mapping[str, str] | None = None,
) -> Receipt:
    """Check the signature of a receipt callback, then read it; raises :class:`ReceiptRejected`.

    ``path`` and ``query`` are the callback request's own (the gateway signs the URL it
    posts to), ``headers`` its headers in any case.
    """
    if len(body) > MAX_RECEIPT_BYTES:
        raise ReceiptRejected("too_large")
    # The signature is judged before the body is looked at: nothing unsigned is parsed.
    reason = verify(method, path, query or {}, headers, body)
    if reason is not None:
        raise ReceiptRejected(reason)
    try:
        wire = msgspec.json.decode(body, type=_Wire)
    except msgspec.DecodeError:
        raise ReceiptRejected("malformed") from None
    return Receipt(
        delivery_id=wire.request_id,
        provider_message_id=wire.message_id,
        delivered=wire.status == "DELIVRD",
        status=wire.status,
        error_code=wire.error_code,
        done_at=wire.done_at,
    )
