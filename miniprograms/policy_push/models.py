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
