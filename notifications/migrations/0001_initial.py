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
            name='Device',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account_id', fields.UUIDField(db_index=True)),
                ('token', fields.CharField(unique=True, max_length=512)),
                ('platform', fields.CharField(max_length=16)),
                ('session_family', fields.CharField(null=True, db_index=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'notification_device', 'app': 'notifications', 'pk_attr': 'id', 'table_description': 'A phone that receives pushes: its FCM registration token, tied to the session that'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('recipient_id', fields.UUIDField()),
                ('category', fields.CharField(max_length=16)),
                ('template', fields.CharField(max_length=96)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('priority', fields.CharField(default='normal', max_length=8)),
                ('idempotency_key', fields.CharField(unique=True, max_length=160)),
                ('link', fields.CharField(null=True, max_length=256)),
                ('campaign', fields.CharField(null=True, db_index=True, max_length=96)),
                ('on_behalf_of', fields.UUIDField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'notifications', 'indexes': [Index(fields=['recipient_id', 'read_at', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One message to one account: the inbox shows it, the deliveries carry it elsewhere.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('notification', fields.ForeignKeyField('notifications.Notification', source_field='notification_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(max_length=16)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('not_before', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(null=True, max_length=32)),
                ('provider_message_id', fields.CharField(null=True, max_length=160)),
                ('error', fields.CharField(null=True, max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'notification_delivery', 'app': 'notifications', 'unique_together': (('notification', 'channel'),), 'indexes': [Index(fields=['status', 'not_before'])], 'pk_attr': 'id', 'table_description': 'One notification on one channel, and what became of it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Preference',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.UUIDField()),
                ('category', fields.CharField(max_length=16)),
                ('channel', fields.CharField(max_length=16)),
                ('enabled', fields.BooleanField()),
            ],
            options={'table': 'notification_preference', 'app': 'notifications', 'unique_together': (('account_id', 'category', 'channel'),), 'pk_attr': 'id', 'table_description': "A resident's choice for one category on one channel (absent: the default, on)."},
            bases=['Model'],
        ),
    ]
