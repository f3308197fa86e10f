from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("core", "0004_audit_checkpoint")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Resident",
            name="view_mode",
            field=fields.CharField(default="standard", max_length=8),
        ),
    ]
