"""The migration to sealing keeps a log chained by the former writer valid: its entries become sealed
at the position of their id, and new entries continue the same chain."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kehu.audit import chain
from kehu.audit.models import AuditEntry
from kehu.audit.services import _canonical_time, audit_record, audit_seal, audit_status

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("audit", "0002_append_only")]


def latest(executor):
    """Every app's newest migration: going back to audit 0002 also unapplied the migrations that depend on the
    later audit ones (ownership 0003's PL/pgSQL function among them); migrating forward to audit's leaf alone left
    them out, and the next test on this worker's database found no ``ownership_register``."""
    return executor.loader.graph.leaf_nodes()


def test_entries_chained_before_the_migration_stay_valid(audit_triggers_lifted_at_teardown):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    prev, at = chain.GENESIS, "2026-03-01T08:00:00.000000Z"
    with connection.cursor() as cur:
        for i in range(1, 4):  # what the former writer stored: ids 1, 2, 3 chained at write time
            h = chain.entry_hash(prev, entry_id=i, at=at, actor_id=None, actor_name="system", ip=None,
                                 action="maintenance.test", object_type="x", object_id=str(i), object_repr="",
                                 changes={})
            cur.execute("INSERT INTO audit_auditentry (id, at, actor_id, actor_name, ip, action, object_type,"
                        " object_id, object_repr, changes, prev_hash, hash) VALUES (%s, %s, NULL, 'system', NULL,"
                        " 'maintenance.test', 'x', %s, '', %s, %s, %s)",
                        [i, "2026-03-01 08:00:00+00:00" if connection.vendor == "postgresql" else "2026-03-01 08:00:00",
                         str(i), "{}", prev, h])
            prev = h
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest(executor))

    assert list(AuditEntry.objects.order_by("id").values_list("id", "seq")) == [(1, 1), (2, 2), (3, 3)]
    assert _canonical_time(AuditEntry.objects.get(pk=1).at) == at
    new = audit_record(actor=None, action="maintenance.test", object_type="x", object_id=4)
    assert new.pk == 4  # the id sequence continues after the old ids (PostgreSQL: moved by the migration)
    audit_seal(checkpoint=False)  # (already sealed at its commit here: autocommit, Huey's immediate mode)
    assert AuditEntry.objects.filter(pk=4).values_list("seq", "prev_hash").get() == (4, prev)
    status = audit_status()
    assert (status.problems, status.sealed, status.unsealed) == ([], 4, 0)
