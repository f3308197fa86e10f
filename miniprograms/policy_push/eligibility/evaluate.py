"""One person or enterprise against one rule, in three-valued logic, with the reasons.

Unknown is not "no": a comparison whose fact is missing, or older than its field allows, is
``unknown``; ``all`` is not met as soon as one part is not met (whatever the unknowns), ``any``
is met as soon as one part is met, and ``not`` swaps met and not met and keeps unknown.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Literal

import msgspec

from locales import gettext
from miniprograms.policy_push.eligibility import explain
from miniprograms.policy_push.eligibility.fields import Field, Registry
from miniprograms.policy_push.eligibility.rules import All, AnyOf, Compare, Not, Rule
from miniprograms.policy_push.eligibility.years import whole_years

Outcome = Literal["met", "not_met", "unknown"]
Answer = Literal["eligible", "not_eligible", "need_more_information"]
# Why a comparison is unknown: no fact at all, or one older than the field's max age.
Gap = Literal["missing", "stale"]

_ANSWER: dict[Outcome, Answer] = {
    "met": "eligible",
    "not_met": "not_eligible",
    "unknown": "need_more_information",
}
_FLIP: dict[Outcome, Outcome] = {"met": "not_met", "not_met": "met", "unknown": "unknown"}


class Fact(msgspec.Struct, frozen=True):
    """What we know about one field, where from and as of when.

    A derived field holds what it derives from: ``age`` holds the birth date.
    """

    value: Any
    source: str
    as_of: date | None = None


class Clause(msgspec.Struct, frozen=True, kw_only=True):
    """One comparison of the rule and how it came out."""

    path: str  # JSON path of the comparison in the rule, e.g. "$.all[0]"
    field: str
    op: str
    outcome: Outcome  # of the comparison itself, before any "not" above it
    gap: Gap | None = None  # set when the outcome is unknown
    negated: bool = False  # under an odd number of "not"s: the rule wants it not met
    source: str | None = None
    as_of: date | None = None
    text: str = ""  # e.g. "年龄≥80岁：已满足", in the current locale


class Missing(msgspec.Struct, frozen=True):
    """A fact we need to ask for (or refresh) before we can answer."""

    field: str
    label: str
    gap: Gap


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """The answer, every comparison in rule order, and the facts to ask for: each field of
    an unknown clause once, in rule order (listed even when other clauses already decided,
    so a form can ask for everything at once; show them when the answer needs them)."""

    answer: Answer
    clauses: list[Clause]
    missing: list[Missing]


def evaluate(rule: Rule, facts: Mapping[str, Fact], on: date, *, texts: bool = True) -> Verdict:
    """Evaluate a validated rule against ``facts`` as of the day ``on``.

    ``texts=False`` skips the explanations (matching a population needs only the answer).
    """
    walk = _Walk(facts, on, texts)
    outcome = walk.node(rule, "$", False)
    missing: dict[str, Missing] = {}
    for clause in walk.clauses:
        if clause.gap and clause.field not in missing:
            label = walk.specs[clause.field].label
            missing[clause.field] = Missing(
                clause.field, gettext(label) if texts else label, clause.gap
            )
    return Verdict(answer=_ANSWER[outcome], clauses=walk.clauses, missing=list(missing.values()))


class _Walk:
    """One evaluation: the facts, the day, and the clauses reported so far."""

    def __init__(self, facts: Mapping[str, Fact], on: date, texts: bool) -> None:
        self.facts = facts
        self.on = on
        self.texts = texts
        self.clauses: list[Clause] = []
        self.specs: dict[str, Field] = {}

    def node(self, rule: Rule, path: str, negated: bool) -> Outcome:
        if isinstance(rule, All | AnyOf):
            key = "all" if isinstance(rule, All) else "any"
            # Every part, no short cut: each clause is reported.
            parts = [self.node(r, f"{path}.{key}[{i}]", negated) for i, r in enumerate(rule.rules)]
            decisive: Outcome = "not_met" if key == "all" else "met"
            if decisive in parts:
                return decisive
            return "unknown" if "unknown" in parts else _FLIP[decisive]
        if isinstance(rule, Not):
            return _FLIP[self.node(rule.rule, f"{path}.not", not negated)]
        return self.compare(rule, path, negated)

    def compare(self, rule: Compare, path: str, negated: bool) -> Outcome:
        field = rule.spec
        assert field is not None, "evaluate takes rules returned by validate()"
        self.specs[field.name] = field
        fact = self.facts.get(field.name)
        gap: Gap | None = None
        if fact is None or fact.value is None:
            gap = "missing"
        elif field.max_age is not None and (
            fact.as_of is None or fact.as_of < self.on - field.max_age
        ):
            gap = "stale"
        if rule.op == "is_set":
            # Known and fresh: met; never known: not met. Known once but out of date: unknown,
            # as for any comparison (it may have changed either way), never a stale answer.
            outcome: Outcome = "met" if gap is None else "unknown" if gap == "stale" else "not_met"
            if gap == "missing":
                gap = None  # a fact never given is an answer to "is it set?"
        elif gap:
            outcome = "unknown"
        else:
            assert fact is not None
            value = whole_years(fact.value, self.on) if field.derived else fact.value
            outcome = "met" if _holds(field, rule.op, value, rule.value) else "not_met"
        self.clauses.append(
            Clause(
                path=path,
                field=field.name,
                op=rule.op,
                outcome=outcome,
                gap=gap,
                negated=negated,
                source=fact.source if fact else None,
                as_of=fact.as_of if fact else None,
                text=explain.clause(rule, outcome, gap, negated) if self.texts else "",
            )
        )
        return outcome


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda have, want: have in want,
    "between": lambda have, want: want[0] <= have <= want[1],
}


def _holds(field: Field, op: str, have: Any, want: Any) -> bool:
    if field.kind == "code_prefix":  # a rule's code stands for every code under it
        if op == "in":
            return any(have.startswith(prefix) for prefix in want)
        return bool(have.startswith(want)) == (op == "=")
    return bool(_COMPARE[op](have, want))


def facts_from_row(registry: Registry, row: Mapping[str, Any]) -> dict[str, Fact]:
    """A profile row (column -> value, as the database returns it) as facts by field name.

    SQLite returns dates as ISO text and booleans as 0/1; both come back typed here.
    """
    facts: dict[str, Fact] = {}
    for field in registry:
        value = row.get(field.column)
        if value is None:
            continue
        if field.derived or field.kind == "date":
            value = _day(value)
        elif field.kind == "bool":
            value = bool(value)
        as_of = row.get(field.as_of_column) if field.as_of_column else None
        facts[field.name] = Fact(value, field.source, _day(as_of) if as_of is not None else None)
    return facts


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
