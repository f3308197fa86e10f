"""The benefit payment upstream of the provincial gateway: the province's payment system,
which pays a 免申即享 grant (a benefit paid without application) once a resident or an
enterprise has confirmed it. Its wire data, the Protocol this mini-program's code holds, the
client over the gateway, and its declaration.

A grant is paid at most once: every payment request carries the grant id as its
``X-Idempotency-Key``, so a retry after a timeout (by the gateway, or by a caller who asks
again) answers the payment already made and never pays twice.

Its sandbox handler is ``miniprograms/policy_push/sandbox.py``; its part of the contract is
``/benefit-payment/*`` in ``openapi/provincial.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol, runtime_checkable

import msgspec

from integrations.provincial import PREFIX, AuditHook, Fetched, Gateway, Upstream, client_of

NAME = "benefit_payment"
PATH = f"{PREFIX}/benefit-payment"  # the sandbox kit's base for this name
# Whether a grant was paid is asked afresh each time; a copy stands in (``stale``) only
# when the province does not answer.
PAYMENT_FRESH_S = 0

PayeeKind = Literal["resident", "enterprise"]


class Payment(msgspec.Struct):
    """One grant's payment. ``accepted``: the province took it and will pay (or refuse);
    ``paid`` at ``paid_at``; ``rejected`` with a ``reason``."""

    payment_id: str
    grant_id: str
    status: Literal["accepted", "paid", "rejected"]
    amount_fen: int
    reason: str | None = None
    paid_at: str | None = None


@runtime_checkable
class BenefitPaymentUpstream(Protocol):
    """What this mini-program may ask the province's payment system."""

    @property
    def budget_s(self) -> float:
        """The longest one call may take, all retries included."""
        ...

    async def pay(
        self,
        grant_id: str,
        payee: str,
        payee_kind: PayeeKind,
        document_no: str,
        amount_fen: int,
        *,
        audit: AuditHook,
        purpose: str,
    ) -> Payment:
        """Pay one grant to ``payee`` (an ID number for a resident, a unified social credit
        code for an enterprise) under the policy document ``document_no``. The grant id is
        the idempotency key: asking again answers the same payment, and a repeat with other
        details is refused (``PAYMENT_CONFLICT``)."""
        ...

    async def payment(self, grant_id: str, *, audit: AuditHook, purpose: str) -> Fetched[Payment]:
        """The payment of one grant (``PAYMENT_NOT_FOUND`` if the province never took it)."""
        ...


class BenefitPaymentClient:
    """:class:`BenefitPaymentUpstream` over the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @property
    def budget_s(self) -> float:
        return self._gateway.policy(NAME).budget_s

    async def pay(
        self,
        grant_id: str,
        payee: str,
        payee_kind: PayeeKind,
        document_no: str,
        amount_fen: int,
        *,
        audit: AuditHook,
        purpose: str,
    ) -> Payment:
        return await self._gateway.write(
            NAME,
            f"{PATH}/payments",
            {
                "grant_id": grant_id,
                "payee": payee,
                "payee_kind": payee_kind,
                "document_no": document_no,
                "amount_fen": amount_fen,
            },
            Payment,
            idempotency_key=grant_id,  # one grant, one payment, however often it is asked
            audit=audit,
            purpose=purpose,
        )

    async def payment(self, grant_id: str, *, audit: AuditHook, purpose: str) -> Fetched[Payment]:
        return await self._gateway.read(
            NAME,
            f"{PATH}/payments/{grant_id}",
            {},
            Payment,
            audit=audit,
            purpose=purpose,
            fresh_s=PAYMENT_FRESH_S,
        )


def benefit_payment_client(clients: Mapping[str, object]) -> BenefitPaymentUpstream:
    """This mini-program's payment client among ``clients``."""
    return client_of(clients, NAME, BenefitPaymentUpstream)


UPSTREAM = Upstream(
    name=NAME,
    client=BenefitPaymentClient,
    sandbox="miniprograms.policy_push.sandbox:routes",
)
