"""The SQL that appends to the audit chain, for SQLite and PostgreSQL alike.

Every INSERT carries its own condition: the head it links to must still be the last row,
so a writer that lost the race inserts nothing instead of forking the chain.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from app_api.audit.records import GENESIS, AuditEntry
from app_api.db import placeholders

COLUMNS = ("seq", "at", *AuditEntry.__struct_fields__, "prev_mac", "mac")
# PostgreSQL cannot infer the type of a parameter inside VALUES in a subquery.
_PG_TYPES = {"seq": "bigint", "at": "timestamptz"}
# The PostgreSQL advisory lock every insert into the chain holds ("audit_ev" in ASCII).
CHAIN_LOCK = 0x61756469745F6576
HEAD_SQL = "SELECT seq, mac FROM audit_event ORDER BY seq DESC LIMIT 1"


def guard(seq: int, mac: str) -> list[Any]:
    """Values for the INSERT's condition: row ``seq`` has ``mac`` (or the chain is empty)."""
    return [seq, GENESIS, mac]


@cache
def insert_sql(count: int, dialect: str, relaxed: bool, if_free: bool) -> str:
    """``count`` rows, inserted only if the head they link to is in the table.

    ``if_free`` (PostgreSQL): only if no other transaction holds the chain; the lock is then
    held until the statement commits. ``relaxed`` (PostgreSQL): ``set_config(..., true)`` is
    ``SET LOCAL`` inside the statement's own transaction, so that it commits without waiting
    for the WAL flush, in one round trip and without touching other transactions.
    """
    width = len(COLUMNS)
    marks = placeholders(dialect, width * count + 3)
    postgres = dialect == "postgres"
    casts = [f"::{_PG_TYPES.get(column, 'text')}" if postgres else "" for column in COLUMNS]
    rows = ", ".join(
        "("
        + ", ".join(
            mark + cast
            for mark, cast in zip(marks[r * width : (r + 1) * width], casts, strict=True)
        )
        + ")"
        for r in range(count)
    )
    seq, genesis, mac = marks[width * count :]
    condition = (
        f"COALESCE((SELECT mac FROM audit_event WHERE seq = {seq}{'::bigint' if postgres else ''}),"
        f" {genesis}) = {mac}"
    )
    if postgres and if_free:
        # In a sub-SELECT, so it is evaluated once for the statement (an InitPlan): called
        # per row, it could fail for the first rows and succeed for the next, leaving a gap.
        condition = f"(SELECT pg_try_advisory_xact_lock({CHAIN_LOCK})) AND {condition}"
    sql = (
        f"INSERT INTO audit_event ({', '.join(COLUMNS)}) "
        f"SELECT * FROM (VALUES {rows}) AS new WHERE {condition}"
    )
    # RETURNING counts the rows written (the driver's row count is not reliable for INSERT).
    if postgres and relaxed:
        return sql + " RETURNING set_config('synchronous_commit', 'off', true)"
    return sql + " RETURNING seq"
