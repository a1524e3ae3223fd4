"""Database triggers that keep the audit table append-only even for code that bypasses the
services: PostgreSQL refuses UPDATE and DELETE of rows, SQLite refuses UPDATE. TRUNCATE (a
table owner's privilege, used by test flushes) and SQLite deletes are not blocked; the hash
chain (`civicstack audit verify`) detects those, and anything done after dropping a trigger."""

from django.db import migrations

SQLITE = [
    "CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    # The chain head only moves forward: winding it back would hide deleted tail events.
    "CREATE TRIGGER core_auditchainhead_forward_only BEFORE UPDATE ON core_auditchainhead "
    "WHEN NEW.last_sequence <= OLD.last_sequence "
    "BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward'); END;",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS core_auditchainhead_forward_only;",
]
POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql;""",
    "CREATE TRIGGER core_auditevent_no_change BEFORE UPDATE OR DELETE ON core_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();",
    """CREATE OR REPLACE FUNCTION core_auditchainhead_forward_only() RETURNS trigger AS $$
       BEGIN
         IF NEW.last_sequence <= OLD.last_sequence THEN
           RAISE EXCEPTION 'the audit chain head only moves forward';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql;""",
    "CREATE TRIGGER core_auditchainhead_forward_only BEFORE UPDATE ON core_auditchainhead "
    "FOR EACH ROW EXECUTE FUNCTION core_auditchainhead_forward_only();",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent;",
    "DROP FUNCTION IF EXISTS core_auditevent_append_only();",
    "DROP TRIGGER IF EXISTS core_auditchainhead_forward_only ON core_auditchainhead;",
    "DROP FUNCTION IF EXISTS core_auditchainhead_forward_only();",
]


def forwards(apps, schema_editor):
    statements = POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = POSTGRESQL_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
