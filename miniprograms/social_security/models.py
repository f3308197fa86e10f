"""Certificates we issued through the province, so a resident can find them again."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class IssuedCertificate(Model):
    """A contribution certificate (参保证明) issued for a resident."""

    id = fields.IntField(primary_key=True)
    resident_id = fields.UUIDField(db_index=True)
    idempotency_key = fields.CharField(max_length=64)
    certificate_no = fields.CharField(max_length=32)
    verification_code = fields.CharField(max_length=16)
    purpose = fields.CharField(max_length=32)
    months_paid = fields.IntField()
    issued_at = fields.DatetimeField()
    valid_until = fields.DateField()

    class Meta:
        table = "ss_issued_certificate"
        unique_together = (("resident_id", "idempotency_key"),)
