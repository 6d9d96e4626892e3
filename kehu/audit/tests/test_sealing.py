"""Sealing: writers append without the chain lock, the sealer chains what is committed in id order,
`kehu audit verify` reports what is not sealed yet, checkpoints outside the database catch deleted
newest entries, and the worker wiring (after commit, debounced; every minute) seals on its own."""

import json
import logging
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from kehu.audit import checkpoints, tasks
from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_checkpoint, audit_record, audit_seal, audit_status, audit_verify

pytestmark = pytest.mark.django_db


def record(n: int, actor=None) -> list[AuditEntry]:
    return [audit_record(actor=actor, action="maintenance.test", object_type="x", object_id=i) for i in range(n)]


def drop_append_only_triggers():
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER audit_auditentry_no_change ON audit_auditentry")
        else:
            cur.execute("DROP TRIGGER audit_auditentry_no_update")
            cur.execute("DROP TRIGGER audit_auditentry_no_delete")


@pytest.fixture
def checkpoint_file(settings, tmp_path):
    settings.KEHU_AUDIT_CHECKPOINT_FILE = str(tmp_path / "audit-checkpoints.log")
    return tmp_path / "audit-checkpoints.log"


def test_a_write_appends_an_unsealed_entry_that_the_seal_chains():
    """The writer's entry has no position and no hash; verify reports it unsealed, not broken; the
    seal chains it."""
    e = record(1)[0]
    e.refresh_from_db()
    assert (e.seq, e.prev_hash, e.hash, e.sealed) == (None, None, None, False)
    status = audit_status()
    assert (status.problems, status.unsealed, status.sealed) == ([], 1, 0)
    assert status.oldest_unsealed_at == e.at and status.oldest_unsealed_age >= 0
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "1 unsealed entries (not in the chain yet; the oldest is" in out.getvalue()
    assert "audit log intact: 0 entries verified" in out.getvalue()

    assert audit_seal() == 1
    e.refresh_from_db()
    assert (e.seq, e.prev_hash, e.sealed) == (1, "0" * 64, True)
    status = audit_status()
    assert (status.problems, status.unsealed, status.sealed, status.last_id) == ([], 0, 1, e.pk)
    assert audit_seal() == 0  # nothing left: sealing twice seals nothing twice


