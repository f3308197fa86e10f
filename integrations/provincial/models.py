"""The data the provincial gateway returns (openapi/provincial.yaml), as msgspec Structs.

Money is integer fen everywhere; a float in a money field is a malformed answer.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")

InsuranceType = Literal["pension", "medical", "unemployment", "work_injury", "maternity"]
InsuredStatus = Literal["paying", "suspended", "receiving", "ended", "not_insured"]


class Envelope(msgspec.Struct, Generic[T]):
    code: str
    message: str = ""
    data: T | None = None


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


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


class PopulationProfile(msgspec.Struct):
    birth_date: str
    gender: str
    hukou_district: str
    employment: str
    insured_pension: bool


class IdentityCheck(msgspec.Struct):
    """The registry's verdict on (name, ID number[, phone]); nothing else is released."""

    result: Literal["consistent", "inconsistent"]


class EnterpriseProfile(msgspec.Struct):
    credit_code: str
    status: str
    registered_capital_fen: int
    insured_employees: int
    tax_credit_rating: str
