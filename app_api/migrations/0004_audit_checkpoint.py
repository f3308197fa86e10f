"""Signed checkpoints of the audit chain's head, in their own append-only table."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

SQLITE = [
    "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
    "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION audit_checkpoint_refuse() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_checkpoint is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_checkpoint_no_change BEFORE UPDATE OR DELETE ON audit_checkpoint "
    "FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_refuse()",
]


async def forward(apps, schema_editor):
    dialect = schema_editor.client.capabilities.dialect
    for sql in POSTGRES if dialect == "postgres" else SQLITE:
        await schema_editor.client.execute_script(sql)


async def backward(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        sqls = [
            "DROP TRIGGER IF EXISTS audit_checkpoint_no_change ON audit_checkpoint",
            "DROP FUNCTION IF EXISTS audit_checkpoint_refuse()",
        ]
    else:
        sqls = [
            "DROP TRIGGER IF EXISTS audit_checkpoint_no_update",
            "DROP TRIGGER IF EXISTS audit_checkpoint_no_delete",
        ]
    for sql in sqls:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_identity_correction")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("seq", fields.BigIntField()),
                ("head_mac", fields.CharField(max_length=64)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("source", fields.CharField(max_length=16)),
                ("signature", fields.CharField(max_length=64)),
            ],
            options={
                "table": "audit_checkpoint",
                "app": "core",
                "pk_attr": "id",
                "table_description": "Signed heads of the audit chain, recorded by each verification.",
            },
            bases=["Model"],
        ),
        ops.RunPython(forward, backward),
    ]
