"""Sealing the audit chain in the worker (`kehu worker`, Huey).

After each commit that appended entries, ``request_seal`` queues a seal, debounced per process: at
most one every ``DEBOUNCE_SECONDS``, and a commit inside that window queues one trailing seal that
waits for the window's end, so every commit is followed by a seal that starts after it. Seals are
safe to run side by side (the chain lock serialises them; each seals only what is still unsealed).
A periodic seal every minute catches whatever a stopped worker or a lost queue message left behind.
In tests (Huey's immediate mode) the seal runs inline right after the commit.

On the SQLite queue (no ``KEHU_REDIS_URL``) an enqueue is an fsync'd SQLite commit (3.5–6.5 ms in the
request), so the processes share one "seal pending" marker instead: a file beside the queue, created
(``O_CREAT | O_EXCL``: one winner) by the writer that enqueues a seal and removed by that seal when it
starts, before it reads anything. A commit that finds the marker is covered — the marker existed after the
commit, so the seal that removes it starts after the commit — and enqueues nothing: one failed ``open``.
At most one seal is pending for all processes; the consumer's polling makes that a few enqueues a second
under any load. A marker older than ``STALE_SECONDS`` (its task lost, or no worker running) is taken over
by the next commit, which enqueues again; the periodic seal removes it too. A SQLite queue is a local file,
so its marker is seen by every process that shares the queue."""

from __future__ import annotations

import errno
import os
import threading
import time

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.storage import SqliteStorage

from kehu.audit.services import audit_seal

DEBOUNCE_SECONDS = 0.2
STALE_SECONDS = 10.0

_lock = threading.Lock()
_window_end = 0.0
_trailing_queued = False


@db_task()
def audit_seal_task(not_before: float | None = None):
    if not_before:
        time.sleep(min(max(0.0, not_before - time.time()), DEBOUNCE_SECONDS))
    _clear_pending()  # before reading: a commit that still sees the marker is sealed by this run
    return audit_seal()


@db_periodic_task(crontab(minute="*"))
def audit_seal_periodic():
    _clear_pending()
    return audit_seal()


def _inline() -> bool:
    """Huey's immediate mode (tests): tasks run in the calling process."""
    return HUEY.immediate


def pending_marker() -> str | None:
    """The shared "seal pending" file of a SQLite queue (None: Redis, or immediate mode — per-process debounce)."""
    if HUEY.immediate or not isinstance(HUEY.storage, SqliteStorage):
        return None
    return f"{HUEY.storage.filename}.seal-pending"


def _clear_pending() -> None:
    marker = pending_marker()
    if marker:
        try:
            os.unlink(marker)
        except FileNotFoundError:
            pass


def _take_pending(marker: str) -> bool:
    """True if this commit must enqueue the seal: it created the marker, or took over a stale one."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        return True
    except FileExistsError:
        pass
    except OSError as exc:  # the queue's directory is not writable for us: enqueue, as without a marker
        return exc.errno != errno.EEXIST
    try:
        if time.time() - os.stat(marker).st_mtime < STALE_SECONDS:
            return False  # a pending seal starts after this commit
        os.utime(marker)  # stale: taken over (the next commits see a fresh marker again)
    except FileNotFoundError:  # removed since the open: by a seal that starts after this commit
        return False
    except OSError:
        return True
    return True


def request_seal() -> None:
    """Ask the worker to seal what was just committed (see the module's docstring)."""
    global _window_end, _trailing_queued
    if _inline():
        audit_seal_task()
        return
    marker = pending_marker()
    if marker is not None:
        if _take_pending(marker):
            try:
                audit_seal_task()
            except Exception:
                _clear_pending()  # not queued: the next commit tries again
                raise
        return
    now = time.monotonic()
    with _lock:
        if now >= _window_end:
            _window_end, _trailing_queued, wait = now + DEBOUNCE_SECONDS, False, None
        elif not _trailing_queued:
            _trailing_queued, wait = True, _window_end - now
        else:
            return
    audit_seal_task(not_before=time.time() + wait if wait is not None else None)
