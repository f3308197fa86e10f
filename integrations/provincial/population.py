"""The population registry (core): profiles for policy matching, and the real-name check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol, runtime_checkable

import msgspec

from integrations.provincial.gateway import PREFIX, AuditHook, Fetched, Gateway
from integrations.provincial.upstream import Upstream, client_of

NAME = "population"
PROFILE_FRESH_S = 3600  # how long a profile answers without asking the registry again


class PopulationProfile(msgspec.Struct):
    birth_date: str
    gender: str
    hukou_district: str
    employment: str
    insured_pension: bool
    # Released since the registry's 2026 interface; older answers leave them out.
    hukou_type: str | None = None
    household_size: int | None = None
    months_unemployed: int | None = None


class IdentityCheck(msgspec.Struct):
    """The registry's verdict on (name, ID number[, phone]); nothing else is released."""

    result: Literal["consistent", "inconsistent"]


@runtime_checkable
class PopulationUpstream(Protocol):
    """What callers may ask the population registry."""

    async def profile(
        self, id_number: str, *, consent_ref: str, audit: AuditHook, purpose: str
    ) -> Fetched[PopulationProfile]:
        """A person's profile, released only with a consent reference."""
        ...

    async def verify_identity(
        self, name: str, id_number: str, phone: str | None, *, audit: AuditHook, purpose: str
    ) -> IdentityCheck:
        """The three-element check (name, ID number and, if given, the phone)."""
        ...


class PopulationClient:
    """:class:`PopulationUpstream` over the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def profile(
        self, id_number: str, *, consent_ref: str, audit: AuditHook, purpose: str
    ) -> Fetched[PopulationProfile]:
        query = {"id_number": id_number, "consent_ref": consent_ref}
        return await self._gateway.read(
            NAME,
            f"{PREFIX}/population/profile",
            query,
            PopulationProfile,
            audit=audit,
            purpose=purpose,
            fresh_s=PROFILE_FRESH_S,
        )

    async def verify_identity(
        self, name: str, id_number: str, phone: str | None, *, audit: AuditHook, purpose: str
    ) -> IdentityCheck:
        """Never cached (a verdict is asked for at the moment of binding)."""
        payload: dict[str, str] = {"name": name, "id_number": id_number}
        if phone is not None:
            payload["phone"] = phone
        return await self._gateway.verify(
            NAME,
            f"{PREFIX}/population/verification",
            payload,
            IdentityCheck,
            audit=audit,
            purpose=purpose,
        )


def population_client(clients: Mapping[str, object]) -> PopulationUpstream:
    """The population registry's client among ``clients``."""
    return client_of(clients, NAME, PopulationUpstream)


UPSTREAM = Upstream(
    name=NAME,
    client=PopulationClient,
    sandbox="integrations.sandbox.population:routes",
)
