"""Sealing instead of chaining at write time (see kehu/audit/services.py).

Entries get a chain position ``seq``; ``prev_hash`` and ``hash`` stay empty until the sealer writes
them. Existing entries were chained in id order from id 1 by the old writer, so their position is
their id and their hashes stay valid as they are. The append-only triggers now let exactly one UPDATE
through: the seal of an unsealed entry, which must leave the content untouched.

``forward`` / ``backward`` (install / remove the triggers) are also what the test suite's teardown of
transactional tests uses to lift the triggers for its flush (conftest.py)."""

from django.conf import settings
from django.db import migrations, models

CONTENT = ("id", "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr",
           "changes")

SQLITE_FORWARD = [
    """CREATE TRIGGER audit_auditentry_no_update BEFORE UPDATE ON audit_auditentry
       WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.hash IS NULL OR NEW.prev_hash IS NULL OR """
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT) + """
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER audit_auditentry_no_delete BEFORE DELETE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_auditentry_no_update",
    "DROP TRIGGER IF EXISTS audit_auditentry_no_delete",
]
PG_FORWARD = [
    """CREATE OR REPLACE FUNCTION audit_auditentry_append_only() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
            AND NEW.prev_hash IS NOT NULL
            AND (""" + ", ".join(f"NEW.{c}" for c in CONTENT) + """)
                IS NOT DISTINCT FROM (""" + ", ".join(f"OLD.{c}" for c in CONTENT) + """) THEN
           RETURN NEW;  -- the one-time seal
         END IF;
         RAISE EXCEPTION 'audit log is append-only';
       END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_auditentry_no_change BEFORE UPDATE OR DELETE ON audit_auditentry
       FOR EACH ROW EXECUTE FUNCTION audit_auditentry_append_only()""",
    """CREATE TRIGGER audit_auditentry_no_truncate BEFORE TRUNCATE ON audit_auditentry
       FOR EACH STATEMENT EXECUTE FUNCTION audit_auditentry_append_only()""",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_auditentry_no_truncate ON audit_auditentry",
    "DROP TRIGGER IF EXISTS audit_auditentry_no_change ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_auditentry_append_only()",
]


def _run(schema_editor, pg, sqlite):
    for sql in pg if schema_editor.connection.vendor == "postgresql" else sqlite:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, PG_FORWARD, SQLITE_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, PG_BACKWARD, SQLITE_BACKWARD)


def _old_triggers():
    import importlib

    return importlib.import_module("kehu.audit.migrations.0002_append_only")


def drop_old_triggers(apps, schema_editor):
    _old_triggers().backward(apps, schema_editor)


def restore_old_triggers(apps, schema_editor):
    _old_triggers().forward(apps, schema_editor)


def existing_entries_are_sealed(apps, schema_editor):
    """Old entries were chained at write time with ids 1, 2, 3 …: that is their position. On
    PostgreSQL the old writer chose ids itself, so the id sequence is moved past them."""
    schema_editor.execute("UPDATE audit_auditentry SET seq = id WHERE seq IS NULL")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "SELECT setval(pg_get_serial_sequence('audit_auditentry', 'id'),"
            " COALESCE((SELECT MAX(id) FROM audit_auditentry), 0) + 1, false)")


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_old_triggers, restore_old_triggers),
        migrations.AddField(
            model_name='auditentry',
            name='seq',
            field=models.BigIntegerField(blank=True, null=True, unique=True, verbose_name='chain position'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='hash',
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(existing_entries_are_sealed, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('seq__isnull', True)), fields=['id'], name='audit_unsealed_idx'),
        ),
        migrations.RunPython(forward, backward),
    ]
