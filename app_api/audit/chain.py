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

This module is the writer (:class:`AuditLog`); the rows and their MAC are in
:mod:`app_api.audit.records`, its SQL in :mod:`app_api.audit.statements`, and the
verification walk in :mod:`app_api.audit.verification`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

# The models are imported here also so that Tortoise finds them: CORE_MODELS lists this module.
from app_api.audit.checkpoint import Anchor, AuditCheckpoint, CheckpointSigner
from app_api.audit.records import GENESIS, AuditEntry, AuditEvent, entry_mac
from app_api.audit.statements import CHAIN_LOCK, HEAD_SQL, guard, insert_sql
from app_api.audit.verification import VerifyReport, verify_chain

__all__ = [
    "GENESIS",
    "MAX_BATCH_ROWS",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "ChainBusy",
    "VerifyReport",
]

# Rows per statement: far below both databases' bind-parameter limits (11 per row).
MAX_BATCH_ROWS = 500

Run = Callable[[str, list[Any]], Awaitable[Sequence[Any]]]


class ChainBusy(RuntimeError):
    """The chain moved while this process held it: only a writer ignoring the lock does that."""


@dataclass
class _Waiting:
    """One caller's entries, queued for the next statement."""

    entries: list[AuditEntry]
    durable: bool
    done: asyncio.Future[list[int]] = field(repr=False)


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
            sql = insert_sql(len(entries), dialect, relaxed=not durable, if_free=True)
            try:
                written = await conn.execute_query_dict(sql, [*params, *guard(*after)])
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
        rows = await run(HEAD_SQL, [])
        after = (rows[0]["seq"], rows[0]["mac"]) if rows else (0, GENESIS)
        seq, mac, params = self._chain(*after, entries)
        written = await run(
            insert_sql(len(entries), dialect, relaxed=False, if_free=False),
            [*params, *guard(*after)],
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
            mac = entry_mac(self._key, seq, at, entry, prev)
            params += [seq, at, *msgspec.structs.astuple(entry), prev, mac]
            prev = mac
        return seq, prev, params

    async def verify(self, batch: int = 1000, anchors: Iterable[Anchor] = ()) -> VerifyReport:
        """Walk the whole chain; report the first broken row, if any (see :func:`verify_chain`)."""
        return await verify_chain(self._key, self.checkpoints, batch, anchors)

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
