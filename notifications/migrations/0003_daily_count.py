from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_webhook")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DailyCount",
            fields=[
                (
                    "account_id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=36),
                ),
                ("day", fields.CharField(max_length=10)),
                ("sent", fields.IntField(default=0)),
            ],
            options={
                "table": "notification_daily_count",
                "app": "notifications",
                "pk_attr": "account_id",
                "table_description": "How many capped messages (``policy``, ``announcement``) an account was written on",
            },
            bases=["Model"],
        ),
    ]
