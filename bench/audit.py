"""`python -m bench.audit [--db sqlite|postgres] [--threads 8] [--seconds 5]`: audit entries per second
written by concurrent writers (each entry in its own transaction, like a service call), before and
after sealing replaced write-time chaining, and the seal lag.

- ``before``: the former writer, reproduced here: take the chain lock (a PostgreSQL advisory lock;
  SQLite's write lock), read the previous entry's hash, hash and insert the entry, all in the writer's
  transaction, so every write of the company queues behind one lock.
- ``after``: ``kehu.audit.services.audit_record`` (a plain INSERT) while one thread plays the worker
  (flat out, then paced: each writer pausing ``--pause`` ms between entries):
  seal passes every 0.2 s (the worker's debounce), timing each entry's wait from its write to its seal
  (``seal_lag``: the worker's queue latency comes on top: near zero on Redis, ≤ 0.5 s idle poll on the
  SQLite queue). After the run everything is sealed and verified.

Runs on a scratch database of its own (var/bench/audit.sqlite3 or kehu_bench_audit) and prints one JSON
line per figure; merged into bench/results/latest.json unless --no-write."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from bench.run import FIELD_KEY, ROOT, SECRET, VAR, pg_recreate

PG_SCRATCH = "kehu_bench_audit"
SEAL_EVERY = 0.2
RESULTS = ROOT / "bench" / "results" / "latest.json"


def configure(db: str) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    if db == "sqlite":
        path = VAR / "audit.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        pg_recreate(PG_SCRATCH)
        url = f"postgres://postgres@127.0.0.1:5432/{PG_SCRATCH}"
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    checkpoint_file = VAR / f"audit-checkpoints-{db}.log"
    checkpoint_file.unlink(missing_ok=True)
    os.environ.update(KEHU_SECRET_KEY=SECRET, KEHU_FIELD_KEYS=FIELD_KEY, KEHU_DATABASE_URL=url,
                      DJANGO_SETTINGS_MODULE="kehu.settings", KEHU_VAR_DIR=str(ROOT / "var"),
                      KEHU_AUDIT_CHECKPOINT_FILE=str(checkpoint_file))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def legacy_record(i: int) -> None:
    """The write-time chaining this change replaced (same lock, read, hash and insert per entry)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.audit import chain
    from kehu.audit.models import AuditEntry
    from kehu.audit.services import _PG_LOCK_KEY, _canonical_time

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        last = AuditEntry.objects.order_by("-id").values_list("id", "seq", "hash").first()
        prev_id, seq, prev = last if last else (0, 0, chain.GENESIS)
        e = AuditEntry(id=prev_id + 1, at=timezone.now(), actor_name="system", action="bench.write",
                       object_type="bench", object_id=str(i), changes={"n": [None, i]}, seq=seq + 1, prev_hash=prev)
        e.hash = chain.entry_hash(prev, entry_id=e.id, at=_canonical_time(e.at), actor_id=None, actor_name="system",
                                  ip=None, action=e.action, object_type=e.object_type, object_id=e.object_id,
                                  object_repr="", changes=e.changes)
        e.save(force_insert=True)


