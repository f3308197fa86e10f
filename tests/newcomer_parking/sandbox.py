"""The parking system as the sandbox plays it: ``/gov/v1/city-parking/permits``.

王小明 holds two permits, 赵桂兰 none; everyone else follows from a hash of the ID number.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from integrations.sandbox.kit import SandboxKit, gateway_error, ok
from integrations.sandbox.people import Person, rng_for

ZONES = ("宿城区-A", "宿豫区-B", "沭阳县-C")
HOLDERS = {"321302198201150138": 2, "321322194604040248": 0}


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    return [kit.get("/permits", permits)]


async def permits(request: web.Request, person: Person, _body: Any) -> web.Response:
    rng = rng_for(person.id_number, "parking")
    count = HOLDERS.get(person.id_number, rng.randrange(0, 3))
    if count == 0:
        return gateway_error(404, "HOLDER_NOT_FOUND", "no parking permit")
    return ok(
        {
            "items": [
                {
                    "plate": f"苏N·{rng.randrange(10000, 99999)}",
                    "zone": ZONES[i % len(ZONES)],
                    "valid_until": (person.today + timedelta(days=30 * (i + 1))).isoformat(),
                }
                for i in range(count)
            ]
        }
    )
