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


class DeclaredIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a resident (disability level) or an enterprise admin (high-tech certificate)
    declares; a field of the other audience is refused."""

    disability_level: Annotated[int, msgspec.Meta(ge=0, le=4)] | None = None
    high_tech_certified: bool | None = None


class FactOut(msgspec.Struct, frozen=True, kw_only=True):
    """One field of a profile: what we know, where from, as of when, and whether it is
    still fresh enough to answer with."""

    field: str
    label: str
    value: str | float | bool | None  # a number is an int or a float (one JSON type)
    source: str
    as_of: date | None
    fresh: bool
    declarable: bool  # the person may state it themselves


class ProfileOut(msgspec.Struct, frozen=True, kw_only=True):
    audience: Audience
    facts: list[FactOut]


class ProfileChanged(msgspec.Struct, frozen=True, kw_only=True):
    """After a refresh or a declaration: how many policies were newly found for them (the
    facts are read with ``GET …/profile``, which a relative needs the view scope for)."""

    new_policies_found: int


class ClauseOut(msgspec.Struct, frozen=True, kw_only=True):
    """One condition of the rule and how it came out for this person."""

    path: str
    field: str
    outcome: Literal["met", "not_met", "unknown"]
    gap: Literal["missing", "stale"] | None
    wanted: bool  # False under a "not": the rule wants this condition not to hold
    text: str  # e.g. "年龄≥80岁：已满足"
    source: str | None
    as_of: date | None


class MissingOut(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    label: str
    gap: Literal["missing", "stale"]


class EligibilityOut(msgspec.Struct, frozen=True, kw_only=True):
    """One person's or enterprise's answer for one policy on one day, with the reasons."""

    policy_id: str
    version: int
    on: date
    answer: Literal["eligible", "not_eligible", "need_more_information"]
    answer_label: str
    clauses: list[ClauseOut]
    missing: list[MissingOut]  # facts to fetch or declare before the answer can be given


class MatchOut(msgspec.Struct, frozen=True, kw_only=True):
    """A policy this person or enterprise qualifies for, and why."""

    id: str
    policy: PolicySummary
    matched_at: datetime
    reasons: list[str]
    grant_id: str | None  # 免申即享: the benefit waiting for a tap, when there is one


class MatchPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[MatchOut]
    page: int
    page_size: int
    total: int


class InterestsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Categories this person or enterprise does not want policies of."""

    muted: Annotated[list[Category], msgspec.Meta(max_length=20)]


class InterestsOut(msgspec.Struct, frozen=True, kw_only=True):
    muted: list[Category]


GrantState = Literal["pending_confirmation", "confirmed", "paid", "rejected", "withdrawn"]


class GrantOut(msgspec.Struct, frozen=True, kw_only=True):
    """A benefit granted without application (免申即享) and where its payment stands."""

    id: str
    policy_id: str
    title: str
    document_no: str
    amount_fen: int
    amount_display: str
    state: GrantState
    state_label: str
    created_at: datetime
    confirmed_at: datetime | None
    paid_at: datetime | None
    payment_id: str | None
    failure: str | None


class GrantPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[GrantOut]
    page: int
    page_size: int
    total: int


class DistrictCount(msgspec.Struct, frozen=True, kw_only=True):
    district: str | None
    count: int | None  # None: fewer than smallest_count, withheld


class PreviewOut(msgspec.Struct, frozen=True, kw_only=True):
    """How many a policy's latest rule would reach today, by district, before publishing;
    counts under ``smallest_count`` are withheld so that no one person can be singled out."""

    policy_id: str
    version: int
    audience: Audience
    on: date
    total: int | None  # exact, when no district was withheld
    at_least: int  # the districts shown, added up
    smallest_count: int
    by_district: list[DistrictCount]
