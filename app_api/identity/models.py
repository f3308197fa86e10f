"""Relational truth about people, companies and staff (一人一码, 一企一码)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# Stable codes for profile attributes; the catalogs hold their labels.
DISTRICTS = ("321302", "321311", "321322", "321323", "321324")  # 宿城 宿豫 沭阳 泗阳 泗洪
HUKOU_TYPES = ("local_urban", "local_rural", "nonlocal")
EMPLOYMENT_STATUSES = ("employed", "self_employed", "unemployed", "retired", "student", "other")
ROLES = ("policy_editor", "policy_publisher", "reviewer", "auditor")


class Resident(Model):
    """A natural person with a phone login, one row per person (一人一码)."""

    id = fields.UUIDField(primary_key=True)
    phone = fields.CharField(max_length=11, unique=True)
    name = fields.CharField(max_length=64, null=True)
    id_number_sealed = fields.CharField(max_length=128, null=True)
    id_number_index = fields.CharField(max_length=64, null=True, unique=True)
    birth_date = fields.DateField(null=True)
    gender = fields.CharField(max_length=1, null=True)
    district = fields.CharField(max_length=6, null=True)
    hukou_type = fields.CharField(max_length=16, null=True)
    employment_status = fields.CharField(max_length=16, null=True)
    disability_level = fields.SmallIntField(default=0)
    household_size = fields.SmallIntField(default=1)
    preferred_locale = fields.CharField(max_length=8, default="zh_Hans")
    # "standard" or "elderly" (长辈版): the words, quiet hours and links of their messages.
    view_mode = fields.CharField(max_length=8, default="standard")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "resident"


class IdentityCorrection(Model):
    """A reviewer's correction of a resident's bound ID number, with the reason given.

    The numbers appear only as blind indexes: the record says that the number changed and
    who changed it and why, without keeping a readable copy of the old number.
    """

    id = fields.IntField(primary_key=True)
    resident = fields.ForeignKeyField("core.Resident", related_name="identity_corrections")
    operator = fields.ForeignKeyField("core.Operator", related_name="identity_corrections")
    reason = fields.CharField(max_length=500)
    old_index = fields.CharField(max_length=64, null=True)
    new_index = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "identity_correction"


class Enterprise(Model):
    """A legal person, identified by its unified social credit code (一企一码)."""

    id = fields.UUIDField(primary_key=True)
    credit_code = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=128)
    industry_code = fields.CharField(max_length=4)
    size = fields.CharField(max_length=8)  # micro / small / medium / large
    district = fields.CharField(max_length=6)
    founded_on = fields.DateField()
    high_tech = fields.BooleanField(default=False)
    employee_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise"


class EnterpriseAdmin(Model):
    """A resident who administers an enterprise's account (needs TOTP to act for it)."""

    id = fields.IntField(primary_key=True)
    enterprise = fields.ForeignKeyField("core.Enterprise", related_name="admins")
    resident = fields.ForeignKeyField("core.Resident", related_name="enterprise_roles")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise_admin"
        unique_together = (("enterprise", "resident"),)


class Operator(Model):
    """Government staff. Roles are checked by guards, and TOTP is mandatory."""

    id = fields.UUIDField(primary_key=True)
    phone = fields.CharField(max_length=11, unique=True)
    name = fields.CharField(max_length=64)
    roles = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "operator"


class TotpFactor(Model):
    """A TOTP second factor of a resident (enterprise admin) or an operator."""

    id = fields.IntField(primary_key=True)
    account_kind = fields.CharField(max_length=16)
    account_id = fields.UUIDField()
    secret_sealed = fields.CharField(max_length=256)
    confirmed_at = fields.DatetimeField(null=True)
    last_used_step = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "totp_factor"
        unique_together = (("account_kind", "account_id"),)


class RecoveryCode(Model):
    """One-time recovery code, stored only as a keyed hash."""

    id = fields.IntField(primary_key=True)
    factor = fields.ForeignKeyField("core.TotpFactor", related_name="recovery_codes")
    code_hash = fields.CharField(max_length=64)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "totp_recovery_code"


class Delegation(Model):
    """亲情代办: a resident lets a relative act for them within scopes, until a date."""

    id = fields.UUIDField(primary_key=True)
    grantor = fields.ForeignKeyField("core.Resident", related_name="delegations_granted")
    grantee = fields.ForeignKeyField("core.Resident", related_name="delegations_received")
    scopes = fields.JSONField(default=list)
    relationship = fields.CharField(max_length=16, default="family")
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "delegation"
