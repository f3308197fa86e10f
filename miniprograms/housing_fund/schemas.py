"""What the housing fund endpoints accept and return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from miniprograms.common import Freshness, Page
from miniprograms.contract import Day, Money

Reason = Literal["rent", "purchase", "retirement", "renovation", "medical", "leaving_city"]


class Deposit(msgspec.Struct, kw_only=True):
    employer: Money
    personal: Money


class AccountOut(Freshness, kw_only=True):
    status: str
    status_label: str
    employer: str | None
    balance: Money
    withdrawable: Money
    monthly_deposit: Deposit
    opened_on: Day


class TransactionOut(msgspec.Struct, kw_only=True):
    date: Day
    kind: str
    label: str
    amount: Money
    balance_after: Money


class TransactionPage(Page, kw_only=True):
    items: list[TransactionOut]


class InstalmentOut(msgspec.Struct, kw_only=True):
    due_on: Day
    amount: Money


class LoanOut(Freshness, kw_only=True):
    loan_no: str
    amount: Money
    balance: Money
    term_months: int
    rate_percent: str
    started_on: Day
    next_instalment: InstalmentOut


class WithdrawalRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason
    amount_fen: Annotated[int, msgspec.Meta(gt=0, le=10_000_000_00)]


class WithdrawalOut(msgspec.Struct, kw_only=True):
    id: str
    application_no: str
    reason: str
    reason_label: str
    amount: Money
    status: str
    status_label: str
    submitted_at: datetime
    submitted_at_display: str
