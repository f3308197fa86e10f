from tortoise import migrations
from tortoise.migrations import operations as ops
from uuid import uuid4
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Webhook",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("enterprise_id", fields.UUIDField(db_index=True)),
                ("url", fields.CharField(max_length=2048)),
                ("secret_sealed", fields.CharField(max_length=256)),
                ("created_by", fields.UUIDField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "failing_since",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "disabled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("disabled_reason", fields.CharField(null=True, max_length=32)),
            ],
            options={
                "table": "notification_webhook",
                "app": "notifications",
                "pk_attr": "id",
                "table_description": "An enterprise's HTTPS endpoint for its messages (see notifications.webhooks).",
            },
            bases=["Model"],
        ),
    ]
