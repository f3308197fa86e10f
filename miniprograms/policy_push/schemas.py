"""What crosses the policy library's HTTP boundary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Audience = Literal["resident", "enterprise"]
Category = Literal[
    "employment",
    "elderly_care",
    "housing",
    "education",
    "medical",
    "disability",
    "social_assistance",
    "enterprise_support",
    "family",
]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class DatedAmount(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An amount in force from a date on, and the article that sets it."""

    from_: date = msgspec.field(name="from")
    amount_fen: Annotated[int, msgspec.Meta(ge=0, le=10_000_000_00)]
    reference: Text


class PolicyIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A draft, or a new version of a published policy, as an editor writes it."""

    audience: Audience
    category: Category
    title: Text
    department: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    document_no: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
    full_text: LongText
    effective_from: date
    effective_to: date | None = None
    benefit: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    amounts: Annotated[list[DatedAmount], msgspec.Meta(max_length=20)] = []
    how_to_apply: Annotated[str, msgspec.Meta(min_length=1, max_length=5_000)]
    rule: dict[str, object] | None = None
    rule_reference: Annotated[str, msgspec.Meta(max_length=200)] = ""
    auto_grant: bool = False


class AmountOut(msgspec.Struct, frozen=True, kw_only=True):
    """The amount in force on ``on`` and the next change, if one is dated."""

    on: date
    amount_fen: int
    amount_display: str
    reference: str
    next_change: date | None
    next_amount_fen: int | None


class PolicySummary(msgspec.Struct, frozen=True, kw_only=True):
    """A policy in a list: what it is, for whom, from whom."""

    id: str
    title: str
    category: Category
    category_label: str
    audience: Audience
    department: str
    document_no: str
    summary: str
    effective_from: date
    effective_to: date | None
    published_at: datetime | None


class PolicyOut(PolicySummary, frozen=True, kw_only=True):
    """A published policy as residents read it: who qualifies is public, as it is on paper."""

    version: int
    in_force: bool  # on the day asked about (a policy may be read before or after it)
    full_text: str
    benefit: str
    amount: AmountOut | None  # in force that day; None outside the policy's dates
    how_to_apply: str
    rule: dict[str, object] | None
    rule_reference: str
    auto_grant: bool


class PublishIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The version the publisher reviewed and approves."""

    version: Annotated[int, msgspec.Meta(ge=1)]


class PolicyPage(msgspec.Struct, frozen=True, kw_only=True):
    """Page ``page`` (of ``page_size``) of ``total`` policies, newest first."""

    items: list[PolicySummary]
    page: int
    page_size: int
    total: int


class VersionOut(msgspec.Struct, frozen=True, kw_only=True):
    """One version in a policy's history, for operators."""

    number: int
    title: str
    edited_by: str
    created_at: datetime
    published: bool  # the version residents see now


class PolicyAdminOut(msgspec.Struct, frozen=True, kw_only=True):
    """A policy as operators see it: its state, its latest words and its history."""

    id: str
    state: Literal["draft", "published", "retired"]
    latest: PolicyOut
    published_version: int | None
    published_by: str | None
    versions: list[VersionOut]
