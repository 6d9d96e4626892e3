"""Reports, exports and analytics read from a streaming replica when one is configured
(KEHU_REPLICA_DATABASE_URL); everything else, and every write, stays on the primary.

Reads go to the replica only inside `reporting_reads()` (the views listed in KEHU_REPLICA_VIEWS get it
from ReplicaReadsMiddleware), only outside a transaction on the primary (read-your-own-writes), and only
while the replica answers and is caught up within KEHU_REPLICA_MAX_LAG_SECONDS. Its state is checked at
most every few seconds per process; when it is down or behind, reads fall back to the primary."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

logger = logging.getLogger("kehu.replica")
REPLICA = "replica"
_reporting: ContextVar[bool] = ContextVar("kehu_reporting_reads", default=False)
_state_lock = threading.Lock()
_state = {"checked": 0.0, "usable": False}


@contextmanager
def reporting_reads():
    """Within this block, reads may be served by the replica."""
    token = _reporting.set(True)
    try:
        yield
    finally:
        _reporting.reset(token)


def configured() -> bool:
    return REPLICA in settings.DATABASES


def _probe() -> bool:
    """The replica answers, is in recovery (a replica, not a promoted copy) and is caught up enough."""
    try:
        conn = connections[REPLICA]
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_is_in_recovery(), "
                "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")
            in_recovery, lag = cur.fetchone()
    except Exception as exc:  # noqa: BLE001 — any failure means: read from the primary
        logger.warning("replica unavailable, reading from the primary: %s", type(exc).__name__)
        try:
            connections[REPLICA].close()
        except Exception:  # noqa: BLE001
            pass
        return False
    max_lag = getattr(settings, "KEHU_REPLICA_MAX_LAG_SECONDS", 30)
    if not in_recovery or float(lag) > max_lag:
        logger.warning("replica not used: in_recovery=%s lag=%.1fs", in_recovery, float(lag))
        return False
    return True


def replica_usable() -> bool:
    """The cached answer of _probe, refreshed every KEHU_REPLICA_CHECK_SECONDS."""
    if not configured():
        return False
    interval = getattr(settings, "KEHU_REPLICA_CHECK_SECONDS", 5)
    now = time.monotonic()
    with _state_lock:
        if now - _state["checked"] < interval:
            return _state["usable"]
        _state["checked"] = now  # one probe at a time; others use the previous answer meanwhile
    usable = _probe()
    with _state_lock:
        _state["usable"] = usable
    return usable


def forget_state() -> None:
    """Probe again on the next read (tests, and after an operator restarts the replica)."""
    with _state_lock:
        _state["checked"] = 0.0


class ReplicaRouter:
    """Route reporting reads to the replica; all writes, migrations and other reads to the primary."""

    def db_for_read(self, model, **hints):
        if not _reporting.get() or connections["default"].in_atomic_block:
            return "default"
        return REPLICA if replica_usable() else "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the same database

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    """GET requests to the views named in KEHU_REPLICA_VIEWS (reports, exports) read from the replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "GET" or not configured():
            return None
        match = request.resolver_match
        if match is None or match.view_name not in set(getattr(settings, "KEHU_REPLICA_VIEWS", ())):
            return None
        with reporting_reads():
            return view_func(request, *view_args, **view_kwargs)
