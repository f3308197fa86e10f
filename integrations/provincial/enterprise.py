"""The enterprise registry (core): company profiles for policy matching."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import msgspec

from integrations.provincial.gateway import PREFIX, AuditHook, Fetched, Gateway
from integrations.provincial.upstream import Upstream, client_of

NAME = "enterprise"
PROFILE_FRESH_S = 3600  # how long a profile answers without asking the registry again


class EnterpriseProfile(msgspec.Struct):
    credit_code: str
    status: str
    registered_capital_fen: int
    insured_employees: int
    tax_credit_rating: str
    # For policy matching (惠企政策直达); older answers leave them out.
    industry_code: str | None = None  # GB/T 4754 class, e.g. C3911
    size_class: str | None = None  # micro / small / medium / large
    district: str | None = None
    founded_on: str | None = None
    unemployment_insurance_months: int | None = None  # paid in a row, up to this month


@runtime_checkable
class EnterpriseUpstream(Protocol):
    """What callers may ask the enterprise registry."""

    async def profile(
        self, credit_code: str, *, consent_ref: str, audit: AuditHook, purpose: str
    ) -> Fetched[EnterpriseProfile]:
        """A company's profile, released only with a consent reference."""
        ...


class EnterpriseClient:
    """:class:`EnterpriseUpstream` over the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def profile(
        self, credit_code: str, *, consent_ref: str, audit: AuditHook, purpose: str
    ) -> Fetched[EnterpriseProfile]:
        query = {"credit_code": credit_code, "consent_ref": consent_ref}
        return await self._gateway.read(
            NAME,
            f"{PREFIX}/enterprise/profile",
            query,
            EnterpriseProfile,
            audit=audit,
            purpose=purpose,
            fresh_s=PROFILE_FRESH_S,
        )


def enterprise_client(clients: Mapping[str, object]) -> EnterpriseUpstream:
    """The enterprise registry's client among ``clients``."""
    return client_of(clients, NAME, EnterpriseUpstream)


UPSTREAM = Upstream(
    name=NAME,
    client=EnterpriseClient,
    sandbox="integrations.sandbox.enterprise:routes",
)
