from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="IssuedCertificate",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("resident_id", fields.UUIDField(db_index=True)),
                ("idempotency_key", fields.CharField(max_length=64)),
                ("certificate_no", fields.CharField(max_length=32)),
                ("verification_code", fields.CharField(max_length=16)),
                ("purpose", fields.CharField(max_length=32)),
                ("months_paid", fields.IntField()),
                ("issued_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("valid_until", fields.DateField()),
            ],
            options={
                "table": "ss_issued_certificate",
                "app": "social_security",
                "unique_together": (("resident_id", "idempotency_key"),),
                "pk_attr": "id",
                "table_description": "A contribution certificate (参保证明) issued for a resident.",
            },
            bases=["Model"],
        ),
    ]
