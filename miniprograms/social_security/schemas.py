"""What the social security endpoints accept and return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from miniprograms.common import Freshness, Page
from miniprograms.contract import Day, Money


class InsuredOut(msgspec.Struct, kw_only=True):
    type: str
    label: str
    status: str
    status_label: str
    since: str


class SummaryOut(Freshness, kw_only=True):
    paying_city: str
    contribution_base: Money
    months_paid: int
    personal_account: Money
    insured: list[InsuredOut]


class ContributionOut(msgspec.Struct, kw_only=True):
    period: str
    type: str
    label: str
    base: Money
    personal: Money
    employer: Money


class ContributionPage(Page, kw_only=True):
    items: list[ContributionOut]


class PensionPaymentOut(msgspec.Struct, kw_only=True):
    period: str
    amount: Money
    paid_on: Day


class PensionPage(Page, kw_only=True):
    items: list[PensionPaymentOut]


class CertificateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    purpose: Literal["employment", "housing", "school_enrolment", "other"] = "other"


class CertificateOut(msgspec.Struct, kw_only=True):
    certificate_no: str
    verification_code: str
    issued_at: datetime
    valid_until: Day
    months_paid: int
