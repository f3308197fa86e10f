from uuid import uuid4

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="WithdrawalApplication",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("resident_id", fields.UUIDField(db_index=True)),
                ("idempotency_key", fields.CharField(max_length=64)),
                ("fingerprint", fields.CharField(max_length=64)),
                ("reason", fields.CharField(max_length=16)),
                ("amount_fen", fields.BigIntField()),
                ("application_no", fields.CharField(null=True, max_length=32)),
                ("status", fields.CharField(default="submitting", max_length=16)),
                ("submitted_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "hf_withdrawal_application",
                "app": "housing_fund",
                "unique_together": (("resident_id", "idempotency_key"),),
                "pk_attr": "id",
                "table_description": "One withdrawal (提取) application. A row with no ``application_no`` is being filed.",
            },
            bases=["Model"],
        ),
    ]
