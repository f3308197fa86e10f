"""The evaluator and the compiled SQL filter agree, on SQLite and (with
SUPERAPP_DATABASE_URL) on PostgreSQL: hypothesis draws a day, a rule and a few profiles near
every boundary (birthdays, 29 February, inclusive ranges, NULLs, facts just stale), inserts
the profiles into a throwaway table and compares the rows the filter selects with the rows
the evaluator calls eligible — for the rule and for its negation.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miniprograms.policy_push.eligibility import (
    ENTERPRISE,
    RESIDENT,
    Field,
    Registry,
    RuleError,
    compile_sql,
    evaluate,
    facts_from_row,
    from_builtins,
    validate,
)
from miniprograms.policy_push.eligibility.rules import OPS
from miniprograms.policy_push.eligibility.years import cutoff
from tests.conftest import ON_POSTGRES, REAL_DB

DIALECT = "postgres" if ON_POSTGRES else "sqlite"
SETTINGS = settings(
    max_examples=120,
    derandomize=True,  # the same examples on every run: CI stays stable
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Small pools so that rules and profiles meet on the same values.
INTS = {
    "household_size": [1, 2, 3, 5],
    "months_unemployed": [0, 1, 6, 12],
    "disability_level": [0, 1, 2, 4],
    "employee_count": [0, 9, 10, 300],
    "unemployment_insurance_months": [0, 5, 6, 12],
}
YEARS = [0, 1, 17, 18, 60, 80]
DISTRICTS = ["321302", "321311", "320100"]
RULE_PREFIXES = ["C", "C39", "C391", "C3911", "I65"]
ROW_CODES = ["C", "C39", "C3911", "c3911", "C3912", "C4011", "I6510", "A0111"]
SPECIAL_DAYS = [date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1), date(2028, 2, 29)]


def rule_values(field: Field) -> list[Any]:
    if field.derived:
        return YEARS
    if field.kind == "int":
        return INTS[field.name]
    if field.kind == "bool":
        return [True, False]
    if field.kind == "enum":
        assert field.codes
        return list(field.codes)
    if field.kind == "code_prefix":
        return RULE_PREFIXES
    return DISTRICTS


@st.composite
def comparisons(draw: st.DrawFn, registry: Registry) -> dict[str, Any]:
    field = draw(st.sampled_from(list(registry)))
    ordered = field.kind in ("int", "number", "date")
    allowed = sorted(OPS if ordered else {"=", "!=", "in", "is_set"})
    if field.kind == "bool":
        allowed = ["!=", "=", "is_set"]
    op = draw(st.sampled_from(allowed))
    pool = rule_values(field)
    if op == "is_set":
        return {"field": field.name, "op": op}
    if op == "in":
        value: Any = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
    elif op == "between":
        value = sorted(draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)))
    else:
        value = draw(st.sampled_from(pool))
    return {"field": field.name, "op": op, "value": value}


def rules(registry: Registry) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        comparisons(registry),
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"all": rs}),
            st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"any": rs}),
            inner.map(lambda r: {"not": r}),
        ),
        max_leaves=6,
    )


@st.composite
def profiles(draw: st.DrawFn, registry: Registry, on: date) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field in registry:
        if draw(st.integers(0, 5)) == 0:
            row[field.column] = None
        elif field.derived:
            # Born around an anniversary of the day (the day before, of, after), or on 29 Feb.
            years = draw(st.sampled_from(YEARS))
            shift = draw(st.integers(-1, 1))
            leap = date(2000 - 4 * draw(st.integers(0, 20)), 2, 29)
            row[field.column] = draw(
                st.sampled_from([cutoff(on, years) + timedelta(days=shift), leap])
            )
        elif field.kind == "code_prefix":
            row[field.column] = draw(st.sampled_from(ROW_CODES))
        else:
            row[field.column] = draw(st.sampled_from(rule_values(field)))
    for field in registry:
        if field.as_of_column and field.as_of_column not in row:
            assert field.max_age is not None
            age = draw(st.sampled_from([None, -3, 0, 30, 31, 32, 91, 92, 93, 366, 367]))
            row[field.as_of_column] = None if age is None else on - timedelta(days=age)
            if age is not None and draw(st.booleans()):
                row[field.as_of_column] = (
                    on - field.max_age - timedelta(days=draw(st.integers(-1, 1)))
                )
    return row


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Registry, dict[str, Any], date, list[dict[str, Any]]]:
    registry = draw(st.sampled_from([RESIDENT, ENTERPRISE]))
    on = draw(
        st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(date(2020, 1, 1), date(2035, 12, 31)))
    )
    rule = draw(rules(registry))
    rows = draw(st.lists(profiles(registry, on), min_size=1, max_size=8))
    return registry, rule, on, rows


class Table:
    """A throwaway profile table in the test database, with the registry's columns."""

    def __init__(self, conn: Any, registry: Registry) -> None:
        self.conn = conn
        self.registry = registry
        self.name = f"elig_{registry.audience}_{uuid.uuid4().hex[:8]}"

    def _sql_type(self, column: str) -> str:
        for field in self.registry:
            if column == field.as_of_column or (column == field.column and field.derived):
                return "DATE"
            if column == field.column:
                return {"int": "INTEGER", "bool": "BOOLEAN"}.get(field.kind, "TEXT")
        raise KeyError(column)

    def _marks(self, n: int) -> str:
        return ", ".join("?" if DIALECT == "sqlite" else f"${i + 1}" for i in range(n))

    async def create(self) -> None:
        columns = ", ".join(f"{c} {self._sql_type(c)}" for c in self.registry.columns())
        await self.execute(f"CREATE TABLE {self.name} (id INTEGER PRIMARY KEY, {columns})")

    async def fill(self, rows: list[dict[str, Any]]) -> None:
        await self.execute(f"DELETE FROM {self.name}")
        columns = self.registry.columns()
        marks = self._marks(len(columns) + 1)
        for i, row in enumerate(rows):
            values = [row.get(c) for c in columns]
            if DIALECT == "sqlite":  # as Tortoise stores them: ISO text
                values = [v.isoformat() if isinstance(v, date) else v for v in values]
            await self.execute(
                f"INSERT INTO {self.name} (id, {', '.join(columns)}) VALUES ({marks})", [i, *values]
            )

    async def select(self, where: str, params: list[Any]) -> set[int]:
        sql = f"SELECT id FROM {self.name} WHERE {where}"
        if DIALECT == "sqlite":
            async with self.conn.execute(sql, params) as cursor:
                return {r[0] for r in await cursor.fetchall()}
        return {r["id"] for r in await self.conn.fetch(sql, *params)}

    async def execute(self, sql: str, params: list[Any] | None = None) -> None:
        if DIALECT == "sqlite":
            await self.conn.execute(sql, params or [])
        else:
            await self.conn.execute(sql, *(params or []))


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Any]:
    """A connection of our own, not the app's migrated database: the test needs only its
    throwaway tables (uniquely named, dropped afterwards), so it works beside any schema."""
    if DIALECT == "sqlite":
        async with aiosqlite.connect(tmp_path / "eligibility.sqlite3") as db:
            yield db
        return
    db = await asyncpg.connect("postgresql://" + REAL_DB.split("://", 1)[1])
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def tables(conn: Any) -> AsyncIterator[dict[str, Table]]:
    made = {r.audience: Table(conn, r) for r in (RESIDENT, ENTERPRISE)}
    for table in made.values():
        await table.create()
    yield made
    for table in made.values():
        await table.execute(f"DROP TABLE {table.name}")


