"""The benefit payment upstream as the sandbox plays it (``/gov/v1/benefit-payment/*`` of
``openapi/provincial.yaml``). Development and tests only: :func:`routes` is named by
``UPSTREAM.sandbox``.

The province pays each grant once. The grant id is the payment's idempotency key (the
``X-Idempotency-Key`` must be the body's ``grant_id``): asking again with the same details
answers the same payment; asking again with other details (payee, payee kind, document or
amount) is refused with 409 ``PAYMENT_CONFLICT`` and pays nothing.

Amounts below :data:`PAID_AT_ONCE_BELOW_FEN` are ``paid`` at once; larger ones stay
``accepted`` (the province's second review) until the development surface settles them:

- ``GET /admin/benefit-payment/payments``: every payment made, in order (``{"items": [...]}``).
- ``PUT /admin/benefit-payment/payments/{grant_id}`` with ``{"status": "paid"}`` or
  ``{"status": "rejected", "reason": "..."}``: settle an accepted payment.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from integrations.sandbox.kit import IDEMPOTENCY_KEY, SandboxKit, gateway_error, ok

MAX_AMOUNT_FEN = 10_000_000  # 100,000 yuan: no single grant is larger
PAID_AT_ONCE_BELOW_FEN = 500_000  # below 5,000 yuan paid at once; above, reviewed first
GRANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")  # GB 32100
PAYEE = {"resident": ID_NUMBER, "enterprise": CREDIT_CODE}
# What a repeat must match to be the same payment.
REQUEST_FIELDS = ("payee", "payee_kind", "document_no", "amount_fen")


def _invalid(message: str) -> web.Response:
    return gateway_error(400, "INVALID_PARAMETER", message)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class BenefitPaymentSandbox:
    """The upstream's handlers, and the payments made (by grant id, in order)."""

    def __init__(self) -> None:
        self.payments: dict[str, dict] = {}
        self._ids = itertools.count(1)

    async def pay(self, request: web.Request, body: Any) -> web.Response:
        # No await between the look-up and the filing: concurrent repeats pay once.
        key = request.headers.get(IDEMPOTENCY_KEY)
        if not key:
            return gateway_error(400, "IDEMPOTENCY_KEY_REQUIRED", f"{IDEMPOTENCY_KEY} is required")
        body = body if isinstance(body, dict) else {}
        grant_id = body.get("grant_id")
        if not isinstance(grant_id, str) or not GRANT_ID.fullmatch(grant_id):
            return _invalid("grant_id is 1 to 64 letters, digits, '-' or '_'")
        if key != grant_id:
            return _invalid(f"{IDEMPOTENCY_KEY} is the grant id")
        made = self.payments.get(grant_id)
        if made is not None:
            if any(body.get(f) != made["request"][f] for f in REQUEST_FIELDS):
                return gateway_error(
                    409, "PAYMENT_CONFLICT", "this grant was paid with other details"
                )
            return ok(made["payment"])
        payee, kind = body.get("payee"), body.get("payee_kind")
        document_no, amount = body.get("document_no"), body.get("amount_fen")
        if kind not in PAYEE:
            return _invalid("payee_kind is resident or enterprise")
        if not isinstance(payee, str) or not PAYEE[kind].fullmatch(payee):
            return _invalid("payee is an 18-character ID number or unified social credit code")
        if not isinstance(document_no, str) or not 1 <= len(document_no.strip()) <= 64:
            return _invalid("document_no is the policy document's number")
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT_FEN:
            return _invalid(f"amount_fen is an integer from 1 to {MAX_AMOUNT_FEN}")
        paid = amount < PAID_AT_ONCE_BELOW_FEN
        payment = {
            "payment_id": f"BP{datetime.now(UTC):%Y%m%d}{next(self._ids):06d}",
            "grant_id": grant_id,
            "status": "paid" if paid else "accepted",
            "amount_fen": amount,
            "reason": None,
            "paid_at": _now() if paid else None,
        }
        self.payments[grant_id] = {
            "request": {f: body[f] for f in REQUEST_FIELDS},
            "payment": payment,
        }
        return ok(payment)

    async def payment(self, request: web.Request, _body: Any) -> web.Response:
        made = self.payments.get(request.match_info["grant_id"])
        if made is None:
            return gateway_error(404, "PAYMENT_NOT_FOUND", "no payment for this grant")
        return ok(made["payment"])

    # -- development surface ----------------------------------------------------------------
    async def admin_list(self, request: web.Request) -> web.Response:
        """``GET /admin/benefit-payment/payments``: every payment made, with what was asked."""
        return web.json_response(
            {"items": [made["payment"] | made["request"] for made in self.payments.values()]}
        )

    async def admin_settle(self, request: web.Request) -> web.Response:
        """``PUT /admin/benefit-payment/payments/{grant_id}`` ``{"status", "reason"?}``."""
        made = self.payments.get(request.match_info["grant_id"])
        if made is None:
            return gateway_error(404, "PAYMENT_NOT_FOUND", "no payment for this grant")
        try:
            body = await request.json()
        except ValueError:
            body = None
        status = body.get("status") if isinstance(body, dict) else None
        reason = body.get("reason") if isinstance(body, dict) else None
        if status not in ("paid", "rejected") or (status == "rejected" and not reason):
            return _invalid('body is {"status": "paid"} or {"status": "rejected", "reason": ...}')
        if made["payment"]["status"] != "accepted":
            return gateway_error(409, "PAYMENT_SETTLED", "this payment is already settled")
        made["payment"] |= (
            {"status": "paid", "paid_at": _now()}
            if status == "paid"
            else {"status": "rejected", "reason": str(reason)}
        )
        return web.json_response(made["payment"])


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    """Payments made and looked up, and the development surface (the handler of
    ``UPSTREAM.sandbox``); the payments made are ``kit.state.payments``."""
    upstream = kit.state = BenefitPaymentSandbox()
    admin = f"/admin/{kit.name.replace('_', '-')}/payments"
    return [
        kit.plain("POST", "/payments", upstream.pay),
        kit.plain("GET", "/payments/{grant_id}", upstream.payment),
        web.get(admin, upstream.admin_list),
        web.put(admin + "/{grant_id}", upstream.admin_settle),
    ]
