"""The audit log is append-only in PostgreSQL too: a trigger refuses to delete an entry or to change what it says.

Only the two links may be cleared, as their on_delete=SET_NULL does when the staff member's account or the object's
type is deleted (the entry keeps who and what as text). Emptying the table with TRUNCATE (the test suite's flush,
an operator's deliberate purge) is not a row change and stays possible. SQLite (make run) has no such trigger.
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION accounts_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit log entries are never deleted';
    END IF;
    IF (NEW.actor_id IS NOT NULL AND NEW.actor_id IS DISTINCT FROM OLD.actor_id)
        OR (NEW.content_type_id IS NOT NULL AND NEW.content_type_id IS DISTINCT FROM OLD.content_type_id)
        OR (NEW.id, NEW.at, NEW.actor_label, NEW.action, NEW.object_id, NEW.object_repr, NEW.changes::text,
            NEW.note, NEW.ip, NEW.via)
           IS DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_label, OLD.action, OLD.object_id, OLD.object_repr, OLD.changes::text,
            OLD.note, OLD.ip, OLD.via)
    THEN
        RAISE EXCEPTION 'audit log entries are never changed';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""

TRIGGER = """
CREATE TRIGGER accounts_auditentry_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditentry
    FOR EACH ROW EXECUTE FUNCTION accounts_auditentry_append_only()
"""

DROP = [
    "DROP TRIGGER IF EXISTS accounts_auditentry_append_only ON accounts_auditentry",
    "DROP FUNCTION IF EXISTS accounts_auditentry_append_only()",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(TRIGGER, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_audit_entry")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