@SETTINGS
@given(world=worlds())
async def test_the_filter_selects_exactly_the_rows_the_evaluator_calls_eligible(
    tables: dict[str, Table], world: tuple[Registry, dict[str, Any], date, list[dict[str, Any]]]
) -> None:
    registry, raw, on, rows = world
    table = tables[registry.audience]
    await table.fill(rows)
    for candidate in (raw, {"not": raw}):
        try:
            rule = validate(from_builtins(candidate), registry)
        except RuleError as error:  # only depth can refuse what the strategy draws
            assert error.reason == "too_deep"
            continue
        answers = [evaluate(rule, facts_from_row(registry, row), on, texts=False) for row in rows]
        expected = {i for i, verdict in enumerate(answers) if verdict.answer == "eligible"}
        compiled = compile_sql(rule, on, DIALECT)
        assert await table.select(compiled.sql, compiled.params) == expected, compiled


def every_comparison(registry: Registry) -> list[dict[str, Any]]:
    """Each field with each operator its type allows and each value of its pool."""
    found: list[dict[str, Any]] = []
    for field in registry:
        pool = rule_values(field)
        ordered = field.kind in ("int", "number", "date")
        ops = sorted(OPS) if ordered else ["!=", "=", "in", "is_set"]
        if field.kind == "bool":
            ops = ["!=", "=", "is_set"]
        for op in ops:
            if op == "is_set":
                values: list[Any] = [None]
            elif op == "in":
                values = [[v] for v in pool] + [pool[:2], pool]
            elif op == "between":
                values = [list(pair) for pair in itertools.combinations_with_replacement(pool, 2)]
            else:
                values = pool
            for value in values:
                atom = {"field": field.name, "op": op}
                found.append(atom if value is None else {**atom, "value": value})
    return found


