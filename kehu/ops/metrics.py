"""Prometheus metrics: request latency by route, queue depth, audit seal backlog, job durations.

Under `kehu serve` (several gunicorn worker processes) prometheus-client runs in multiprocess mode:
each process writes its samples to files under PROMETHEUS_MULTIPROC_DIR and /metrics sums them. In a
single process (runserver, tests) the default registry is used."""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

# Latency buckets around the targets (15 ms list pages, 30 ms search, 100 ms mixed p95).
BUCKETS = (0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

class _Instruments:
    def __init__(self):
        self.request_latency = Histogram("kehu_request_seconds", "Time to answer a request, by route and method.",
                                         ["route", "method"], buckets=BUCKETS)
        self.responses = Counter("kehu_responses_total", "Responses by route, method and status class.",
                                 ["route", "method", "status"])
        self.job_seconds = Histogram("kehu_job_seconds", "Duration of background jobs (sweeps, imports, regrading).",
                                     ["job"], buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800))
        self.job_rows = Counter("kehu_job_rows_total", "Rows processed by background jobs (imports, regrading).",
                                ["job"])


_instruments: _Instruments | None = None


def instruments() -> _Instruments:
    """The metrics, made on first use: prometheus-client picks multiprocess storage when a metric is
    made, and `kehu serve` only sets PROMETHEUS_MULTIPROC_DIR after Django (and this module) loaded."""
    global _instruments
    if _instruments is None:
        _instruments = _Instruments()
    return _instruments


_started: dict[str, float] = {}


def task_signal(signal, task, exc=None):
    """Huey signal handler: time every background task (sweeps, imports, regrading, seals) by name."""
    from huey.signals import SIGNAL_EXECUTING

    if signal == SIGNAL_EXECUTING:
        _started[task.id] = time.perf_counter()
        return
    start = _started.pop(task.id, None)
    if start is not None:
        instruments().job_seconds.labels(job=task.name).observe(time.perf_counter() - start)


class StateCollector:
    """Gauges read at scrape time: the queue depth and the audit entries waiting for their seal."""

    def collect(self):
        from django.db import connection

        queue = GaugeMetricFamily("kehu_queue_depth", "Background tasks waiting in the queue.")
        try:
            from huey.contrib.djhuey import HUEY

            queue.add_metric([], HUEY.pending_count())
        except Exception:  # noqa: BLE001 — a scrape must answer even when the queue is down
            queue.add_metric([], float("nan"))
        yield queue
        unsealed = GaugeMetricFamily("kehu_audit_unsealed", "Audit entries not yet sealed into the hash chain.")
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM audit_auditentry WHERE seq IS NULL")
                unsealed.add_metric([], cur.fetchone()[0])
        except Exception:  # noqa: BLE001
            unsealed.add_metric([], float("nan"))
        yield unsealed


def render() -> bytes:
    """The exposition text: every process's samples under gunicorn, this process's otherwise."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
        if not getattr(render, "_state_registered", False):
            REGISTRY.register(StateCollector())
            render._state_registered = True
        return generate_latest(registry)
    registry.register(StateCollector())
    return generate_latest(registry)
