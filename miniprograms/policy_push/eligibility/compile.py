"""A validated rule as a SQL WHERE fragment with bound parameters (SQLite or PostgreSQL).

A row matches exactly when :func:`evaluate` says ``eligible`` for that row's facts on the
same day. How, in SQL's own three-valued logic:

* ``not`` is pushed down to the comparisons first (De Morgan), so the fragment is ANDs and ORs
  of literals. Kleene AND/OR are TRUE exactly when their parts are TRUE in the two-valued
  sense, so each literal only needs to be TRUE exactly when the evaluator calls it met
  (NULL or FALSE otherwise do not matter) — no NOT ever meets a NULL.
* A negated comparison uses the opposite operator (``age < 80`` for ``not age >= 80``): NULL
  compares to NULL, never TRUE, as the evaluator's unknown is never met.
* A field that goes stale adds ``as_of >= cut-off``, the cut-off computed here from the day.
* Derived years compare the date column with cut-offs computed here (``age >= 80`` is
  ``birth_date <= <the day 80 years before>``): plain comparisons an index serves, no per-row
  function and no ``now()``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

import msgspec

from miniprograms.policy_push.eligibility.fields import Field
from miniprograms.policy_push.eligibility.rules import All, AnyOf, Compare, Not, Rule
from miniprograms.policy_push.eligibility.years import cutoff

Dialect = Literal["sqlite", "postgres"]
_NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_SQL_OP = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# years OP n as tests of the date column against cutoff(n + k): (glue, [(sql op, k), ...]).
_YEARS = {
    ">=": (" AND ", [("<=", 0)]),
    ">": (" AND ", [("<=", 1)]),
    "<": (" AND ", [(">", 0)]),
    "<=": (" AND ", [(">", 1)]),
    "=": (" AND ", [("<=", 0), (">", 1)]),
    "!=": (" OR ", [(">", 0), ("<=", 1)]),
}


class SqlFilter(msgspec.Struct, frozen=True):
    """``WHERE {sql}`` with ``params`` bound in order (``?`` on SQLite, ``$n`` on PostgreSQL)."""

    sql: str
    params: list[Any]


def compile_sql(
    rule: Rule, on: date, dialect: Dialect, *, table: str | None = None, first_param: int = 1
) -> SqlFilter:
    """Compile a validated rule for the day ``on``.

    ``table`` qualifies the columns (an alias in a join); ``first_param`` numbers PostgreSQL's
    placeholders from there, so the fragment fits into a statement that binds others first.
    """
    if table is not None and not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise ValueError(f"table {table!r} is not a plain identifier")
    builder = _Builder(on, dialect, table, first_param)
    return SqlFilter(builder.node(rule, False), builder.params)


class _Builder:
    def __init__(self, on: date, dialect: Dialect, table: str | None, first_param: int) -> None:
        self.on = on
        self.dialect = dialect
        self.prefix = f'"{table}".' if table else ""
        self.first = first_param
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        # SQLite keeps dates as ISO text (as Tortoise writes them), compared as text.
        if self.dialect == "sqlite" and isinstance(value, date):
            value = value.isoformat()
        self.params.append(value)
        return "?" if self.dialect == "sqlite" else f"${self.first + len(self.params) - 1}"

    def column(self, name: str) -> str:
        return f'{self.prefix}"{name}"'

    def node(self, rule: Rule, negated: bool) -> str:
        if isinstance(rule, Not):
            return self.node(rule.rule, not negated)
        if isinstance(rule, All | AnyOf):
            # not all(...) is any(not ...), and the other way round.
            conjunction = isinstance(rule, All) != negated
            parts = [self.node(r, negated) for r in rule.rules]
            return _join(" AND " if conjunction else " OR ", parts)
        return self.compare(rule, negated)

    def compare(self, rule: Compare, negated: bool) -> str:
        field = rule.spec
        assert field is not None, "compile_sql takes rules returned by validate()"
        col = self.column(field.column)
        # Parameters are bound in the order their placeholders appear (SQLite's "?" count).
        if rule.op == "is_set":
            # Met when known and fresh; not met only when never known (a stale value is
            # unknown, so neither it nor its negation is TRUE).
            if negated:
                return f"{col} IS NULL"
            known = f"{col} IS NOT NULL"
            if not field.as_of_column:
                return known
            as_of = self.column(field.as_of_column)
            return f"({known} AND {as_of} >= {self.bind(self.oldest(field))})"
        test = self.test(field, col, rule.op, rule.value, negated)
        if not field.as_of_column:
            return test
        return f"({test} AND {self.column(field.as_of_column)} >= {self.bind(self.oldest(field))})"

    def oldest(self, field: Field) -> date:
        """The oldest as_of date still fresh on the day."""
        assert field.max_age is not None
        return self.on - field.max_age

    def test(self, field: Field, col: str, op: str, value: Any, negated: bool) -> str:
        plain = not field.derived and field.kind != "code_prefix"
        if op == "in" and plain:
            marks = ", ".join(self.bind(v) for v in value)
            return f"{col} {'NOT IN' if negated else 'IN'} ({marks})"
        if op == "in":  # one test per value: any of them, or (negated) none of them
            parts = [self.test(field, col, "=", v, negated) for v in value]
            return _join(" AND " if negated else " OR ", parts)
        if op == "between":
            low, high = value
            pairs = (("<", low), (">", high)) if negated else ((">=", low), ("<=", high))
            parts = [self.test(field, col, o, v, False) for o, v in pairs]
            return _join(" OR " if negated else " AND ", parts)
        if negated:
            op = _NEGATE[op]
        if field.derived:
            return self.years(col, op, value)
        if field.kind == "code_prefix":
            return self.prefix_match(col, value, op == "=")
        return f"{col} {_SQL_OP[op]} {self.bind(value)}"

    def years(self, col: str, op: str, n: int) -> str:
        """Whole years since ``col`` compared with ``n``, as comparisons of ``col`` itself:
        ``years >= k`` is ``col <= cutoff(k)`` and ``years < k`` is ``col > cutoff(k)``."""
        glue, tests = _YEARS[op]
        return _join(glue, [f"{col} {o} {self.bind(cutoff(self.on, n + k))}" for o, k in tests])

    def prefix_match(self, col: str, prefix: str, match: bool) -> str:
        # Case-sensitive prefix patterns both planners can serve from an index (SQLite's LIKE
        # ignores case, its GLOB does not). Validation allows only [A-Z0-9] in a prefix, so
        # no wildcard needs escaping.
        if self.dialect == "sqlite":
            keyword, pattern = "GLOB", f"{prefix}*"
        else:
            keyword, pattern = "LIKE", f"{prefix}%"
        return f"{col} {'' if match else 'NOT '}{keyword} {self.bind(pattern)}"


def _join(glue: str, parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + glue.join(parts) + ")"
