from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('policy_push', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Policy',
            name='starts_on',
            field=fields.DateField(null=True),
        ),
    ]
