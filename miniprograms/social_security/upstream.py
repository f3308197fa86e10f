"""The social security upstream of the provincial gateway: its wire data, the Protocol this
mini-program's code holds, the client over the gateway, and its declaration.

Its sandbox handler is ``miniprograms/social_security/sandbox.py``; its part of the contract
is ``/social-security/*`` in ``openapi/provincial.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal, Protocol, runtime_checkable

import msgspec

from integrations.provincial import PREFIX, AuditHook, Fetched, Gateway, Upstream, client_of
from integrations.provincial.models import Page

NAME = "social_security"
PATH = f"{PREFIX}/social-security"
# How long a copy answers without asking the upstream, per endpoint.
SUMMARY_FRESH_S = 300
HISTORY_FRESH_S = 3600  # contributions and pension payments change once a month

InsuranceType = Literal["pension", "medical", "unemployment", "work_injury", "maternity"]
InsuredStatus = Literal["paying", "suspended", "receiving", "ended", "not_insured"]


class Insured(msgspec.Struct):
    type: InsuranceType
    status: InsuredStatus
    since: str


class SocialSummary(msgspec.Struct):
    paying_city: str
    contribution_base_fen: int
    months_paid: int
    personal_account_fen: int
    insured: list[Insured]


class Contribution(msgspec.Struct):
    period: str
    type: InsuranceType
    base_fen: int
    personal_fen: int
    employer_fen: int
    status: str


class PensionPayment(msgspec.Struct):
    period: str
    amount_fen: int
    paid_on: str


class Certificate(msgspec.Struct):
    certificate_no: str
    kind: str
    verification_code: str
    issued_at: str
    valid_until: str
    months_paid: int


@runtime_checkable
class SocialSecurityUpstream(Protocol):
    """What this mini-program may ask the social security upstream."""

    def today(self) -> date:
        """The date the province's records run up to."""
        ...

    async def summary(
        self, id_number: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[SocialSummary]:
        """Insured status per insurance type, base, months paid, personal account."""
        ...

    async def contributions(
        self,
        id_number: str,
        first: str,
        last: str,
        page: int,
        page_size: int,
        *,
        audit: AuditHook,
        purpose: str,
    ) -> Fetched[Page[Contribution]]:
        """Monthly contribution lines between two months (``YYYY-MM``), paged."""
        ...

    async def pension_payments(
        self, id_number: str, page: int, page_size: int, *, audit: AuditHook, purpose: str
    ) -> Fetched[Page[PensionPayment]]:
        """Pension paid to a retiree, newest first, paged."""
        ...

    async def issue_certificate(
        self, id_number: str, *, idempotency_key: str, audit: AuditHook, purpose: str
    ) -> Certificate:
        """Issue a contribution certificate (参保证明); the same key, the same certificate."""
        ...


class SocialSecurityClient:
    """:class:`SocialSecurityUpstream` over the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def today(self) -> date:
        return self._gateway.today()

    async def summary(
        self, id_number: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[SocialSummary]:
        query = {"id_number": id_number}
        return await self._gateway.read(
            NAME,
            f"{PATH}/summary",
            query,
            SocialSummary,
            audit=audit,
            purpose=purpose,
            fresh_s=SUMMARY_FRESH_S,
        )

    async def contributions(
        self,
        id_number: str,
        first: str,
        last: str,
        page: int,
        page_size: int,
        *,
        audit: AuditHook,
        purpose: str,
    ) -> Fetched[Page[Contribution]]:
        query = {"id_number": id_number, "from": first, "to": last}
        query |= {"page": str(page), "page_size": str(page_size)}
        return await self._gateway.read(
            NAME,
            f"{PATH}/contributions",
            query,
            Page[Contribution],
            audit=audit,
            purpose=purpose,
            fresh_s=HISTORY_FRESH_S,
        )

    async def pension_payments(
        self, id_number: str, page: int, page_size: int, *, audit: AuditHook, purpose: str
    ) -> Fetched[Page[PensionPayment]]:
        query = {"id_number": id_number, "page": str(page), "page_size": str(page_size)}
        return await self._gateway.read(
            NAME,
            f"{PATH}/pension-payments",
            query,
            Page[PensionPayment],
            audit=audit,
            purpose=purpose,
            fresh_s=HISTORY_FRESH_S,
        )

    async def issue_certificate(
        self, id_number: str, *, idempotency_key: str, audit: AuditHook, purpose: str
    ) -> Certificate:
        payload = {"id_number": id_number, "kind": "contribution_record"}
        return await self._gateway.write(
            NAME,
            f"{PATH}/certificates",
            payload,
            Certificate,
            idempotency_key=idempotency_key,
            audit=audit,
            purpose=purpose,
        )


def social_security_client(clients: Mapping[str, object]) -> SocialSecurityUpstream:
    """This mini-program's client among ``clients``: its handlers' ``social_security``
    dependency, and what its card reads through."""
    return client_of(clients, NAME, SocialSecurityUpstream)


UPSTREAM = Upstream(
    name=NAME,
    client=SocialSecurityClient,
    sandbox="miniprograms.social_security.sandbox:routes",
)
