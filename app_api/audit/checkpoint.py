"""Signed checkpoints of the audit chain's head, kept outside the chained table.

The chain alone cannot tell a table whose newest rows were deleted from one that never had
them: what remains still links. So every verification (``superapp audit verify`` and the
nightly job) records the head it verified, ``SEQ:HASH``, signed with a key of its own, and
prints it for operators to keep elsewhere. A later verification fails when the table ends
before a checkpoint or disagrees with one, and a checkpoint kept elsewhere can be given by
hand (``--checkpoint SEQ:HASH``) in case the checkpoint table itself was emptied.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from tortoise import fields
from tortoise.models import Model

_ANCHOR = re.compile(r"^(\d{1,19}):([0-9a-fA-F]{64})$")


class AuditCheckpoint(Model):
    """A verified head of the audit chain. Never updated, never deleted."""

    id = fields.IntField(primary_key=True)
    seq = fields.BigIntField()
    head_mac = fields.CharField(max_length=64)
    at = fields.DatetimeField()
    source = fields.CharField(max_length=16)  # "verify" or "nightly"
    signature = fields.CharField(max_length=64)

    class Meta:
        table = "audit_checkpoint"
        table_description = "Signed heads of the audit chain, recorded by each verification."


@dataclass(frozen=True)
class Anchor:
    """A point the chain must pass through: row ``seq`` has MAC ``head_mac``."""

    seq: int
    head_mac: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.head_mac}"


def parse_anchor(text: str) -> Anchor:
    """``SEQ:HASH`` as printed by a verification; ``ValueError`` when it is not that."""
    found = _ANCHOR.match(text.strip())
    if found is None or int(found.group(1)) < 1:
        raise ValueError("a checkpoint is SEQ:HASH, e.g. 1234:<64 hex digits>")
    return Anchor(int(found.group(1)), found.group(2).lower())


class CheckpointSigner:
    """Signs and checks checkpoints under a key derived from the audit key for this purpose
    alone, so a row's MAC can never pass for a checkpoint's signature or the other way round."""

    def __init__(self, audit_key: bytes) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"superapp/audit/checkpoint"
        ).derive(audit_key)

    def sign(self, seq: int, head_mac: str, at: datetime, source: str) -> str:
        body = msgspec.json.encode(
            [seq, head_mac, at.astimezone(UTC).isoformat(timespec="microseconds"), source]
        )
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()

    def genuine(self, row: AuditCheckpoint) -> bool:
        expected = self.sign(row.seq, row.head_mac, row.at, row.source)
        return hmac.compare_digest(row.signature, expected)

    async def record(self, head: Anchor, source: str) -> AuditCheckpoint:
        """Store a signed checkpoint of ``head``. Outside any request transaction, durable."""
        at = datetime.now(UTC)
        return await AuditCheckpoint.create(
            seq=head.seq,
            head_mac=head.head_mac,
            at=at,
            source=source,
            signature=self.sign(head.seq, head.head_mac, at, source),
        )
