"""The housing fund upstream of the provincial gateway: its wire data, the Protocol this
mini-program's code holds, the client over the gateway, and its declaration.

Its sandbox handler is ``miniprograms/housing_fund/sandbox.py``; its part of the contract is
``/housing-fund/*`` in ``openapi/provincial.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol, runtime_checkable

import msgspec

from integrations.provincial import PREFIX, AuditHook, Fetched, Gateway, Upstream, client_of
from integrations.provincial.models import Page

NAME = "housing_fund"
PATH = f"{PREFIX}/housing-fund"
# How long a copy answers without asking the upstream, per endpoint.
ACCOUNT_FRESH_S = 300
HISTORY_FRESH_S = 600  # transactions and the loan
APPLICATION_FRESH_S = 5  # an application's status is what a resident comes back to see


class MonthlyDeposit(msgspec.Struct):
    employer_fen: int
    personal_fen: int


class FundAccount(msgspec.Struct):
    status: Literal["normal", "sealed"]
    employer: str | None
    balance_fen: int
    withdrawable_fen: int
    monthly_deposit: MonthlyDeposit
    opened_on: str


class FundTransaction(msgspec.Struct):
    date: str
    kind: Literal["deposit", "withdrawal", "interest", "loan_repayment"]
    amount_fen: int
    balance_after_fen: int


class Instalment(msgspec.Struct):
    due_on: str
    amount_fen: int


class FundLoan(msgspec.Struct):
    loan_no: str
    amount_fen: int
    balance_fen: int
    term_months: int
    rate_bp: int
    started_on: str
    next_instalment: Instalment


class Withdrawal(msgspec.Struct):
    application_id: str
    reason: str
    amount_fen: int
    submitted_at: str
    status: Literal["reviewing", "approved", "paid", "rejected"]


@runtime_checkable
class HousingFundUpstream(Protocol):
    """What this mini-program may ask the housing fund upstream."""

    @property
    def budget_s(self) -> float:
        """The longest one call may take, all retries included."""
        ...

    async def account(
        self, id_number: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[FundAccount]:
        """Status, balance and monthly deposit (``ACCOUNT_NOT_FOUND`` without an account)."""
        ...

    async def transactions(
        self, id_number: str, page: int, page_size: int, *, audit: AuditHook, purpose: str
    ) -> Fetched[Page[FundTransaction]]:
        """Deposits, interest and repayments, newest first, paged."""
        ...

    async def loan(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[FundLoan]:
        """The housing fund loan (``LOAN_NOT_FOUND`` without one)."""
        ...

    async def apply_withdrawal(
        self,
        id_number: str,
        reason: str,
        amount_fen: int,
        *,
        idempotency_key: str,
        audit: AuditHook,
        purpose: str,
    ) -> Withdrawal:
        """File a withdrawal; the same key never files twice."""
        ...

    async def withdrawal_status(
        self, id_number: str, application_id: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[Withdrawal]:
        """One application and its status."""
        ...


class HousingFundClient:
    """:class:`HousingFundUpstream` over the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @property
    def budget_s(self) -> float:
        return self._gateway.policy(NAME).budget_s

    async def account(
        self, id_number: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[FundAccount]:
        return await self._gateway.read(
            NAME,
            f"{PATH}/account",
            {"id_number": id_number},
            FundAccount,
            audit=audit,
            purpose=purpose,
            fresh_s=ACCOUNT_FRESH_S,
        )

    async def transactions(
        self, id_number: str, page: int, page_size: int, *, audit: AuditHook, purpose: str
    ) -> Fetched[Page[FundTransaction]]:
        return await self._gateway.read(
            NAME,
            f"{PATH}/transactions",
            {"id_number": id_number, "page": str(page), "page_size": str(page_size)},
            Page[FundTransaction],
            audit=audit,
            purpose=purpose,
            fresh_s=HISTORY_FRESH_S,
        )

    async def loan(self, id_number: str, *, audit: AuditHook, purpose: str) -> Fetched[FundLoan]:
        return await self._gateway.read(
            NAME,
            f"{PATH}/loan",
            {"id_number": id_number},
            FundLoan,
            audit=audit,
            purpose=purpose,
            fresh_s=HISTORY_FRESH_S,
        )

    async def apply_withdrawal(
        self,
        id_number: str,
        reason: str,
        amount_fen: int,
        *,
        idempotency_key: str,
        audit: AuditHook,
        purpose: str,
    ) -> Withdrawal:
        return await self._gateway.write(
            NAME,
            f"{PATH}/withdrawals",
            {"id_number": id_number, "reason": reason, "amount_fen": amount_fen},
            Withdrawal,
            idempotency_key=idempotency_key,
            audit=audit,
            purpose=purpose,
        )

    async def withdrawal_status(
        self, id_number: str, application_id: str, *, audit: AuditHook, purpose: str
    ) -> Fetched[Withdrawal]:
        return await self._gateway.read(
            NAME,
            f"{PATH}/withdrawals/{application_id}",
            {"id_number": id_number},
            Withdrawal,
            audit=audit,
            purpose=purpose,
            fresh_s=APPLICATION_FRESH_S,
        )


def housing_fund_client(clients: Mapping[str, object]) -> HousingFundUpstream:
    """This mini-program's client among ``clients``: its handlers' ``housing_fund``
    dependency, and what its card reads through."""
    return client_of(clients, NAME, HousingFundUpstream)


UPSTREAM = Upstream(
    name=NAME,
    client=HousingFundClient,
    sandbox="miniprograms.housing_fund.sandbox:routes",
)
