"""Make the audit table append-only in the database itself: UPDATE and DELETE are refused."""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
POSTGRES = [
    "CREATE OR REPLACE FUNCTION audit_event_refuse() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_refuse()",
]


async def forward(apps, schema_editor):
    dialect = schema_editor.client.capabilities.dialect
    for sql in POSTGRES if dialect == "postgres" else SQLITE:
        await schema_editor.client.execute_script(sql)


async def backward(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        sqls = ["DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event",
                "DROP FUNCTION IF EXISTS audit_event_refuse()"]
    else:
        sqls = ["DROP TRIGGER IF EXISTS audit_event_no_update", "DROP TRIGGER IF EXISTS audit_event_no_delete"]
    for sql in sqls:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [ops.RunPython(forward, backward)]