def test_the_commit_seals_through_the_worker_task(django_capture_on_commit_callbacks):
    """After the writer's commit the seal task runs (inline in tests: Huey's immediate mode)."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        e = record(1)[0]
    assert callbacks
    e.refresh_from_db()
    assert e.seq == 1 and e.hash


def test_the_periodic_task_seals_what_is_left():
    """The every-minute task seals entries whose after-commit seal never ran (a stopped worker)."""
    record(3)
    tasks.audit_seal_periodic()
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()
    assert audit_verify() == []


def test_sealing_in_small_batches_gives_one_chain():
    """Batches continue from the head the previous batch left; positions have no gaps."""
    entries = record(25)
    assert audit_seal(batch_size=4) == 25
    rows = list(AuditEntry.objects.order_by("seq").values_list("seq", "id"))
    assert rows == [(i + 1, e.pk) for i, e in enumerate(entries)]
    assert audit_verify() == []


def test_a_late_committed_lower_id_is_sealed_after_the_head():
    """On PostgreSQL a transaction holding a lower id may commit after a higher id was sealed: it is
    chained at the next position, and the chain stays intact."""
    base = AuditEntry.objects.create(at="2026-03-01T08:00:00Z", action="maintenance.test").pk
    high = AuditEntry.objects.create(id=base + 10, at="2026-03-01T08:00:01Z", action="maintenance.test")
    assert audit_seal() == 2
    late = AuditEntry.objects.create(id=base + 5, at="2026-03-01T08:00:00Z", action="maintenance.test")
    assert audit_status().unsealed == 1
    assert audit_seal() == 1
    assert list(AuditEntry.objects.order_by("seq").values_list("id", flat=True)) == [base, high.pk, late.pk]
    assert audit_verify() == []


def test_the_checkpoint_catches_deleted_newest_entries(checkpoint_file, django_capture_on_commit_callbacks, caplog):
    """Delete the last sealed entries: the chain alone looks intact, the checkpoint names the gap."""
    entries = record(10)
    with caplog.at_level(logging.INFO, logger="kehu.audit"), django_capture_on_commit_callbacks(execute=True):
        assert audit_seal(checkpoint=True) == 10  # the checkpoint is written once the seal commits
    lines = checkpoint_file.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["seq"] == 10 and json.loads(lines[0])["id"] == entries[-1].pk
    assert f"audit chain checkpoint: position 10 entry {entries[-1].pk}" in caplog.text
    assert audit_verify() == []

    drop_append_only_triggers()
    AuditEntry.objects.filter(seq__gte=8).delete()
    problems = audit_verify()
    assert len(problems) == 1
    assert problems[0].startswith("chain positions 8..10 are missing: the checkpoint of ")
    assert f"recorded entry {entries[-1].pk} at position 10, the chain ends at position 7" in problems[0]
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("audit_verify", stdout=StringIO(), stderr=err)
    assert "the newest entries were deleted" in err.getvalue()


def test_checkpoints_are_periodic_and_the_seal_command_forces_one(checkpoint_file, settings,
                                                                  django_capture_on_commit_callbacks):
    """A checkpoint is written when the head moved and the last one is older than the interval;
    `kehu audit seal` writes one whenever the head moved."""
    settings.KEHU_AUDIT_CHECKPOINT_SECONDS = 3600
    record(2)
    audit_seal(checkpoint=False)
    assert audit_checkpoint().seq == 2  # the first one
    record(1)
    audit_seal(checkpoint=False)
    assert audit_checkpoint() is None  # the last one is younger than an hour
    with django_capture_on_commit_callbacks(execute=True):
        call_command("audit_seal", stdout=StringIO())
    assert checkpoints.last(checkpoint_file).seq == 3
    assert audit_checkpoint(force=True) is None  # the head did not move
    settings.KEHU_AUDIT_CHECKPOINT_SECONDS = 0
    record(1)
    audit_seal(checkpoint=False)
    assert audit_checkpoint().seq == 4
    assert [cp.seq for cp in checkpoints.read_all(checkpoint_file)] == [2, 3, 4]
    assert audit_status().checkpoints == 3 and audit_verify() == []


def test_checkpoints_are_off_in_tests_unless_configured(settings):
    """A flushed test database must not trip over another test's checkpoints; "off" turns them off."""
    assert checkpoints.path() is None
    settings.KEHU_AUDIT_CHECKPOINT_FILE = "off"
    assert checkpoints.path() is None


