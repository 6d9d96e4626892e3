"""`kehu worker` for real: the Huey consumer in its own process, on a SQLite queue, against a
migrated SQLite database of its own — the SLA sweep it runs marks a breached complaint, escalates it
once (even with two workers on the same queue) and mails the accountable agent through the queue.

Everything runs in subprocesses with production-like settings (KEHU_TESTING unset, so tasks are
queued rather than run inline); the test reads the database with plain sqlite3."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(bool(os.environ.get("KEHU_TEST_DATABASE_URL")),
                       reason="the real-worker test runs on SQLite files of its own (database and queue)"),
]

KEHU_SCRIPT = Path(sys.executable).with_name("kehu")
KEHU = [str(KEHU_SCRIPT)] if KEHU_SCRIPT.exists() else [sys.executable, "-m", "kehu"]
POLL_SECONDS = 30

# Records a complaint and enqueues one or more SLA sweeps. "just_due": its deadline passed a minute
# ago, so the sweep marks it breached at escalation level 1 (level 2 is one working day later);
# "long_overdue": received 30 days ago, so one sweep takes it through levels 1 and 2.
RECORD_AND_ENQUEUE = """
import datetime as dt, sys
import django
django.setup()
from django.utils import timezone
from kehu.access.models import User
from kehu.access.services import user_create
from kehu.service_desk.models import Complaint
from kehu.service_desk.services import complaint_record
from kehu.service_desk.tasks import sla_sweep

mode, sweeps = sys.argv[1], int(sys.argv[2])
agent = User.objects.filter(username="agent").first() or user_create(
    actor=None, username="agent", password="Kehu#Test2026", role="service_agent",
    department_path="总部/客服部", display_name="周敏", email="agent@example.com")
received = timezone.now() - dt.timedelta(days=30 if mode == "long_overdue" else 0)
c = complaint_record(actor=agent, data={"complainant_name": "王先生", "subject": "发票开错 " + mode,
                                        "description": "增值税发票抬头错误", "channel": "phone",
                                        "received_at": received})
if mode == "just_due":
    Complaint.objects.filter(pk=c.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
for _ in range(sweeps):
    sla_sweep()  # not immediate: this only puts the task on the SQLite queue
print(c.pk)
"""


@pytest.fixture
def site(tmp_path):
    """A migrated SQLite database and a queue directory, and the environment that points at them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEHU_", "DJANGO_"))}
    env.update(KEHU_DEBUG="1", KEHU_DATABASE_URL=f"sqlite:///{tmp_path / 'kehu.sqlite3'}",
               KEHU_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="kehu.settings",
               KEHU_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    (tmp_path / "var").mkdir()
    subprocess.run([*KEHU, "migrate", "-v0"], env=env, check=True, timeout=120, capture_output=True)

    class Site:
        pass

    s = Site()
    s.env, s.dir, s.db, s.queue = env, tmp_path, tmp_path / "kehu.sqlite3", tmp_path / "var" / "huey.sqlite3"
    s.procs = []

    def worker(name: str) -> subprocess.Popen:
        out = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process below
        proc = subprocess.Popen([*KEHU, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
        proc.log, proc.log_file = tmp_path / f"{name}.log", out
        s.procs.append(proc)
        return proc

    def record(mode: str, sweeps: int = 1) -> int:
        done = subprocess.run([sys.executable, "-c", RECORD_AND_ENQUEUE, mode, str(sweeps)], env=env,
                              check=True, timeout=60, capture_output=True, text=True, cwd=tmp_path)
        return int(done.stdout.split()[-1])

    def query(sql: str, *params, path: Path | None = None):
        with sqlite3.connect(path or s.db, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def logs() -> str:
        return "\n".join(f"--- {p.log.name}\n{p.log.read_text(errors='replace')[-3000:]}" for p in s.procs)

    s.worker, s.record, s.query, s.logs = worker, record, query, logs
    try:
        yield s
    finally:  # never leave a consumer behind, whatever happened
        for proc in s.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            proc.log_file.close()


def _wait_for(condition, what: str, site) -> None:
    deadline = time.monotonic() + POLL_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if any(p.poll() is not None for p in site.procs if not getattr(p, "stopped", False)):
            pytest.fail(f"a worker exited while waiting for {what}\n{site.logs()}")
        time.sleep(0.25)
    pytest.fail(f"timed out after {POLL_SECONDS}s waiting for {what}\n{site.logs()}")


def _state(site, pk: int) -> tuple:
    [(breached_at, level)] = site.query(
        "SELECT breached_at, escalation_level FROM service_desk_complaint WHERE id = ?", pk)
    return breached_at, level


def _events(site, pk: int) -> list[str]:
    return sorted(a for (a,) in site.query(
        "SELECT action FROM service_desk_complaintevent WHERE complaint_id = ? AND action LIKE 'escalated_%'", pk))


def _stop(proc) -> None:
    proc.stopped = True
    proc.terminate()
    proc.wait(timeout=15)
    assert proc.returncode == 0, f"the worker exited with {proc.returncode}"


def test_the_worker_sweeps_escalates_and_mails_then_several_workers_escalate_once(site):
    # One worker: the queued sweep marks the breach at level 1, notifies in-app, and the mail to the
    # accountable agent goes through the queue too (the console backend prints it in debug).
    worker = site.worker("worker")
    first = site.record("just_due")
    _wait_for(lambda: _state(site, first)[0] is not None and _state(site, first)[1] == 1, "the breach", site)
    _wait_for(lambda: "To: agent@example.com" in worker.log.read_text(errors="replace"), "the e-mail", site)
    assert _events(site, first) == ["escalated_1"]
    [(notes,)] = site.query("SELECT count(*) FROM notifications_notification n JOIN access_user u "
                            "ON u.id = n.user_id WHERE u.username = 'agent'")
    assert notes == 1
    _stop(worker)

    # Two workers on the same queue, several sweeps queued at once: each level is reached exactly once.
    workers = [site.worker("worker-a"), site.worker("worker-b")]
    second = site.record("long_overdue", sweeps=4)

    def swept() -> bool:
        [(queued,)] = site.query("SELECT count(*) FROM task", path=site.queue)
        return _state(site, second)[1] == 2 and queued == 0

    _wait_for(swept, "the second complaint's escalation and an empty queue", site)
    time.sleep(1)  # let a sweep that was dequeued last finish (it finds nothing left to do)
    for proc in workers:
        _stop(proc)
    assert _events(site, second) == ["escalated_1", "escalated_2"]
    assert _events(site, first) == ["escalated_1"]  # not re-escalated by the later sweeps
    assert _state(site, first)[1] == 1
