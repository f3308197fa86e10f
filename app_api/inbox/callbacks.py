"""/api/v1/callbacks/sms-receipts: the SMS gateway tells us whether a message arrived.

The gateway signs each receipt as it signs nothing else (its own app id and secret, the
scheme of integrations/signing.py); an unsigned or tampered one changes nothing. A receipt
about a delivery we do not know is acknowledged all the same, or the gateway would retry it.
"""

from __future__ import annotations

import uuid
from functools import partial

from litestar import Request, Router, post

from app_api.errors import Problem
from app_api.services import Services
from app_api.strict import is_json
from integrations.signing import verify_headers
from miniprograms.access import public
from notifications.models import Delivery
from notifications.receipts import ReceiptRejected, parse_receipt


@post(
    "/sms-receipts",
    opt={
        "access": public(),
        "problems": ("forbidden", "body_malformed", "unsupported_media_type"),
    },
    status_code=204,
    summary="Delivery receipts from the SMS gateway (signed)",
)
async def sms_receipt(request: Request, services: Services) -> None:
    cfg = services.settings
    verify = partial(verify_headers, cfg.sms_receipt_app_id, cfg.sms_receipt_secret)
    try:
        receipt = parse_receipt(
            await request.body(),
            request.headers,
            verify,
            path=request.url.path,
            query=dict(request.query_params),
        )
    except ReceiptRejected as exc:
        # The signature is judged first: a stranger learns nothing about the format.
        if exc.reason not in ("malformed", "too_large"):
            raise Problem("forbidden") from None
        raise Problem(_unreadable(request)) from None
    if not is_json(*request.content_type):
        raise Problem("unsupported_media_type")
    try:
        delivery_id = uuid.UUID(receipt.delivery_id)
    except ValueError:
        return  # not one of ours
    await Delivery.filter(id=delivery_id, channel="sms", status="sent").update(
        status="delivered" if receipt.delivered else "failed",
        error=None if receipt.delivered else (receipt.error_code or "undelivered"),
    )


def _unreadable(request: Request) -> str:
    """Why a signed body could not be read: not labelled JSON, or not a receipt."""
    return "body_malformed" if is_json(*request.content_type) else "unsupported_media_type"


router = Router(path="/api/v1/callbacks", route_handlers=[sms_receipt], tags=["callbacks"])
