"""Append-only, hash-chained audit log of who read or changed whose personal data.

Every row carries an HMAC over its content and the previous row's MAC, under
``SUPERAPP_AUDIT_KEY``. Editing a row breaks its MAC; deleting one breaks the next link;
rewriting the whole tail needs the key; deleting the newest rows is caught by the signed
checkpoints of the head (:mod:`app_api.audit.checkpoint`). The database also refuses
UPDATE and DELETE on both tables (triggers installed by the migrations), so tampering needs
an owner's hand.

Durability: a write's entries are durable, committed in the write's own transaction
(``app_api.writes.audited_write``) or on their own. A read's entries (``durable=False``,
what GET requests record) commit on PostgreSQL with ``synchronous_commit = off``: a server
crash may lose the last fraction of a second of them, but only as a tail of the chain, since
the WAL is flushed in order and every row is inserted after the one before it committed; the
chain never breaks, and the next append links to the head that survived.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import msgspec
from tortoise import connections, fields
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.models import Model
from tortoise.transactions import in_transaction

# AuditCheckpoint is imported here also so that Tortoise finds it: CORE_MODELS lists this module.
from app_api.audit.checkpoint import Anchor, AuditCheckpoint, CheckpointSigner
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
# PostgreSQL cannot infer the type of a parameter inside VALUES in a subquery.
_PG_TYPES = {"seq": "bigint", "at": "timestamptz"}
# Rows per statement: far below both databases' bind-parameter limits (11 per row).
MAX_BATCH_ROWS = 500
# The PostgreSQL advisory lock every insert into the chain holds ("audit_ev" in ASCII).
CHAIN_LOCK = 0x61756469745F6576
_HEAD_SQL = "SELECT seq, mac FROM audit_event ORDER BY seq DESC LIMIT 1"

Run = Callable[[str, list[Any]], Awaitable[Sequence[Any]]]


class ChainBusy(RuntimeError):
    """The chain moved while this process held it: only a writer ignoring the lock does that."""


@dataclass
class _Waiting:
    """One caller's entries, queued for the next statement."""

    entries: list[AuditEntry]
    durable: bool
    done: asyncio.Future[list[int]] = field(repr=False)


@dataclass(frozen=True)
class VerifyReport:
    """What a verification found. ``problem`` at ``bad_seq``: ``missing`` (a row is gone),
    ``broken_link`` / ``altered`` (a row was edited or forged), ``truncated`` (the table ends
    before a checkpoint), ``checkpoint_mismatch`` (another row where a checkpoint was), or
    ``checkpoint_forged`` (a checkpoint not signed with our key; ``bad_seq`` is its claim)."""

    ok: bool
    checked: int
    bad_seq: int | None
    problem: str | None
    head: Anchor | None = None  # the last row verified
    checkpoint: Anchor | None = None  # the signed checkpoint recorded after it, if any


