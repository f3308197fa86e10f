"""The enterprise registry as the sandbox plays it (``/gov/v1/enterprise/profile``): every
18-character credit code is an active company, its figures derived from the code."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from integrations.sandbox.kit import SandboxKit, gateway_error, ok
from integrations.sandbox.people import rng_for

# GB/T 4754-2017 classes of the kinds of firms a prefecture city has.
INDUSTRIES = (
    "C3911",
    "C3982",
    "C2710",
    "C1761",
    "I6510",
    "I6421",
    "F5123",
    "M7320",
    "E4710",
    "A0141",
)
SIZES = ((10, "micro"), (100, "small"), (300, "medium"), (10**9, "large"))  # by employees
DISTRICTS = ("321302", "321311", "321322", "321323", "321324")  # 宿城 宿豫 沭阳 泗阳 泗洪


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    """Company profiles, released only with a consent reference."""
    return [kit.plain("GET", "/profile", profile)]


async def profile(request: web.Request, _body: Any) -> web.Response:
    if not request.query.get("consent_ref"):
        return gateway_error(403, "CONSENT_REQUIRED", "a consent reference is required")
    code = request.query.get("credit_code", "")
    if len(code) != 18:
        return gateway_error(404, "ENTERPRISE_NOT_FOUND", "no such enterprise")
    rng = rng_for(code, "enterprise")
    employees = rng.randrange(1, 800)
    founded = date(2026, 1, 1) - timedelta(days=rng.randrange(100, 30 * 365))
    return ok(
        {
            "credit_code": code,
            "status": "active",
            "registered_capital_fen": rng.randrange(10, 5000) * 10_000 * 100,
            "insured_employees": employees,
            "tax_credit_rating": rng.choice("ABCM"),
            "industry_code": rng.choice(INDUSTRIES),
            "size_class": next(size for top, size in SIZES if employees < top),
            "district": rng.choice(DISTRICTS),
            "founded_on": founded.isoformat(),
            "unemployment_insurance_months": rng.choice((0, 3, 12, 24, 36, 60)),
        }
    )
