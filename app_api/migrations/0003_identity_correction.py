from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_audit_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdentityCorrection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('core.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='identity_corrections', on_delete=OnDelete.CASCADE)),
                ('operator', fields.ForeignKeyField('core.Operator', source_field='operator_id', db_constraint=True, to_field='id', related_name='identity_corrections', on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharField(max_length=500)),
                ('old_index', fields.CharField(null=True, max_length=64)),
                ('new_index', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'identity_correction', 'app': 'core', 'pk_attr': 'id', 'table_description': "A reviewer's correction of a resident's bound ID number, with the reason given."},
            bases=['Model'],
        ),
    ]
