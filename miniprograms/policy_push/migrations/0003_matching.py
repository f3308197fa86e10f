from tortoise import migrations
from tortoise.migrations import operations as ops
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('policy_push', '0002_starts_on')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EnterpriseProfile',
            fields=[
                ('account_id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('credit_code', fields.CharField(unique=True, max_length=18)),
                ('name', fields.CharField(default='', max_length=128)),
                ('industry_code', fields.CharField(null=True, max_length=5)),
                ('size_class', fields.CharField(null=True, max_length=8)),
                ('district', fields.CharField(null=True, max_length=6)),
                ('founded_on', fields.DateField(null=True)),
                ('enterprise_as_of', fields.DateField(null=True)),
                ('employee_count', fields.IntField(null=True)),
                ('unemployment_insurance_months', fields.SmallIntField(null=True)),
                ('social_security_as_of', fields.DateField(null=True)),
                ('high_tech_certified', fields.BooleanField(null=True)),
                ('self_declared_as_of', fields.DateField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'policy_enterprise_profile', 'app': 'policy_push', 'indexes': [Index(fields=['district'])], 'pk_attr': 'account_id', 'table_description': 'What matching knows about one enterprise: the columns of eligibility.fields.ENTERPRISE.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Grant',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('policy_id', fields.UUIDField()),
                ('version', fields.IntField()),
                ('audience', fields.CharField(max_length=16)),
                ('account_id', fields.UUIDField(db_index=True)),
                ('amount_fen', fields.BigIntField()),
                ('document_no', fields.CharField(max_length=64)),
                ('state', fields.CharField(default='pending_confirmation', max_length=24)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('confirmed_by', fields.UUIDField(null=True)),
                ('payment_id', fields.CharField(null=True, max_length=64)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failure', fields.CharField(null=True, max_length=200)),
                ('attempts', fields.SmallIntField(default=0)),
                ('paying_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'policy_grant', 'app': 'policy_push', 'unique_together': (('policy_id', 'account_id'),), 'indexes': [Index(fields=['state'])], 'pk_attr': 'id', 'table_description': '免申即享: a benefit offered to one qualifying person or enterprise, paid once they'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MutedCategory',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_id', fields.UUIDField()),
                ('category', fields.CharField(max_length=24)),
            ],
            options={'table': 'policy_muted_category', 'app': 'policy_push', 'unique_together': (('account_id', 'category'),), 'pk_attr': 'id', 'table_description': '"Not interested in this category": no pushes, and hidden from the matches list.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicyMatch',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('policy_id', fields.UUIDField()),
                ('version', fields.IntField()),
                ('audience', fields.CharField(max_length=16)),
                ('account_id', fields.UUIDField()),
                ('category', fields.CharField(max_length=24)),
                ('matched_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('dismissed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'policy_match', 'app': 'policy_push', 'unique_together': (('policy_id', 'version', 'account_id'),), 'indexes': [Index(fields=['account_id', 'matched_at'])], 'pk_attr': 'id', 'table_description': 'A person or enterprise found to qualify for one version of a policy (found once:'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProfileConsent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account_id', fields.UUIDField(db_index=True)),
                ('given_by', fields.UUIDField()),
                ('registry', fields.CharField(max_length=16)),
                ('purpose', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'policy_profile_consent', 'app': 'policy_push', 'pk_attr': 'id', 'table_description': "A person's consent to fetch their facts from a provincial registry for matching. Its"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResidentProfile',
            fields=[
                ('account_id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('birth_date', fields.DateField(null=True)),
                ('district', fields.CharField(null=True, max_length=6)),
                ('hukou_type', fields.CharField(null=True, max_length=16)),
                ('household_size', fields.SmallIntField(null=True)),
                ('population_as_of', fields.DateField(null=True)),
                ('employment_status', fields.CharField(null=True, max_length=16)),
                ('months_unemployed', fields.SmallIntField(null=True)),
                ('employment_as_of', fields.DateField(null=True)),
                ('is_retired', fields.BooleanField(null=True)),
                ('social_security_as_of', fields.DateField(null=True)),
                ('disability_level', fields.SmallIntField(null=True)),
                ('self_declared_as_of', fields.DateField(null=True)),
                ('has_housing_fund', fields.BooleanField(null=True)),
                ('housing_fund_as_of', fields.DateField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'policy_resident_profile', 'app': 'policy_push', 'indexes': [Index(fields=['district']), Index(fields=['birth_date'])], 'pk_attr': 'account_id', 'table_description': 'What matching knows about one resident: the columns of eligibility.fields.RESIDENT,'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Policy',
            name='matched_version',
            field=fields.IntField(null=True),
        ),
    ]
