"""The policy library: policies, their versions (history kept), and the search index.

A policy is the identity that stays (audience, category, where it is in its life); what it
says lives in numbered versions. Editing a published policy writes a new version, which
residents see only once another operator publishes it; the published one stays as it was.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

AUDIENCES = ("resident", "enterprise")
STATES = ("draft", "published", "retired")


class Policy(Model):
    """One policy across its versions: who it is for, and which version residents see."""

    id = fields.UUIDField(primary_key=True)
    audience = fields.CharField(max_length=16)
    category = fields.CharField(max_length=24)
    state = fields.CharField(max_length=12, default="draft")
    created_by = fields.CharField(max_length=36)
    created_at = fields.DatetimeField(auto_now_add=True)
    latest_version = fields.IntField(default=1)
    # The version residents see (None until first published); may lag a newer draft.
    published_version = fields.IntField(null=True)
    published_by = fields.CharField(max_length=36, null=True)
    published_at = fields.DatetimeField(null=True)
    # The published version's first and last days in force, for listing what is in force.
    starts_on = fields.DateField(null=True)
    expires_on = fields.DateField(null=True)
    retired_at = fields.DatetimeField(null=True)
    # The published version the population was last matched against in full.
    matched_version = fields.IntField(null=True)

    class Meta:
        table = "policy"
        indexes = (("state", "audience", "category"),)


class PolicyVersion(Model):
    """What one version of a policy says, with its official references, as written by one
    operator. Never changed once published (a later edit is a later version)."""

    id = fields.UUIDField(primary_key=True)
    policy: fields.ForeignKeyRelation[Policy] = fields.ForeignKeyField(
        "policy_push.Policy", related_name="versions", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    title = fields.CharField(max_length=200)
    department = fields.CharField(max_length=100)
    document_no = fields.CharField(max_length=64)
    summary = fields.TextField()
    full_text = fields.TextField()
    effective_from = fields.DateField()
    effective_to = fields.DateField(null=True)
    benefit = fields.CharField(max_length=500)
    # Dated amounts, each naming its article: [{"from", "amount_fen", "reference"}], by date.
    amounts = fields.JSONField(default=list)
    how_to_apply = fields.TextField()
    rule = fields.JSONField(null=True)  # who qualifies (the eligibility rule language)
    rule_reference = fields.CharField(max_length=200, default="")
    auto_grant = fields.BooleanField(default=False)  # 免申即享
    edited_by = fields.CharField(max_length=36)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "policy_version"
        unique_together = (("policy", "number"),)


class PolicyGram(Model):
    """One search gram of a published policy's words (see :mod:`.search`)."""

    id = fields.IntField(primary_key=True)
    policy_id = fields.UUIDField(db_index=True)
    gram = fields.CharField(max_length=16)
    in_title = fields.BooleanField(default=False)

    class Meta:
        table = "policy_gram"
        unique_together = (("gram", "policy_id"),)


class ResidentProfile(Model):
    """What matching knows about one resident: the columns of eligibility.fields.RESIDENT,
    each group with the day its source last vouched for it (a stale fact is unknown)."""

    account_id = fields.UUIDField(primary_key=True)
    birth_date = fields.DateField(null=True)
    district = fields.CharField(max_length=6, null=True)
    hukou_type = fields.CharField(max_length=16, null=True)
    household_size = fields.SmallIntField(null=True)
    population_as_of = fields.DateField(null=True)
    employment_status = fields.CharField(max_length=16, null=True)
    months_unemployed = fields.SmallIntField(null=True)
    employment_as_of = fields.DateField(null=True)
    is_retired = fields.BooleanField(null=True)
    social_security_as_of = fields.DateField(null=True)
    disability_level = fields.SmallIntField(null=True)
    self_declared_as_of = fields.DateField(null=True)
    has_housing_fund = fields.BooleanField(null=True)
    housing_fund_as_of = fields.DateField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "policy_resident_profile"
        indexes = (("district",), ("birth_date",))


class EnterpriseProfile(Model):
    """What matching knows about one enterprise: the columns of eligibility.fields.ENTERPRISE."""

    account_id = fields.UUIDField(primary_key=True)  # the enterprise's id
    credit_code = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=128, default="")
    industry_code = fields.CharField(max_length=5, null=True)
    size_class = fields.CharField(max_length=8, null=True)
    district = fields.CharField(max_length=6, null=True)
    founded_on = fields.DateField(null=True)
    enterprise_as_of = fields.DateField(null=True)
    employee_count = fields.IntField(null=True)
    unemployment_insurance_months = fields.SmallIntField(null=True)
    social_security_as_of = fields.DateField(null=True)
    high_tech_certified = fields.BooleanField(null=True)
    self_declared_as_of = fields.DateField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "policy_enterprise_profile"
        indexes = (("district",),)


class ProfileConsent(Model):
    """A person's consent to fetch their facts from a provincial registry for matching. Its
    id is the consent reference the registry is shown, and the audit names it."""

    id = fields.UUIDField(primary_key=True)
    account_id = fields.UUIDField(db_index=True)  # the resident or enterprise
    given_by = fields.UUIDField()  # the resident who consented (an enterprise's admin)
    registry = fields.CharField(max_length=16)  # population / enterprise
    purpose = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "policy_profile_consent"


class PolicyMatch(Model):
    """A person or enterprise found to qualify for one version of a policy (found once:
    the matching job and a profile change may both find it, the row is the same)."""

    id = fields.UUIDField(primary_key=True)
    policy_id = fields.UUIDField()
    version = fields.IntField()
    audience = fields.CharField(max_length=16)
    account_id = fields.UUIDField()
    category = fields.CharField(max_length=24)
    matched_at = fields.DatetimeField(auto_now_add=True)
    dismissed_at = fields.DatetimeField(null=True)
    # Set when a later fact (or version) shows they no longer qualify.
    withdrawn_at = fields.DatetimeField(null=True)

    class Meta:
        table = "policy_match"
        unique_together = (("policy_id", "version", "account_id"),)
        indexes = (("account_id", "matched_at"),)


class MutedCategory(Model):
    """ "Not interested in this category": no pushes, and hidden from the matches list."""

    id = fields.IntField(primary_key=True)
    account_id = fields.UUIDField()
    category = fields.CharField(max_length=24)

    class Meta:
        table = "policy_muted_category"
        unique_together = (("account_id", "category"),)


class Grant(Model):
    """免申即享: a benefit offered to one qualifying person or enterprise, paid once they
    confirm. One per policy and account, whatever the version that found them."""

    id = fields.UUIDField(primary_key=True)
    policy_id = fields.UUIDField()
    version = fields.IntField()
    audience = fields.CharField(max_length=16)
    account_id = fields.UUIDField(db_index=True)
    amount_fen = fields.BigIntField()
    document_no = fields.CharField(max_length=64)
    state = fields.CharField(max_length=24, default="pending_confirmation")
    created_at = fields.DatetimeField(auto_now_add=True)
    confirmed_at = fields.DatetimeField(null=True)
    confirmed_by = fields.UUIDField(null=True)
    payment_id = fields.CharField(max_length=64, null=True)
    paid_at = fields.DatetimeField(null=True)
    # The province's reason for a refusal, or the last error while asking it (retried).
    failure = fields.CharField(max_length=200, null=True)
    attempts = fields.SmallIntField(default=0)
    # While set and in the future, one request is asking the province to pay (a lease).
    paying_until = fields.DatetimeField(null=True)

    class Meta:
        table = "policy_grant"
        unique_together = (("policy_id", "account_id"),)
        indexes = (("state",),)
