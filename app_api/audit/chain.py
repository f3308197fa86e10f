"""Append-only, hash-chained audit log of who read or changed whose personal data.

Every row carries an HMAC over its content and the previous row's MAC, under
``SUPERAPP_AUDIT_KEY``. Editing a row breaks its MAC; deleting one breaks the next link;
rewriting the whole tail needs the key. The database also refuses UPDATE and DELETE on
the table (triggers installed by the migration), so tampering needs an owner's hand.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import msgspec
from tortoise import connections, fields
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from app_api.db import placeholders

GENESIS = "0" * 64


class AuditEvent(Model):
    """One audited act. Never updated, never deleted."""

    seq = fields.BigIntField(primary_key=True)  # assigned by AuditLog.append, never by the database
    at = fields.DatetimeField()
    actor_kind = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=64)
    subject_id = fields.CharField(max_length=64, null=True, db_index=True)
    action = fields.CharField(max_length=64)
    resource = fields.CharField(max_length=128)
    purpose = fields.CharField(max_length=64)
    ip = fields.CharField(max_length=64, null=True)
    prev_mac = fields.CharField(max_length=64)
    mac = fields.CharField(max_length=64)

    class Meta:
        table = "audit_event"


class AuditEntry(msgspec.Struct, frozen=True):
    """What is being recorded, before it is chained."""

    actor_kind: str
    actor_id: str
    action: str
    resource: str
    purpose: str
    subject_id: str | None = None
    ip: str | None = None


def _mac(key: bytes, seq: int, at: datetime, entry: AuditEntry, prev_mac: str) -> str:
    body = msgspec.json.encode(
        [
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            *msgspec.structs.astuple(entry),
            prev_mac,
        ]
    )
    return hmac.new(key, body, hashlib.sha256).hexdigest()


COLUMNS = ("seq", "at", *AuditEntry.__struct_fields__, "prev_mac", "mac")
APPEND_ATTEMPTS = 20


class AuditLog:
    """Writes and verifies the chain. One instance per process.

    Appends are optimistic: the head of the chain is remembered, the next rows take the
    following sequence numbers in one multi-row INSERT, and the primary key makes the
    database refuse them if another process appended first; then the head is read again.
    So the chain never forks, across processes too, and the usual append is one statement
    and one commit (no transaction, no head query).
    """

    def __init__(self, key: str) -> None:
        self._key = key.encode()
        self._lock = asyncio.Lock()  # one appender at a time in this process
        self._head: tuple[int, str] | None = None

    async def append(self, entry: AuditEntry) -> int:
        """Chain and store one entry; returns its sequence number."""
        return (await self.append_many([entry]))[0]

    async def append_many(self, entries: list[AuditEntry]) -> list[int]:
        """Chain and store entries in order, all or none; returns their sequence numbers.

        Called inside a transaction (``in_transaction()``), the entries commit or roll back
        with it.
        """
        conn = connections.get("default")
        if isinstance(conn, TransactionalDBClient):
            return await self._append_in_transaction(conn, entries)
        async with self._lock:
            for _ in range(APPEND_ATTEMPTS):
                if self._head is None:
                    self._head = await _head(conn)
                seq, prev, params = self._chain(*self._head, entries)
                try:
                    await conn.execute_query(
                        _insert_sql(len(entries), conn.capabilities.dialect), params
                    )
                except IntegrityError:
                    self._head = None  # another process appended: read the head again
                    continue
                self._head = (seq, prev)
                return list(range(seq - len(entries) + 1, seq + 1))
        raise RuntimeError("audit chain head kept moving; the entries were not written")

    async def _append_in_transaction(
        self, conn: TransactionalDBClient, entries: list[AuditEntry]
    ) -> list[int]:
        """Append inside the caller's transaction.

        No process lock: the transaction may hold the database (SQLite's one connection), and
        an appender waiting for it while holding the lock would deadlock with us. The head is
        read in the transaction and never remembered, since the transaction may still roll
        back. A clash with another appender is retried inside a savepoint, so that on
        PostgreSQL the caller's transaction survives the failed INSERT.
        """
        for _ in range(APPEND_ATTEMPTS):
            seq, _, params = self._chain(*await _head(conn), entries)
            try:
                async with in_transaction():  # nested: a savepoint
                    await conn.execute_query(
                        _insert_sql(len(entries), conn.capabilities.dialect), params
                    )
            except IntegrityError:
                continue
            self._head = None  # the remembered head is behind now: read it again next time
            return list(range(seq - len(entries) + 1, seq + 1))
        raise RuntimeError("audit chain head kept moving; the entries were not written")

    def _chain(self, seq: int, prev: str, entries: list[AuditEntry]) -> tuple[int, str, list[Any]]:
        """Link entries after the head ``(seq, prev)``: the new head and the INSERT's values."""
        at = datetime.now(UTC)
        params: list[Any] = []
        for entry in entries:
            seq += 1
            mac = _mac(self._key, seq, at, entry, prev)
            params += [seq, at, *msgspec.structs.astuple(entry), prev, mac]
            prev = mac
        return seq, prev, params

    async def verify(self, batch: int = 1000) -> VerifyReport:
        """Walk the whole chain; report the first broken row, if any."""
        expected_prev, expected_seq, checked = GENESIS, 1, 0
        async for row in _rows(batch):
            if row.seq != expected_seq:
                return VerifyReport(False, checked, expected_seq, "missing")
            entry = AuditEntry(
                actor_kind=row.actor_kind,
                actor_id=row.actor_id,
                action=row.action,
                resource=row.resource,
                purpose=row.purpose,
                subject_id=row.subject_id,
                ip=row.ip,
            )
            if row.prev_mac != expected_prev:
                return VerifyReport(False, checked, row.seq, "broken_link")
            if not hmac.compare_digest(
                row.mac, _mac(self._key, row.seq, row.at, entry, row.prev_mac)
            ):
                return VerifyReport(False, checked, row.seq, "altered")
            expected_prev, expected_seq, checked = row.mac, row.seq + 1, checked + 1
        return VerifyReport(True, checked, None, None)


async def _head(conn: BaseDBAsyncClient) -> tuple[int, str]:
    rows = await conn.execute_query_dict(
        "SELECT seq, mac FROM audit_event ORDER BY seq DESC LIMIT 1"
    )
    return (rows[0]["seq"], rows[0]["mac"]) if rows else (0, GENESIS)


@cache
def _insert_sql(count: int, dialect: str) -> str:
    width = len(COLUMNS)
    rows = (f"({', '.join(placeholders(dialect, width, row * width))})" for row in range(count))
    return f"INSERT INTO audit_event ({', '.join(COLUMNS)}) VALUES {', '.join(rows)}"


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int
    bad_seq: int | None
    problem: str | None


async def _rows(batch: int) -> AsyncIterator[AuditEvent]:
    after = 0
    while True:
        page = await AuditEvent.filter(seq__gt=after).order_by("seq").limit(batch)
        if not page:
            return
        for row in page:
            yield row
        after = page[-1].seq
