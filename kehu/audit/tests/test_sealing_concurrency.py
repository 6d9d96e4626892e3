"""Writers on several connections append at once while a sealer runs beside them (PostgreSQL: no
lock shared by writers, commits in any order): nothing is lost, nothing sealed twice, positions have
no gaps, and a lower id committed after a higher one was sealed joins the chain at the next position."""

import os
import threading

import pytest
from django.db import connection, transaction

from kehu.audit import services
from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_record, audit_seal, audit_status

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("KEHU_TEST_DATABASE_URL"),
                       reason="concurrent writers need PostgreSQL (KEHU_TEST_DATABASE_URL); SQLite serialises them"),
]

WRITERS, PER_WRITER = 8, 25


def test_eight_writers_and_a_sealer_lose_nothing_and_seal_nothing_twice(monkeypatch,
                                                                         audit_triggers_lifted_at_teardown):
    monkeypatch.setattr(services, "_seal_after_commit", lambda: None)  # only the sealer thread seals
    before = AuditEntry.objects.count()
    errors, start, done = [], threading.Barrier(WRITERS + 1), threading.Event()

    def write(w):
        try:
            start.wait()
            for i in range(PER_WRITER):
                with transaction.atomic():
                    audit_record(actor=None, action="maintenance.test", object_type="writer", object_id=f"{w}-{i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def seal():
        try:
            start.wait()
            while not done.is_set():
                audit_seal(batch_size=16)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    sealer = threading.Thread(target=seal)
    for t in [*writers, sealer]:
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    sealer.join(timeout=60)
    audit_seal()
    assert errors == []
    total = before + WRITERS * PER_WRITER
    assert AuditEntry.objects.filter(object_type="writer").values("object_id").distinct().count() == WRITERS * PER_WRITER
    assert AuditEntry.objects.count() == total
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, total + 1))
    status = audit_status()
    assert (status.problems, status.unsealed, status.sealed) == ([], 0, total)


def test_a_lower_id_committing_after_a_higher_one_was_sealed(monkeypatch, audit_triggers_lifted_at_teardown):
    monkeypatch.setattr(services, "_seal_after_commit", lambda: None)
    inserted, release, ids, errors = threading.Event(), threading.Event(), [], []

    def slow_writer():
        try:
            with transaction.atomic():
                ids.append(audit_record(actor=None, action="maintenance.test", object_id="slow").pk)
                inserted.set()
                release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=slow_writer)
    t.start()
    assert inserted.wait(timeout=30)
    with transaction.atomic():
        fast = audit_record(actor=None, action="maintenance.test", object_id="fast")
    assert audit_seal() >= 1  # the slow writer's entry is not committed: not visible, not sealed
    assert AuditEntry.objects.get(pk=fast.pk).seq is not None
    release.set()
    t.join(timeout=30)
    assert errors == [] and ids[0] < fast.pk
    assert audit_status().unsealed == 1
    audit_seal()
    slow, fast = AuditEntry.objects.get(pk=ids[0]), AuditEntry.objects.get(pk=fast.pk)
    assert slow.seq == fast.seq + 1
    assert audit_status().problems == []