class AuditLog:
    """Writes and verifies the chain. One instance per process.

    Appends outside a transaction are batched: while one statement is under way, callers
    queue their entries, and then one task writes everything queued so far as one multi-row
    INSERT, then the next batch; so under load one statement and one commit carry many
    requests' entries, in arrival order, and each caller's entries stay together.

    Every insert links to the head while holding the chain (an advisory lock on PostgreSQL,
    SQLite's write lock), so the chain never forks, across processes too. The usual append
    is one statement: it links to the head this process remembers, and inserts nothing if
    the chain is held elsewhere or that head is no longer the last row (the primary key
    refuses a taken sequence number; the INSERT's condition refuses a head that is gone, as
    after a database crash lost a read's last entries). Then the entries are linked again
    in a short transaction that waits for the chain, reads the head and inserts: a process
    that lost once waits its turn instead of losing again.
    """

    def __init__(self, key: str) -> None:
        self._key = key.encode()
        self.checkpoints = CheckpointSigner(self._key)
        self._head: tuple[int, str] | None = None
        self._queue: deque[_Waiting] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._leader: asyncio.AbstractEventLoop | None = None  # a caller writing itself

    async def append(self, entry: AuditEntry, *, durable: bool = True) -> int:
        """Chain and store one entry; returns its sequence number."""
        return (await self.append_many([entry], durable=durable))[0]

    async def append_many(self, entries: list[AuditEntry], *, durable: bool = True) -> list[int]:
        """Chain and store entries in order, all or none; returns their sequence numbers.

        Called inside a transaction (``in_transaction()``), the entries commit or roll back
        with it. Outside one, ``durable=False`` (a read's entries) lets PostgreSQL commit
        them without waiting for the disk.
        """
        if not entries:
            return []
        conn = connections.get("default")
        if isinstance(conn, TransactionalDBClient):
            return await self._append_in_transaction(conn, entries)
        loop = asyncio.get_running_loop()
        if not self._queue and not self._writing(loop):
            # Nobody is writing: write at once, in this task (a hop to the writer task would
            # cost more than the statement on SQLite). Callers arriving meanwhile queue up,
            # and a writer task takes their entries when this statement is done.
            self._leader = loop
            try:
                return await self._write(conn, list(entries), durable)
            finally:
                self._leader = None
                self._start_writer(conn, loop)
        waiting = _Waiting(list(entries), durable, loop.create_future())
        self._queue.append(waiting)
        self._start_writer(conn, loop)
        # Shielded: a caller that goes away (a client hanging up) leaves the batch intact.
        return await asyncio.shield(waiting.done)

    def _writing(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether a statement of this process is under way (a leader or the writer task)."""
        writer = self._writer
        return self._leader is loop or (
            writer is not None and not writer.done() and writer.get_loop() is loop
        )

    def _start_writer(self, conn: BaseDBAsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        """A writer task for the queued entries, unless a statement is under way already."""
        if self._queue and not self._writing(loop):
            self._writer = loop.create_task(self._drain(conn), name="audit-append")

    async def _drain(self, conn: BaseDBAsyncClient) -> None:
        """Write queued batches until the queue is empty."""
        while self._queue:
            batch, rows = [], 0
            while self._queue and (
                not batch or rows + len(self._queue[0].entries) <= MAX_BATCH_ROWS
            ):
                rows += len(self._queue[0].entries)
                batch.append(self._queue.popleft())
            try:
                seqs = await self._write(
                    conn,
                    [entry for waiting in batch for entry in waiting.entries],
                    durable=any(waiting.durable for waiting in batch),
                )
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0], exc=exc)
                    continue
                # One caller's bad entry must not fail the others: write them one by one.
                for waiting in batch:
                    try:
                        _settle(waiting, await self._write(conn, waiting.entries, waiting.durable))
                    except Exception as alone:
                        _settle(waiting, exc=alone)
                continue
            for waiting in batch:
                _settle(waiting, seqs[: len(waiting.entries)])
                seqs = seqs[len(waiting.entries) :]

    async def _write(
        self, conn: BaseDBAsyncClient, entries: list[AuditEntry], durable: bool
    ) -> list[int]:
        """One statement after the remembered head; else wait for the chain and link again."""
        dialect = conn.capabilities.dialect
        if self._head is not None:
            after = self._head
            seq, mac, params = self._chain(*after, entries)
            sql = _insert_sql(len(entries), dialect, relaxed=not durable, if_free=True)
            try:
                written = await conn.execute_query_dict(sql, [*params, *_guard(*after)])
            except (IntegrityError, OperationalError):
                written = []  # another process appended first, or holds the chain
            if len(written) == len(entries):
                self._head = (seq, mac)
                return list(range(after[0] + 1, seq + 1))
        seqs, self._head = await self._write_holding_the_chain(conn, entries, durable)
        return seqs

    async def _write_holding_the_chain(
        self, conn: BaseDBAsyncClient, entries: list[AuditEntry], durable: bool
    ) -> tuple[list[int], tuple[int, str]]:
        """Wait for the chain, read its head, insert after it: cannot clash (see the class)."""
        if conn.capabilities.dialect == "postgres":
            async with in_transaction() as tx:
                relax = ", set_config('synchronous_commit', 'off', true)" if not durable else ""
                await tx.execute_query(f"SELECT pg_advisory_xact_lock($1){relax}", [CHAIN_LOCK])
                return await self._link(tx.execute_query_dict, "postgres", entries)
        # SQLite: the process's one connection, in a transaction that takes the database's
        # write lock at once (waiting for other processes), so the head it reads stays the head.
        async with conn.acquire_connection() as raw:
            try:
                await raw.execute("BEGIN IMMEDIATE")
                linked = await self._link(raw.execute_fetchall, "sqlite", entries)
                await raw.execute("COMMIT")
            except BaseException as exc:
                # Also when cancelled: the connection's thread still runs what was sent, so
                # end whatever transaction it began, or the next user would inherit it.
                with contextlib.suppress(sqlite3.Error):
                    await raw.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise IntegrityError(exc) from exc
                raise
            return linked

    async def _append_in_transaction(
        self, conn: TransactionalDBClient, entries: list[AuditEntry]
    ) -> list[int]:
        """Append inside the caller's transaction, holding the chain until it commits.

        Not through the batch: the transaction may hold the database (SQLite's one
        connection), and the batch writer waiting for it while the caller waits for the batch
        would deadlock. Call it last in the transaction (as ``audited_write`` does): other
        appenders wait for the chain until the transaction ends. The head is not remembered,
        since the transaction may still roll back.
        """
        dialect = conn.capabilities.dialect
        if dialect == "postgres":
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [CHAIN_LOCK])
        seqs, _ = await self._link(conn.execute_query_dict, dialect, entries)
        self._head = None  # the remembered head is behind now: read it again next time
        return seqs

    async def _link(
        self, run: Run, dialect: str, entries: list[AuditEntry]
    ) -> tuple[list[int], tuple[int, str]]:
        """Read the head and insert after it, the chain being held: seqs and the new head."""
        rows = await run(_HEAD_SQL, [])
        after = (rows[0]["seq"], rows[0]["mac"]) if rows else (0, GENESIS)
        seq, mac, params = self._chain(*after, entries)
        written = await run(
            _insert_sql(len(entries), dialect, relaxed=False, if_free=False),
            [*params, *_guard(*after)],
        )
        if len(written) != len(entries):
            raise ChainBusy("the audit chain changed while held; the entries were not written")
        return list(range(after[0] + 1, seq + 1)), (seq, mac)

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

    async def verify(self, batch: int = 1000, anchors: Iterable[Anchor] = ()) -> VerifyReport:
        """Walk the whole chain; report the first broken row, if any.

        The chain must also pass through every signed checkpoint recorded so far and every
        ``anchors`` given by hand: a table ending before one, or holding another row there,
        has lost its newest rows (``truncated``, ``checkpoint_mismatch``). A checkpoint
        whose signature is wrong was not written by us (``checkpoint_forged``).
        """
        expected: dict[int, set[str]] = {}
        for anchor in anchors:
            expected.setdefault(anchor.seq, set()).add(anchor.head_mac)
        for checkpoint in await AuditCheckpoint.all().order_by("id"):
            if not self.checkpoints.genuine(checkpoint):
                return VerifyReport(False, 0, checkpoint.seq, "checkpoint_forged")
            expected.setdefault(checkpoint.seq, set()).add(checkpoint.head_mac)

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
            if expected.get(row.seq, {row.mac}) != {row.mac}:
                return VerifyReport(False, checked, row.seq, "checkpoint_mismatch")
            expected_prev, expected_seq, checked = row.mac, row.seq + 1, checked + 1
        head = Anchor(expected_seq - 1, expected_prev) if checked else None
        if expected and max(expected) >= expected_seq:
            return VerifyReport(False, checked, expected_seq, "truncated", head)
        return VerifyReport(True, checked, None, None, head)

    async def verify_and_checkpoint(
        self, source: str, anchors: Iterable[Anchor] = ()
    ) -> VerifyReport:
        """:meth:`verify`, then, when the chain holds, record a signed checkpoint of its head."""
        report = await self.verify(anchors=anchors)
        if not report.ok or report.head is None:
            return report
        await self.checkpoints.record(report.head, source)
        return VerifyReport(True, report.checked, None, None, report.head, report.head)


def _settle(
    waiting: _Waiting, seqs: list[int] | None = None, exc: BaseException | None = None
) -> None:
    if waiting.done.done():
        return
    if exc is not None:
        waiting.done.set_exception(exc)
    else:
        waiting.done.set_result(seqs or [])


def _guard(seq: int, mac: str) -> list[Any]:
    """Values for the INSERT's condition: row ``seq`` has ``mac`` (or the chain is empty)."""
    return [seq, GENESIS, mac]


@cache
def _insert_sql(count: int, dialect: str, relaxed: bool, if_free: bool) -> str:
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


async def _rows(batch: int) -> AsyncIterator[AuditEvent]:
    after = 0
    while True:
        page = await AuditEvent.filter(seq__gt=after).order_by("seq").limit(batch)
        if not page:
            return
        for row in page:
            yield row
        after = page[-1].seq
