"""The library system behind the provincial gateway: its wire shapes, Protocol and client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import msgspec

from integrations.provincial.gateway import PREFIX, AuditHook, Fetched, Gateway
from integrations.provincial.upstream import Upstream, client_of

NAME = "city_library"


class Loan(msgspec.Struct):
    title: str
    due_on: str


class Loans(msgspec.Struct):
    items: list[Loan]


@runtime_checkable
class LibraryUpstream(Protocol):
    """What the mini-program may ask the library system."""

    async def loans(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[Loans]:
        """The books a reader has borrowed (``CARD_NOT_FOUND`` without a card)."""
        ...


class LibraryClient:
    """:class:`LibraryUpstream` over the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def loans(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[Loans]:
        return await self._gateway.read(
            NAME,
            f"{PREFIX}/city-library/loans",
            {"id_number": id_number},
            Loans,
            audit=audit,
            purpose=purpose,
            fresh_s=600,
        )


def provide_library(clients: Mapping[str, object]) -> LibraryUpstream:
    """The ``library`` dependency of this program's handlers."""
    return client_of(clients, NAME, LibraryUpstream)


UPSTREAM = Upstream(name=NAME, client=LibraryClient, sandbox="tests.city_library.sandbox:routes")
