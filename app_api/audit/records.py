"""What the audit chain is made of: the stored row, the entry before it is chained, and the
MAC that links each row to the one before it (see :mod:`app_api.audit.chain`)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import msgspec
from tortoise import fields
from tortoise.models import Model

# The link before the first row.
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


def entry_mac(key: bytes, seq: int, at: datetime, entry: AuditEntry, prev_mac: str) -> str:
    """The MAC of row ``seq``: its content and the previous row's MAC, under ``key``."""
    body = msgspec.json.encode(
        [
            seq,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            *msgspec.structs.astuple(entry),
            prev_mac,
        ]
    )
    return hmac.new(key, body, hashlib.sha256).hexdigest()
