"""The library system as the sandbox plays it: ``/gov/v1/city-library/loans``.

Loans follow from the ID number; about one reader in three has no card. 王小明 always has
books out and 赵桂兰 never had a card, so the tests can name them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from integrations.sandbox.kit import SandboxKit, gateway_error, ok
from integrations.sandbox.people import Person, rng_for

TITLES = ("红楼梦", "活着", "平凡的世界", "宿迁史话", "围城", "乡土中国", "城南旧事", "边城")
READERS = {"321302198201150138": True, "321322194604040248": False}


def routes(kit: SandboxKit) -> list[web.RouteDef]:
    return [kit.get("/loans", loans)]


async def loans(request: web.Request, person: Person, _body: Any) -> web.Response:
    rng = rng_for(person.id_number, "library")
    if not READERS.get(person.id_number, rng.random() > 1 / 3):
        return gateway_error(404, "CARD_NOT_FOUND", "no library card")
    count = rng.randrange(1, 4)
    return ok(
        {
            "items": [
                {"title": title, "due_on": (person.today + timedelta(days=7 * (i + 1))).isoformat()}
                for i, title in enumerate(rng.sample(TITLES, count))
            ]
        }
    )
