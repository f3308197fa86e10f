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

import msgspec
from tortoise import fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

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


class AuditLog:
    """Writes and verifies the chain. One instance per process."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()
        # Serializes appends in this process; PostgreSQL's advisory lock does it across processes.
        self._lock = asyncio.Lock()

    async def append(self, entry: AuditEntry) -> int:
        """Chain and store one entry; returns its sequence number."""
        return (await self.append_many([entry]))[0]

    async def append_many(self, entries: list[AuditEntry]) -> list[int]:
        """Chain and store entries in order, in one transaction; returns their sequence numbers."""
        async with self._lock, in_transaction() as conn:
            if conn.capabilities.dialect == "postgres":
                await conn.execute_query("SELECT pg_advisory_xact_lock(7301)")
            # The head of the chain, read inside the lock: plain SQL, no model to build.
            head = await conn.execute_query_dict(
                "SELECT seq, mac FROM audit_event ORDER BY seq DESC LIMIT 1"
            )
            seq, prev = (head[0]["seq"], head[0]["mac"]) if head else (0, GENESIS)
            at = datetime.now(UTC)
            rows = []
            for entry in entries:
                seq += 1
                mac = _mac(self._key, seq, at, entry, prev)
                rows.append(
                    AuditEvent(
                        seq=seq, at=at, prev_mac=prev, mac=mac, **msgspec.structs.asdict(entry)
                    )
                )
                prev = mac
            await AuditEvent.bulk_create(rows, using_db=conn)
            return [row.seq for row in rows]

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