def after_legacy() -> None:
    """The legacy writer chose ids itself: move PostgreSQL's id sequence past them (as the migration does)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT setval(pg_get_serial_sequence('audit_auditentry', 'id'),"
                        " COALESCE((SELECT MAX(id) FROM audit_auditentry), 0) + 1, false)")


def sealed_record(i: int) -> None:
    from django.db import transaction

    from kehu.audit.services import audit_record

    with transaction.atomic():
        audit_record(actor=None, action="bench.write", object_type="bench", object_id=str(i), changes={"n": [None, i]})


def run_writers(write, threads: int, seconds: float, pause: float = 0.0) -> tuple[int, float, list]:
    from django.db import connection

    counts, errors, start = [0] * threads, [], threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(k):
        try:
            start.wait()
            i = 0
            while not stop.is_set():
                write(k * 10_000_000 + i)
                i += 1
                if pause:
                    time.sleep(pause)
            counts[k] = i
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            errors.append(repr(exc))
        finally:
            connection.close()

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    return sum(counts), time.perf_counter() - t0, errors


def sealer(stop: threading.Event, lags: list, errors: list) -> None:
    """The worker's part: a seal pass every SEAL_EVERY s; each sealed entry's lag = seal commit − its write."""
    from django.db import connection
    from django.utils import timezone

    from kehu.audit.models import AuditEntry
    from kehu.audit.services import audit_seal

    try:
        while True:
            last = stop.is_set()
            head = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", flat=True).first()
            if audit_seal(checkpoint=False):
                now = timezone.now()
                lags.extend((now - at).total_seconds() for at in AuditEntry.objects.filter(
                    seq__gt=head or 0).values_list("at", flat=True))
            if last:
                break
            time.sleep(SEAL_EVERY)
    except Exception as exc:  # noqa: BLE001 - reported by the caller
        errors.append(repr(exc))
    finally:
        connection.close()


def emit(results: list, row: dict) -> None:
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pause", type=float, default=20.0,
                        help="ms each writer waits between entries in the paced run (an ordinary busy day)")
    parser.add_argument("--backlog", type=int, default=20000, help="entries in the seal-a-backlog run")
    parser.add_argument("--no-write", action="store_true", help="print only, leave latest.json alone")
    opts = parser.parse_args(argv)
    configure(opts.db)
    from kehu.audit import services
    from kehu.audit.models import AuditEntry
    from kehu.audit.services import audit_seal, audit_status

    services._seal_after_commit = lambda: None  # the sealer thread below plays the worker
    results: list = []
    suffix = "" if opts.db == "sqlite" else "_pg"

    n, secs, errors = run_writers(legacy_record, opts.threads, opts.seconds)
    emit(results, {"name": f"audit_write_before{suffix}", "db": opts.db, "threads": opts.threads,
                   "rate_per_s": round(n / secs), "entries": n, "errors": errors[:3]})

    after_legacy()
    for label, pause in (("", 0.0), ("_paced", opts.pause / 1000)):
        lags, seal_errors, stop = [], [], threading.Event()
        t = threading.Thread(target=sealer, args=(stop, lags, seal_errors))
        t.start()
        n, secs, errors = run_writers(sealed_record, opts.threads, opts.seconds, pause)
        stop.set()
        t.join()
        lags.sort()
        if not pause:
            emit(results, {"name": f"audit_write_after{suffix}", "db": opts.db, "threads": opts.threads,
                           "rate_per_s": round(n / secs), "entries": n, "errors": (errors + seal_errors)[:3]})
        emit(results, {"name": f"audit_seal_lag{label}{suffix}", "db": opts.db, "threads": opts.threads,
                       "writes_per_s": round(n / secs), "pause_ms": pause * 1000, "entries": len(lags),
                       "p50_ms": round(1000 * statistics.median(lags), 1) if lags else None,
                       "p95_ms": round(1000 * lags[int(0.95 * (len(lags) - 1))], 1) if lags else None,
                       "max_ms": round(1000 * lags[-1], 1) if lags else None,
                       "target": "<= 1000 ms", "met": bool(lags) and lags[-1] <= 1.0,
                       "errors": (errors + seal_errors)[:3]})
    audit_seal(checkpoint=True)
    # A backlog, as a bulk import leaves it: how fast does one sealer catch up?
    from django.db import transaction

    from kehu.audit.services import audit_record_many

    class Obj:
        class _meta:  # noqa: N801 - what audit_record_many reads of a model instance
            label_lower = "bench.row"

        def __init__(self, pk):
            self.pk = pk

        def __str__(self):
            return f"row {self.pk}"

    with transaction.atomic():
        audit_record_many(actor=None, action="bench.import", objects=[Obj(i) for i in range(opts.backlog)])
    t0 = time.perf_counter()
    n = audit_seal(checkpoint=False)
    emit(results, {"name": f"audit_seal_backlog{suffix}", "db": opts.db, "entries": n,
                   "rate_per_s": round(n / (time.perf_counter() - t0))})
    status = audit_status()
    emit(results, {"name": f"audit_verify{suffix}", "db": opts.db, "entries": AuditEntry.objects.count(),
                   "sealed": status.sealed, "unsealed": status.unsealed, "problems": status.problems[:3],
                   "checkpoints": status.checkpoints, "met": status.intact and not status.unsealed})
    if not opts.no_write:
        from bench.run import merge_results as merge

        merge(results, RESULTS)
    return results


if __name__ == "__main__":
    sys.exit(0 if all(r.get("met", True) for r in main()) else 1)