def test_request_seal_is_debounced_per_process(monkeypatch):
    """Outside immediate mode a commit queues a seal now, one trailing seal inside the window, and
    nothing more until the window ends."""
    calls, clock = [], [100.0]
    # Not HUEY.immediate itself: switching it off opens the real queue storage (var/huey.sqlite3), which a
    # fresh checkout does not have yet, and a failed switch would leave every later test's tasks queued.
    monkeypatch.setattr(tasks, "_inline", lambda: False)
    monkeypatch.setattr(tasks, "audit_seal_task", lambda not_before=None: calls.append(not_before))
    monkeypatch.setattr(tasks.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(tasks, "_window_end", 0.0)
    monkeypatch.setattr(tasks, "_trailing_queued", False)
    tasks.request_seal()
    clock[0] += tasks.DEBOUNCE_SECONDS / 4
    tasks.request_seal()
    tasks.request_seal()
    clock[0] += tasks.DEBOUNCE_SECONDS
    tasks.request_seal()
    assert len(calls) == 3
    assert calls[0] is None and calls[1] is not None and calls[2] is None


def test_the_viewer_and_the_api_show_sealed_and_unsealed(client, org, api_client):
    """The viewer marks each entry sealed or not and counts those awaiting the seal; the API says so too."""
    client.force_login(org.auditor)
    api = api_client.as_user(org.auditor)
    record(2, actor=org.rep)
    sealed = audit_seal()  # with the set-up's own entries (users created, logins)
    newest = record(1, actor=org.rep)[0]
    body = client.get(reverse("audit:list")).content.decode()
    assert body.count('data-sealed="1"') == min(sealed, 49) and body.count('data-sealed="0"') == 1
    assert 'data-testid="audit-unsealed"' in body
    items = api.get("/audit", {"limit": 3}).json()["items"]
    assert [(e["id"], e["sealed"], e["seq"]) for e in items][:2] == [(newest.pk, False, None), (items[1]["id"], True, sealed)]
    assert items[0]["hash"] is None and items[1]["hash"]


def test_request_seal_on_the_sqlite_queue_enqueues_once_while_a_seal_is_pending(monkeypatch, tmp_path):
    """On the SQLite queue the processes share a "seal pending" marker: the commit that creates it enqueues
    the seal, later commits find it and enqueue nothing, the seal removes it when it starts (so the next commit
    enqueues again), a stale marker (its task lost, no worker) is taken over, and a failed enqueue leaves no
    marker behind."""
    calls, marker = [], tmp_path / "huey.sqlite3.seal-pending"
    monkeypatch.setattr(tasks, "_inline", lambda: False)
    monkeypatch.setattr(tasks, "pending_marker", lambda: str(marker))
    monkeypatch.setattr(tasks, "audit_seal_task", lambda not_before=None: calls.append(not_before))
    tasks.request_seal()
    assert calls == [None] and marker.exists()
    for _ in range(5):
        tasks.request_seal()
    assert len(calls) == 1
    tasks._clear_pending()  # what the seal does first, before reading the entries
    assert not marker.exists()
    tasks.request_seal()
    tasks.request_seal()
    assert len(calls) == 2
    old = marker.stat().st_mtime - tasks.STALE_SECONDS - 1
    os.utime(marker, (old, old))
    tasks.request_seal()
    tasks.request_seal()
    assert len(calls) == 3

    def broken(not_before=None):
        raise OSError("queue unavailable")

    tasks._clear_pending()
    monkeypatch.setattr(tasks, "audit_seal_task", broken)
    with pytest.raises(OSError):
        tasks.request_seal()
    assert not marker.exists()


def test_the_seal_task_removes_the_marker_before_it_seals(monkeypatch, tmp_path, db):
    marker = tmp_path / "huey.sqlite3.seal-pending"
    marker.touch()
    monkeypatch.setattr(tasks, "pending_marker", lambda: str(marker))
    seen = []
    monkeypatch.setattr(tasks, "audit_seal", lambda: seen.append(marker.exists()) or 0)
    tasks.audit_seal_task.call_local()
    assert seen == [False]
    marker.touch()
    tasks.audit_seal_periodic.call_local()
    assert seen == [False, False]


def test_the_marker_is_used_only_for_a_queued_sqlite_huey():
    """Immediate mode (tests) seals inline; Redis keeps the per-process debounce."""
    assert tasks.pending_marker() is None  # HUEY.immediate in tests


def test_many_entries_by_copy_and_by_executemany_are_the_same_and_seal(monkeypatch):
    """audit_record_many writes a large batch with COPY on PostgreSQL and row by row otherwise: both give the
    same entries (actor, IP, changes with Chinese text and nesting, representation) and the chain verifies."""
    from kehu.access.context import current_ip
    from kehu.access.models import User
    from kehu.audit import services

    actor = User.objects.create_user(username="bulk_rep", password="x")
    objects = [User(id=10_000 + i, username=f"华星石化_{i}") for i in range(services.COPY_AFTER)]
    changes = [{"name": [None, f"浙江华星石化有限公司 {i}"], "tags": {"a": [1, 2.5, None]}} for i in range(len(objects))]
    token = current_ip.set("10.0.0.9")
    try:
        services.audit_record_many(actor=actor, action="customer.create", objects=objects, changes=changes)
        monkeypatch.setattr(services, "COPY_AFTER", 10 ** 9)  # the executemany path for the same batch
        services.audit_record_many(actor=actor, action="customer.create", objects=objects, changes=changes)
    finally:
        current_ip.reset(token)
    fields = ("actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr", "changes")
    rows = list(AuditEntry.objects.order_by("id").values_list(*fields))
    n = len(objects)
    assert len(rows) == 2 * n and rows[:n] == rows[n:]
    assert rows[3] == (actor.pk, "bulk_rep", "10.0.0.9", "customer.create", "access.user", "10003", "华星石化_3",
                       changes[3])
    assert audit_seal() == 2 * n
    assert audit_verify() == []
