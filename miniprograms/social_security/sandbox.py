"""The social security upstream as the sandbox plays it (``/gov/v1/social-security/*`` of
``openapi/provincial.yaml``). Development and tests only: :func:`routes` is named by
``UPSTREAM.sandbox``.

Records follow the person (``integrations.sandbox.people``) and run up to the month
before the sandbox's today.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from integrations.sandbox.kit import IDEMPOTENCY_KEY, SandboxKit, gateway_error, ok, page
from integrations.sandbox.people import Person, month_add, months_between, paying

INSURANCE_TYPES = ("pension", "medical", "unemployment", "work_injury", "maternity")
# Shares of the contribution base, in basis points: (personal, employer).
RATES_BP = {
    "pension": (800, 1600),
    "medical": (200, 800),
    "unemployment": (50, 50),
    "work_injury": (0, 40),
    "maternity": (0, 50),
}


def _paid_until(p: Person) -> date:
    """The month contributions stop: today while working, else retirement or half a year ago."""
    return p.today if paying(p) else (p.retired_on or month_add(p.today, -7))


def social_summary(p: Person) -> dict:
    """Insured status per insurance type, base, months paid, personal pension account."""
    months = (
        0
        if p.situation == "minor"
        else max(0, months_between(p.insured_since, min(_paid_until(p), p.today)))
    )

    def status(kind: str) -> str:
        if p.situation == "minor":
            return "paying" if kind == "medical" else "not_insured"
        if p.situation == "retiree":
            return "receiving" if kind in ("pension", "medical") else "ended"
        if p.situation in ("unemployed", "no_housing_fund") and kind != "medical":
            return (
                "receiving"
                if (kind == "unemployment" and p.situation == "unemployed")
                else "suspended"
            )
        return "paying"

    pension_personal = RATES_BP["pension"][0]
    return {
        "paying_city": "宿迁市",
        "contribution_base_fen": p.base_fen,
        "months_paid": months,
        "personal_account_fen": p.base_fen * pension_personal // 10_000 * months,
        "insured": [
            {"type": k, "status": status(k), "since": f"{p.insured_since:%Y-%m}"}
            for k in INSURANCE_TYPES
        ],
    }


def contribution_rows(p: Person, first: date, last: date) -> list[dict]:
    """Monthly contribution lines (one per insurance type paid) between two months."""
    if p.situation == "minor":
        return []
    rows = []
    month = max(first, p.insured_since)
    while month <= min(last, month_add(_paid_until(p), -1)):
        for kind in INSURANCE_TYPES:
            personal_bp, employer_bp = RATES_BP[kind]
            rows.append(
                {
                    "period": f"{month:%Y-%m}",
                    "type": kind,
                    "base_fen": p.base_fen,
                    "personal_fen": p.base_fen * personal_bp // 10_000,
                    "employer_fen": p.base_fen * employer_bp // 10_000,
                    "status": "paid",
                }
            )
        month = month_add(month, 1)
    return rows


def pension_rows(p: Person) -> list[dict]:
    """Monthly pension paid to a retiree, newest first."""
    if not p.retired_on:
        return []
    rows = []
    month = month_add(p.today, -1)
    while month >= p.retired_on:
        raise_steps = max(0, month.year - p.retired_on.year)
        amount = p.pension_fen * (1000 + 30 * raise_steps) // 1000  # yearly uprating around 3%
        rows.append(
            {"period": f"{month:%Y-%m}", "amount_fen": amount, "paid_on": f"{month:%Y-%m}-15"}
        )
        month = month_add(month, -1)
    return rows


def _month(value: str | None, default: date) -> date:
    if not value:
        return default
    year, _, month = value.partition("-")
    return date(int(year), int(month), 1)


class SocialSecuritySandbox:
    """The upstream's handlers, and the certificates it issued (by idempotency key)."""

    def __init__(self) -> None:
        self.certificates: dict[str, dict] = {}
        self._ids = itertools.count(1)

    async def summary(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        return ok(social_summary(p))

    async def contributions(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        try:
            first = _month(request.query.get("from"), date(p.today.year, 1, 1))
            last = _month(request.query.get("to"), p.today)
        except ValueError:
            return gateway_error(400, "INVALID_PARAMETER", "from/to are YYYY-MM")
        if first > last:
            return gateway_error(400, "INVALID_PARAMETER", "from is after to")
        return page(request, contribution_rows(p, first, last))

    async def pensions(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        return page(request, pension_rows(p))

    async def certificate(self, request: web.Request, p: Person, body: Any) -> web.Response:
        key = request.headers[IDEMPOTENCY_KEY]
        if p.situation == "minor":
            return gateway_error(409, "NOT_INSURED", "no contribution record to certify")
        if key not in self.certificates:
            issued = datetime.now(UTC)
            self.certificates[key] = {
                "certificate_no": f"SQSB{issued:%Y%m%d}{next(self._ids):06d}",
                "kind": "contribution_record",
                "verification_code": secrets.token_hex(4).upper(),
                "issued_at": issued.isoformat(),
                "valid_until": (issued + timedelta(days=90)).date().isoformat(),
                "months_paid": social_summary(p)["months_paid"],
            }
        return ok(self.certificates[key])


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    """Summary, contributions, pension payments and certificates (the handler of
    ``UPSTREAM.sandbox``); the issued certificates are ``kit.state``."""
    upstream = kit.state = SocialSecuritySandbox()
    return [
        kit.get("/summary", upstream.summary),
        kit.get("/contributions", upstream.contributions),
        kit.get("/pension-payments", upstream.pensions),
        kit.post("/certificates", upstream.certificate),
    ]