def boundary_rows(registry: Registry, on: date) -> list[dict[str, Any]]:
    """Profiles that put every field on and beside its boundaries, NULLs and stale facts
    included: the derived dates and as_of dates cycle through all their options."""
    pick = random.Random(4754)  # fixed: the same rows on every run
    options: dict[str, list[Any]] = {}
    for field in registry:
        if field.derived:
            dates = [cutoff(on, y) + timedelta(days=s) for y in YEARS for s in (-1, 0, 1)]
            options[field.column] = [None, date(1940, 2, 29), date(2000, 2, 29), *dates]
        elif field.kind == "code_prefix":
            options[field.column] = [None, *ROW_CODES]
        else:
            options[field.column] = [None, *rule_values(field)]
        if field.as_of_column and field.max_age is not None:
            edge = on - field.max_age
            more = [edge, edge - timedelta(days=1), on, on + timedelta(days=3)]
            known = options.setdefault(field.as_of_column, [None])
            known.extend(d for d in more if d not in known)
    size = max(len(o) for o in options.values()) * 3
    rows = []
    for i in range(size):
        row = {}
        for column, choices in options.items():
            cycles = column.endswith("_as_of") or column in ("birth_date", "founded_on")
            row[column] = choices[i % len(choices)] if cycles else pick.choice(choices)
        rows.append(row)
    return rows


@pytest.mark.parametrize("on", [*SPECIAL_DAYS, date(2026, 11, 28)], ids=str)
@pytest.mark.parametrize("registry", [RESIDENT, ENTERPRISE], ids=lambda r: r.audience)
async def test_every_comparison_and_its_negation_agree_on_boundary_rows(
    tables: dict[str, Table], registry: Registry, on: date
) -> None:
    table = tables[registry.audience]
    rows = boundary_rows(registry, on)
    await table.fill(rows)
    facts = [facts_from_row(registry, row) for row in rows]
    for atom in every_comparison(registry):
        for candidate in (atom, {"not": atom}):
            rule = validate(from_builtins(candidate), registry)
            expected = {
                i
                for i, f in enumerate(facts)
                if evaluate(rule, f, on, texts=False).answer == "eligible"
            }
            compiled = compile_sql(rule, on, DIALECT)
            assert await table.select(compiled.sql, compiled.params) == expected, candidate


def test_the_filter_is_plain_comparisons_with_parameters_numbered_where_told() -> None:
    """No per-row function and no now(): the day arrives as cut-off parameters, so the
    planner can use an index on birth_date; PostgreSQL numbering starts at first_param."""
    rule = validate(
        from_builtins({"all": [{"field": "age", "op": ">=", "value": 80},
                               {"not": {"field": "hukou_type", "op": "in",
                                        "value": ["non_local"]}}]}),
        RESIDENT,
    )  # fmt: skip
    on = date(2028, 2, 29)
    pg = compile_sql(rule, on, "postgres", table="p", first_param=3)
    assert pg.sql == (
        '("p"."birth_date" <= $3 AND ("p"."hukou_type" NOT IN ($4) '
        'AND "p"."population_as_of" >= $5))'
    )
    assert pg.params == [date(1948, 2, 29), "non_local", on - timedelta(days=366)]
    lite = compile_sql(rule, on, "sqlite")
    assert lite.sql.count("?") == len(lite.params) == 3
    assert lite.params[0] == "1948-02-29"  # SQLite compares ISO text
    with pytest.raises(ValueError):
        compile_sql(rule, on, "sqlite", table="p; DROP TABLE x")
