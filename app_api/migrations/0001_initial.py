from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('seq', fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_kind', fields.CharField(max_length=16)),
                ('actor_id', fields.CharField(max_length=64)),
                ('subject_id', fields.CharField(null=True, db_index=True, max_length=64)),
                ('action', fields.CharField(max_length=64)),
                ('resource', fields.CharField(max_length=128)),
                ('purpose', fields.CharField(max_length=64)),
                ('ip', fields.CharField(null=True, max_length=64)),
                ('prev_mac', fields.CharField(max_length=64)),
                ('mac', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_event', 'app': 'core', 'pk_attr': 'seq', 'table_description': 'One audited act. Never updated, never deleted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Enterprise',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('credit_code', fields.CharField(unique=True, max_length=18)),
                ('name', fields.CharField(max_length=128)),
                ('industry_code', fields.CharField(max_length=4)),
                ('size', fields.CharField(max_length=8)),
                ('district', fields.CharField(max_length=6)),
                ('founded_on', fields.DateField()),
                ('high_tech', fields.BooleanField(default=False)),
                ('employee_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'enterprise', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A legal person, identified by its unified social credit code (一企一码).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Operator',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('phone', fields.CharField(unique=True, max_length=11)),
                ('name', fields.CharField(max_length=64)),
                ('roles', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'operator', 'app': 'core', 'pk_attr': 'id', 'table_description': 'Government staff. Roles are checked by guards, and TOTP is mandatory.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Resident',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('phone', fields.CharField(unique=True, max_length=11)),
                ('name', fields.CharField(null=True, max_length=64)),
                ('id_number_sealed', fields.CharField(null=True, max_length=128)),
                ('id_number_index', fields.CharField(null=True, unique=True, max_length=64)),
                ('birth_date', fields.DateField(null=True)),
                ('gender', fields.CharField(null=True, max_length=1)),
                ('district', fields.CharField(null=True, max_length=6)),
                ('hukou_type', fields.CharField(null=True, max_length=16)),
                ('employment_status', fields.CharField(null=True, max_length=16)),
                ('disability_level', fields.SmallIntField(default=0)),
                ('household_size', fields.SmallIntField(default=1)),
                ('preferred_locale', fields.CharField(default='zh_Hans', max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'resident', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A natural person with a phone login, one row per person (一人一码).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delegation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('grantor', fields.ForeignKeyField('core.Resident', source_field='grantor_id', db_constraint=True, to_field='id', related_name='delegations_granted', on_delete=OnDelete.CASCADE)),
                ('grantee', fields.ForeignKeyField('core.Resident', source_field='grantee_id', db_constraint=True, to_field='id', related_name='delegations_received', on_delete=OnDelete.CASCADE)),
                ('scopes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('relationship', fields.CharField(default='family', max_length=16)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'delegation', 'app': 'core', 'pk_attr': 'id', 'table_description': '亲情代办: a resident lets a relative act for them within scopes, until a date.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EnterpriseAdmin',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('enterprise', fields.ForeignKeyField('core.Enterprise', source_field='enterprise_id', db_constraint=True, to_field='id', related_name='admins', on_delete=OnDelete.CASCADE)),
                ('resident', fields.ForeignKeyField('core.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='enterprise_roles', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'enterprise_admin', 'app': 'core', 'unique_together': (('enterprise', 'resident'),), 'pk_attr': 'id', 'table_description': "A resident who administers an enterprise's account (needs TOTP to act for it)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TotpFactor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_kind', fields.CharField(max_length=16)),
                ('account_id', fields.UUIDField()),
                ('secret_sealed', fields.CharField(max_length=256)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_step', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'totp_factor', 'app': 'core', 'unique_together': (('account_kind', 'account_id'),), 'pk_attr': 'id', 'table_description': 'A TOTP second factor of a resident (enterprise admin) or an operator.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('factor', fields.ForeignKeyField('core.TotpFactor', source_field='factor_id', db_constraint=True, to_field='id', related_name='recovery_codes', on_delete=OnDelete.CASCADE)),
                ('code_hash', fields.CharField(max_length=64)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'totp_recovery_code', 'app': 'core', 'pk_attr': 'id', 'table_description': 'One-time recovery code, stored only as a keyed hash.'},
            bases=['Model'],
        ),
    ]
