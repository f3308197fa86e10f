from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Policy',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('audience', fields.CharField(max_length=16)),
                ('category', fields.CharField(max_length=24)),
                ('state', fields.CharField(default='draft', max_length=12)),
                ('created_by', fields.CharField(max_length=36)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('latest_version', fields.IntField(default=1)),
                ('published_version', fields.IntField(null=True)),
                ('published_by', fields.CharField(null=True, max_length=36)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_on', fields.DateField(null=True)),
                ('retired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'policy', 'app': 'policy_push', 'indexes': [Index(fields=['state', 'audience', 'category'])], 'pk_attr': 'id', 'table_description': 'One policy across its versions: who it is for, and which version residents see.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicyGram',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('policy_id', fields.UUIDField(db_index=True)),
                ('gram', fields.CharField(max_length=16)),
                ('in_title', fields.BooleanField(default=False)),
            ],
            options={'table': 'policy_gram', 'app': 'policy_push', 'unique_together': (('gram', 'policy_id'),), 'pk_attr': 'id', 'table_description': "One search gram of a published policy's words (see :mod:`.search`)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicyVersion',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('policy', fields.ForeignKeyField('policy_push.Policy', source_field='policy_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('title', fields.CharField(max_length=200)),
                ('department', fields.CharField(max_length=100)),
                ('document_no', fields.CharField(max_length=64)),
                ('summary', fields.TextField(unique=False)),
                ('full_text', fields.TextField(unique=False)),
                ('effective_from', fields.DateField()),
                ('effective_to', fields.DateField(null=True)),
                ('benefit', fields.CharField(max_length=500)),
                ('amounts', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('how_to_apply', fields.TextField(unique=False)),
                ('rule', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('rule_reference', fields.CharField(default='', max_length=200)),
                ('auto_grant', fields.BooleanField(default=False)),
                ('edited_by', fields.CharField(max_length=36)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'policy_version', 'app': 'policy_push', 'unique_together': (('policy', 'number'),), 'pk_attr': 'id', 'table_description': 'What one version of a policy says, with its official references, as written by one'},
            bases=['Model'],
        ),
    ]
