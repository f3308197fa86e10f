"""The verification walk of the audit chain: every row's MAC and link, in order, and every
signed checkpoint of the head (:mod:`app_api.audit.checkpoint`) still passed."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from app_api.audit.checkpoint import Anchor, AuditCheckpoint, CheckpointSigner
from app_api.audit.records import GENESIS, AuditEntry, AuditEvent, entry_mac


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


async def verify_chain(
    key: bytes, checkpoints: CheckpointSigner, batch: int = 1000, anchors: Iterable[Anchor] = ()
) -> VerifyReport:
    """Walk the whole chain under ``key``; report the first broken row, if any.

    The chain must also pass through every signed checkpoint recorded so far and every
    ``anchors`` given by hand: a table ending before one, or holding another row there,
    has lost its newest rows (``truncated``, ``checkpoint_mismatch``). A checkpoint
    whose signature is wrong was not written by us (``checkpoint_forged``).
    """
    expected: dict[int, set[str]] = {}
    for anchor in anchors:
        expected.setdefault(anchor.seq, set()).add(anchor.head_mac)
    for checkpoint in await AuditCheckpoint.all().order_by("id"):
        if not checkpoints.genuine(checkpoint):
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
        if not hmac.compare_digest(row.mac, entry_mac(key, row.seq, row.at, entry, row.prev_mac)):
            return VerifyReport(False, checked, row.seq, "altered")
        if expected.get(row.seq, {row.mac}) != {row.mac}:
            return VerifyReport(False, checked, row.seq, "checkpoint_mismatch")
        expected_prev, expected_seq, checked = row.mac, row.seq + 1, checked + 1
    head = Anchor(expected_seq - 1, expected_prev) if checked else None
    if expected and max(expected) >= expected_seq:
        return VerifyReport(False, checked, expected_seq, "truncated", head)
    return VerifyReport(True, checked, None, None, head)


async def _rows(batch: int) -> AsyncIterator[AuditEvent]:
    after = 0
    while True:
        page = await AuditEvent.filter(seq__gt=after).order_by("seq").limit(batch)
        if not page:
            return
        for row in page:
            yield row
        after = page[-1].seq
