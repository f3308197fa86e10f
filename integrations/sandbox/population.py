"""The population registry as the sandbox plays it (``/gov/v1/population/*``): profiles for
policy matching and the three-element check, plus the development surface that registers a
phone line to an ID number (``PUT /admin/registry/phones/{phone}``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from integrations.sandbox.kit import SandboxKit, gateway_error, ok
from integrations.sandbox.people import Person, rng_for
from integrations.sandbox.registry import PopulationRegistry

CITY = "3213"  # 宿迁: registrations under this prefix are local


def population_profile(p: Person) -> dict:
    """What the registry releases for policy matching (household facts drawn once per
    number, so every run agrees)."""
    rng = rng_for(p.id_number, "household")
    local = p.id_number.startswith(CITY)
    return {
        "hukou_type": rng.choice(("local_urban", "local_rural")) if local else "non_local",
        "household_size": rng.choices((1, 2, 3, 4, 5, 6), (12, 25, 30, 20, 9, 4))[0],
        "months_unemployed": rng.randrange(1, 19) if p.situation == "unemployed" else 0,
        "birth_date": f"{p.born:%Y-%m-%d}",
        "gender": "M" if p.male else "F",
        "hukou_district": p.id_number[:6],
        "employment": {
            "minor": "student",
            "retiree": "retired",
            "unemployed": "unemployed",
            "no_housing_fund": "self_employed",
        }.get(p.situation, "employed"),
        "insured_pension": p.situation != "minor",
    }


class PopulationSandbox:
    """The registry's handlers, and its phone registrations (``registry``)."""

    def __init__(self) -> None:
        self.registry = PopulationRegistry()

    async def profile(self, request: web.Request, p: Person, _body: Any) -> web.Response:
        if not request.query.get("consent_ref"):
            return gateway_error(403, "CONSENT_REQUIRED", "a consent reference is required")
        return ok(population_profile(p))

    async def verification(self, request: web.Request, body: Any) -> web.Response:
        """The three-element check: is this the name of this ID number, and is this phone
        registered to it? Only the verdict comes back."""
        body = body if isinstance(body, dict) else {}
        name, id_number, phone = body.get("name"), body.get("id_number"), body.get("phone")
        if not isinstance(name, str) or not isinstance(id_number, str) or not name:
            return gateway_error(400, "INVALID_PARAMETER", "name and id_number are required")
        if phone is not None and not isinstance(phone, str):
            return gateway_error(400, "INVALID_PARAMETER", "phone is a string")
        return ok({"result": self.registry.check(name, id_number, phone)})


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    """Profiles, the three-element check, and the phone registrations' admin route; the
    registry is ``kit.state.registry``."""
    upstream = kit.state = PopulationSandbox()
    return [
        kit.get("/profile", upstream.profile),
        kit.plain("POST", "/verification", upstream.verification),
        web.put("/admin/registry/phones/{phone}", upstream.registry.admin_register),
    ]
