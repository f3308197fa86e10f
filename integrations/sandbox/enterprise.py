"""The enterprise registry as the sandbox plays it (``/gov/v1/enterprise/profile``): every
18-character credit code is an active company, its figures derived from the code."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from integrations.sandbox.kit import SandboxKit, gateway_error, ok
from integrations.sandbox.people import rng_for


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
    return ok(
        {
            "credit_code": code,
            "status": "active",
            "registered_capital_fen": rng.randrange(10, 5000) * 10_000 * 100,
            "insured_employees": rng.randrange(1, 800),
            "tax_credit_rating": rng.choice("ABCM"),
        }
    )
