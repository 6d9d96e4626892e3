"""Sealing the audit chain in the worker (`kehu worker`, Huey).

After each commit that appended entries, ``request_seal`` queues a seal, debounced per process: at
most one every ``DEBOUNCE_SECONDS``, and a commit inside that window queues one trailing seal that
waits for the window's end, so every commit is followed by a seal that starts after it. Seals are
safe to run side by side (the chain lock serialises them; each seals only what is still unsealed).
A periodic seal every minute catches whatever a stopped worker or a lost queue message left behind.
In tests (Huey's immediate mode) the seal runs inline right after the commit."""

from __future__ import annotations

import threading
import time

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from kehu.audit.services import audit_seal

DEBOUNCE_SECONDS = 0.2

_lock = threading.Lock()
_window_end = 0.0
_trailing_queued = False


@db_task()
def audit_seal_task(not_before: float | None = None):
    if not_before:
        time.sleep(min(max(0.0, not_before - time.time()), DEBOUNCE_SECONDS))
    return audit_seal()


@db_periodic_task(crontab(minute="*"))
def audit_seal_periodic():
    return audit_seal()


def _inline() -> bool:
    """Huey's immediate mode (tests): tasks run in the calling process."""
    return HUEY.immediate


def request_seal() -> None:
    """Ask the worker to seal what was just committed (see the module's docstring)."""
    global _window_end, _trailing_queued
    if _inline():
        audit_seal_task()
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
