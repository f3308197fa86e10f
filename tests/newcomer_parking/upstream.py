"""The city parking system behind the provincial gateway: wire shapes, Protocol and client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import msgspec

from integrations.provincial.gateway import PREFIX, AuditHook, Fetched, Gateway
from integrations.provincial.upstream import Upstream, client_of

NAME = "city_parking"


class Permit(msgspec.Struct):
    plate: str
    zone: str
    valid_until: str


class Permits(msgspec.Struct):
    items: list[Permit]


@runtime_checkable
class ParkingUpstream(Protocol):
    """What the mini-program may ask the parking system."""

    async def permits(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[Permits]:
        """A resident's parking permits (``HOLDER_NOT_FOUND`` when they never had one)."""
        ...


class ParkingClient:
    """:class:`ParkingUpstream` over the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def permits(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[Permits]:
        return await self._gateway.read(
            NAME,
            f"{PREFIX}/city-parking/permits",
            {"id_number": id_number},
            Permits,
            audit=audit,
            purpose=purpose,
            fresh_s=300,
        )


def provide_parking(clients: Mapping[str, object]) -> ParkingUpstream:
    """The ``parking`` dependency of this program's handlers."""
    return client_of(clients, NAME, ParkingUpstream)


UPSTREAM = Upstream(
    name=NAME, client=ParkingClient, sandbox="tests.newcomer_parking.sandbox:routes"
)
