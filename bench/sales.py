"""`python -m bench.sales [--customers 1000000] [--db sqlite|postgres] [--clients 8] [--seconds 20] [--reuse]`:
registration (客户登记/报备) throughput and the public-pool (公海) sweep, each beside the raw SQL of the same
operation. Tools: ``--statements`` (the SQL of one registration), ``--profile N`` (cProfile N registrations,
with client and server CPU each), ``--explain`` (the plans of the sweep's statements), ``--only``.

Dataset (var/bench/sales-<customers>.sqlite3, or the PostgreSQL database $KEHU_BENCH_PG_DB, default
kehu_bench_ownership; never in git): migrated; 100 account managers in 10 departments (bulk rows, unusable
passwords); one template customer cloned set-based in SQL to <customers> customers spread over the reps, created
90 days ago except the newest 10 % (created today: the registration benchmark registers those). Of the older
ones: 1 % are prospects whose registration lapsed yesterday (→ lapse), 2 % prospects with no registration and no
follow-up (→ idle, the 30-day rule), 10 % prospects with a valid registration, 10 % prospects followed up this
week, and the rest signed customers (stage "customer": the idle rule leaves them with their owner). The sweep
reads every prospect and moves 2.7 % of the customers, a heavy day (a daily sweep moves what lapsed since
yesterday). ``--reuse`` keeps the dataset (and its meta file beside it), migrates it again, registers only
customers nobody registered yet, and measures the sweep rolled back (after running the deferred foreign-key
checks a commit would run) so that the next run finds the same lapses.

Measures (one JSON line each, merged into bench/results/latest.json by name and db):

* registration_rate: <clients> forked processes (as gunicorn workers: one interpreter and one connection
  each; threads of one process would measure the GIL) call the service ``registration_create`` (not HTTP:
  permission, the look-up, the register row and the conditional claim INSERT … ON CONFLICT, the owner move with
  its history row, the previous owner's notification, the audit entry) on distinct customers owned by another
  rep for <seconds>; target ≥ 500/s on PostgreSQL. On PostgreSQL these registrations take the one-call path
  (``ownership_register``, migration ownership/0003; the Python path decides every other case). No Huey worker
  runs: on the SQLite queue the audit seal's shared "pending" marker then stays, and a registration enqueues
  nothing (one seal per 10 s when the marker goes stale; kehu/audit/tasks.py). Also the CPU per registration: the clients' process time
  and (PostgreSQL) the CPU of their server backends, read from /proc (the server runs on this machine) — a
  figure the machine's load does not change much. Raw: threads of one process run the statements that decide
  and record a registration — claim INSERT … ON CONFLICT DO NOTHING RETURNING, register INSERT, customer
  UPDATE, history INSERT, audit INSERT, notification INSERT — through the bare driver, one transaction each,
  with the same CPU accounting.
* pool_sweep: ``pool_sweep`` (lapse + idle + referrals + disputes, set-based, one transaction) over all the
  customers; target ≤ 10 s. Raw: two UPDATEs of customers_customer moving the same customers (the lapsed
  registrations, then the idle prospects) to the pool — without the PoolMove records and claim ends the service
  also writes — in a rolled-back transaction, run before and after the service (the faster run is reported),
  with the rows of each part beside the service's lapsed / idle counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import threading
import time
from pathlib import Path

from bench.clone import clone_customers
from bench.run import FIELD_KEY, ROOT, SECRET, VAR
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PG_NAME = os.environ.get("KEHU_BENCH_PG_DB") or os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_ownership")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
REPS = 100


def configure(url: str) -> None:
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    os.environ.update(
        KEHU_SECRET_KEY=SECRET,
        KEHU_FIELD_KEYS=FIELD_KEY,
        KEHU_DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="kehu.settings",
        KEHU_VAR_DIR=str(ROOT / "var"),
        KEHU_NOTIFY_CHANNELS="inapp",
        KEHU_POOL_MAX_HELD="100000000",
    )


def wipe(db: str, url: str) -> None:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')


def _db(value):
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(value)


def build(db: str, customers: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.access.models import User
    from kehu.access.services import department_ensure_path
    from kehu.customers.models import Customer
    from kehu.sales.ownership.services import pool_owner

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    User.objects.create(username="bench_admin", role="admin", department=hq, password=make_password(None))
    depts = [department_ensure_path(actor=None, path=f"总部/销售部/区域{d:02d}") for d in range(10)]
    User.objects.bulk_create(
        [
            User(
                username=f"bench_rep{i:04d}",
                display_name=f"客户经理{i:04d}",
                role="account_manager",
                department=depts[i % 10],
                password="!",
            )
            for i in range(REPS)
        ],
        batch_size=1000,
    )
    pool_owner()
    rep_ids = list(
        User.objects.filter(role="account_manager", is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    old = now - dt.timedelta(days=90)
    template = Customer.objects.create(
        name="浙江华星石化有限公司",
        kind="organization",
        industry="石化",
        province="浙江省",
        city="杭州市",
        stage="prospect",
        owner_id=rep_ids[0],
        department=depts[0],
    )
    first = rep_ids[0]
    fresh_from = int(customers * 0.9)
    overrides = {
        "name": "t.name || '·' || CAST(s.n AS TEXT)",
        "owner_id": f"{first} + (s.n %% {REPS})",
        "department_id": f"(SELECT department_id FROM access_user u WHERE u.id = {first} + (s.n %% {REPS}))",
        "created_at": f"CASE WHEN s.n >= {fresh_from} THEN %s ELSE %s END",
        "stage": f"CASE WHEN s.n >= {fresh_from} OR s.n %% 10 IN (2, 3) OR s.n %% 100 IN (1, 4, 5)"
        " THEN 'prospect' ELSE 'customer' END",
        "updated_at": "%s",
    }
    created_params = [_db(now), _db(old)]
    with transaction.atomic(), connection.cursor() as cur:
        clone_customers(cur, db, customers - 1, first=template.pk, overrides=overrides,
                        params=created_params + [_db(old)])
        cur.execute("UPDATE customers_customer SET created_at = %s WHERE id = %s", [_db(old), template.pk])
        lo = template.pk
        # 10 % lapsed yesterday, 10 % valid for another two weeks (claims held by the owner)
        cur.execute(
            "INSERT INTO ownership_claim (customer_id, rep_id, registration_id, started_at, valid_until,"
            " renewed_at, ended_at, end_reason) SELECT id, owner_id, NULL, %s, %s, NULL, NULL, ''"
            f" FROM customers_customer WHERE (id - {lo}) %% 100 = 1 AND id < {lo + fresh_from}",
            [_db(now - dt.timedelta(days=31)), _db(now - dt.timedelta(days=1))],
        )
        cur.execute(
            "INSERT INTO ownership_claim (customer_id, rep_id, registration_id, started_at, valid_until,"
            " renewed_at, ended_at, end_reason) SELECT id, owner_id, NULL, %s, %s, NULL, NULL, ''"
            f" FROM customers_customer WHERE (id - {lo}) %% 10 = 2 AND id < {lo + fresh_from}",
            [_db(now - dt.timedelta(days=14)), _db(now + dt.timedelta(days=14))],
        )
        # 20 % followed up this week
        cur.execute(
            "INSERT INTO engagement_interaction (customer_id, channel, direction, occurred_at, summary, outcome,"
            " next_step, owner_id, recorded_by_id, created_at, updated_at) SELECT id, 'phone', 'outbound', %s,"
            f" '电话回访', '', '', owner_id, owner_id, %s, %s FROM customers_customer WHERE (id - {lo}) %% 10 = 3 AND id < {lo + fresh_from}",
            [_db(now - dt.timedelta(days=3))] * 3,
        )
        cur.execute("ANALYZE")
    return {
        "customers": Customer.objects.count(),
        "fresh_from_id": template.pk + fresh_from,
        "build_seconds": round(time.perf_counter() - t0, 1),
    }


def _targets(fresh_from_id: int, clients: int) -> list[list[tuple[int, int]]]:
    """Per client: (rep id, customer id) pairs of fresh customers owned by another rep and not registered yet
    (so a reused dataset still has targets: earlier runs registered some)."""
    from kehu.access.models import User
    from kehu.customers.models import Customer
    from kehu.sales.ownership.models import Claim

    reps = list(
        User.objects.filter(role="account_manager", is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    live = Claim.objects.filter(customer_id__gte=fresh_from_id, ended_at__isnull=True).values_list(
        "customer_id", flat=True
    )
    taken = set(live)
    rows = [
        (cid, owner)
        for cid, owner in Customer.objects.filter(pk__gte=fresh_from_id, owner_id__in=reps)
        .order_by("pk")
        .values_list("pk", "owner_id")
        if cid not in taken
    ]
    index = {rep: i for i, rep in enumerate(reps)}
    lanes: list[list[tuple[int, int]]] = [[] for _ in range(clients)]
    for i, (cid, owner) in enumerate(rows):
        rep = reps[(index[owner] + 1 + i % 7) % len(reps)]
        lanes[i % clients].append((rep, cid))
    return lanes


_BACKEND_PID: dict = {}


def server_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (its /proc entry: the server runs on this
    machine); 0 on SQLite (the database runs in the client's process and is in its process time)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    key = id(connection.connection) if connection.connection is not None else None
    if key is None or key not in _BACKEND_PID:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            _BACKEND_PID.clear()
            _BACKEND_PID[id(connection.connection)] = cur.fetchone()[0]
        key = id(connection.connection)
    return proc_cpu(_BACKEND_PID[key])


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_threads(clients: int, seconds: float, work) -> tuple[int, int, float]:
    done, errors = [0] * clients, [0] * clients
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def lane(i):
        from django.db import connection

        try:
            start.wait()
            work(i, stop, done, errors)
        finally:
            connection.close()

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(done), sum(errors), time.perf_counter() - t0


def _run_processes(clients: int, seconds: float, work) -> dict:
    """``clients`` forked processes (one Python interpreter and one connection each, as gunicorn workers
    would be), each calling work(i, stop) -> (done, errors) until ``stop`` is set. Also returns the CPU
    seconds the clients' processes and (PostgreSQL) their server backends used meanwhile."""
    import multiprocessing as mp

    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    done, errors = ctx.Array("i", clients), ctx.Array("i", clients)
    cpu, server = ctx.Array("d", clients), ctx.Array("d", clients)
    start, stop = ctx.Barrier(clients + 1), ctx.Event()

    def lane(i):
        s0 = server_cpu()  # opens the connection before the start
        start.wait()
        c0 = time.process_time()
        d, e = work(i, stop)
        cpu[i], server[i] = time.process_time() - c0, server_cpu() - s0
        done[i], errors[i] = d, e
        connections.close_all()

    procs = [ctx.Process(target=lane, args=(i,)) for i in range(clients)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for p in procs:
        p.join()
    return {
        "done": sum(done),
        "errors": sum(errors),
        "seconds": time.perf_counter() - t0,
        "client_cpu": sum(cpu),
        "server_cpu": sum(server),
    }


def measure_registration(lanes, clients: int, seconds: float) -> dict:
    from kehu.access.models import User
    from kehu.sales.ownership import services

    users = {u.pk: u for u in User.objects.filter(role="account_manager")}

    def work(i, stop):
        done = errors = 0
        for rep, cid in lanes[i]:
            if stop.is_set():
                break
            try:
                services.registration_create(actor=users[rep], customer_id=cid, channel="call")
                done += 1
            except Exception as exc:  # noqa: BLE001 - counted
                errors += 1
                if errors <= 3:
                    print(f"registration error: {exc!r}", file=sys.stderr, flush=True)
        return done, errors

    return _run_processes(clients, seconds, work)


def measure_registration_raw(db: str, url: str, lanes, clients: int, seconds: float) -> dict:
    """The deciding and recording statements of a registration, bare driver, one transaction each: the claim
    INSERT … ON CONFLICT DO NOTHING RETURNING, the register row, the owner move, its history row, the audit entry
    and the previous owner's notification. Threads of one process (the driver releases the GIL while waiting);
    also returns this process's CPU and (PostgreSQL) the CPU of the server backends of its connections."""
    import sqlite3

    from django.utils import timezone

    cursor = [0] * clients
    backend = [0.0] * clients
    stamp = timezone.now().astimezone(dt.UTC).replace(tzinfo=None)

    def connect():
        if db == "sqlite":
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg

        return psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True)

    mark = "?" if db == "sqlite" else "%s"

    def q(sql: str) -> str:
        return sql.replace("%s", mark)

    def work(i, stop, done, errors):
        conn = connect()
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0] if db == "postgres" else None
        s0 = proc_cpu(pid) if pid else 0.0
        try:
            lane = lanes[i]
            while not stop.is_set() and cursor[i] < len(lane):
                rep, cid = lane[cursor[i]]
                cursor[i] += 1
                until = stamp + dt.timedelta(days=30)
                conn.execute("BEGIN IMMEDIATE" if db == "sqlite" else "BEGIN")
                row = conn.execute(
                    q(
                        "INSERT INTO ownership_claim (customer_id, rep_id, registration_id, started_at, valid_until,"
                        " renewed_at, ended_at, end_reason) VALUES (%s, %s, NULL, %s, %s, NULL, NULL, '')"
                        " ON CONFLICT (customer_id) WHERE ended_at IS NULL DO NOTHING RETURNING id"
                    ),
                    (cid, rep, stamp, until),
                ).fetchone()
                if row is None:
                    conn.execute("ROLLBACK")
                    errors[i] += 1
                    continue
                conn.execute(
                    q(
                        "INSERT INTO ownership_registration (customer_id, rep_id, department_id, channel, registered_at,"
                        " valid_until, referral_id, corrects_id, note, created_by_id, created_at)"
                        " VALUES (%s, %s, NULL, 'call', %s, %s, NULL, NULL, '', %s, %s)"
                    ),
                    (cid, rep, stamp, until, rep, stamp),
                )
                conn.execute(
                    q(
                        "UPDATE customers_customer SET owner_id = %s, updated_at = %s, version = version + 1"
                        " WHERE id = %s"
                    ),
                    (rep, stamp, cid),
                )
                conn.execute(
                    q(
                        "INSERT INTO customers_changerecord (customer_id, at, actor_id, actor_name, object_type,"
                        " object_id, action, changes) VALUES (%s, %s, %s, 'r', 'customer', %s, 'update', '{}')"
                    ),
                    (cid, stamp, rep, cid),
                )
                conn.execute(
                    q(
                        "INSERT INTO audit_auditentry (at, actor_id, actor_name, ip, action, object_type,"
                        " object_id, object_repr, changes) VALUES (%s, %s, 'r', NULL, 'registration.create',"
                        " 'ownership.registration', %s, '', '{}')"
                    ),
                    (stamp, rep, str(cid)),
                )
                conn.execute(
                    q(
                        "INSERT INTO notifications_notification (user_id, title, body, link, created_at, read_at)"
                        " VALUES (%s, 'r', '', '', %s, NULL)"
                    ),
                    (rep, stamp),
                )
                conn.execute("COMMIT")
                done[i] += 1
        finally:
            backend[i] = proc_cpu(pid) - s0 if pid else 0.0
            conn.close()

    c0 = time.process_time()
    n, errs, elapsed = _run_threads(clients, seconds, work)
    return {
        "done": n,
        "errors": errs,
        "seconds": elapsed,
        "client_cpu": time.process_time() - c0,
        "server_cpu": sum(backend),
    }


class _Rollback(Exception):
    pass


def _check_deferred() -> None:
    """Run the deferred foreign-key checks a commit would run (PostgreSQL), so that a rolled-back measurement
    still pays for them. SQLite counts deferred violations as it goes: nothing is left for the commit."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")


def measure_sweep_raw() -> dict:
    """The same customers moved to the pool by two bare UPDATEs — the lapsed registrations (live claim past its
    validity, held by the owner), then the idle prospects (no live claim, no follow-up since the cutoff) — in a
    transaction rolled back afterwards. Rows per part, to compare with the service's lapsed / idle counts."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.sales.ownership.services import pool_owner

    pool = pool_owner().pk
    now = timezone.now()
    cutoff = now - dt.timedelta(days=settings.KEHU_OWNERSHIP["idle_days"])
    stages = tuple(settings.KEHU_OWNERSHIP["idle_stages"])
    marks = ", ".join(["%s"] * len(stages))
    out = {}
    try:
        with transaction.atomic(), connection.cursor() as cur:
            t = time.perf_counter()
            # IN (uncorrelated join) runs on both databases and uses the live-claim index.
            cur.execute(
                "UPDATE customers_customer SET owner_id = %s, updated_at = %s, version = version + 1"
                " WHERE deleted_at IS NULL AND id IN (SELECT c.customer_id FROM ownership_claim c"
                " JOIN customers_customer x ON x.id = c.customer_id"
                " WHERE c.ended_at IS NULL AND c.valid_until <= %s AND c.rep_id = x.owner_id)",
                [pool, _db(now), _db(now)],
            )
            out["lapsed"] = cur.rowcount
            out["lapse_seconds"] = time.perf_counter() - t
            t2 = time.perf_counter()
            cur.execute(
                "UPDATE customers_customer SET owner_id = %s, updated_at = %s, version = version + 1 WHERE"
                f" stage IN ({marks}) AND created_at < %s AND owner_id <> %s AND deleted_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM ownership_claim k WHERE k.customer_id = customers_customer.id"
                " AND k.ended_at IS NULL)"
                " AND NOT EXISTS (SELECT 1 FROM engagement_interaction i WHERE i.customer_id = customers_customer.id"
                " AND i.occurred_at >= %s)",
                [pool, _db(now), *stages, _db(cutoff), pool, _db(cutoff)],
            )
            out["idle"] = cur.rowcount
            out["idle_seconds"] = time.perf_counter() - t2
            _check_deferred()
            out["seconds"] = time.perf_counter() - t
            raise _Rollback
    except _Rollback:
        pass
    return out


def measure_sweep(commit: bool) -> tuple[float, dict]:
    """``pool_sweep`` once; rolled back unless ``commit`` (so a --reuse dataset keeps its lapses; the deferred
    foreign-key checks of the commit are run before the rollback and timed)."""
    from django.db import transaction

    from kehu.sales.ownership.services import pool_sweep

    box = {}
    try:
        with transaction.atomic():
            t = time.perf_counter()
            box["result"] = pool_sweep()
            if not commit:
                _check_deferred()
                box["seconds"] = time.perf_counter() - t
                raise _Rollback
        box["seconds"] = time.perf_counter() - t  # with the commit
    except _Rollback:
        pass
    return box["seconds"], box["result"]


def explain_sweep(db: str) -> None:
    """Print the plan of every statement ``pool_sweep`` runs (captured in a rolled-back transaction)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from kehu.sales.ownership.services import pool_sweep

    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            pool_sweep()
            raise _Rollback
    except _Rollback:
        pass
    for q in ctx.captured_queries:
        sql = q["sql"]
        if not sql.lstrip().upper().startswith(("INSERT", "UPDATE")) or "SELECT" not in sql.upper():
            continue
        print(f"-- {q['time']} s\n{sql}", flush=True)
        try:
            with transaction.atomic(), connection.cursor() as cur:
                prefix = "EXPLAIN QUERY PLAN " if db == "sqlite" else "EXPLAIN "
                cur.execute(prefix + sql)
                for row in cur.fetchall():
                    print("   ", " | ".join(str(c) for c in row))
                raise _Rollback
        except _Rollback:
            pass


def registration_statements(lanes) -> list[str]:
    """The SQL of one registration (a fresh customer owned by another rep, channel call), committed, in order:
    Django's cursors (caught by an execute wrapper), the service's own prepared statements on PostgreSQL (its
    ``_Cursor``, which Django's query log does not see) and what runs after the commit."""
    from django.db import connection

    from kehu.access.models import User
    from kehu.sales.ownership import services

    rep, cid = lanes[0].pop()
    actor = User.objects.get(pk=rep)
    log: list[str] = []

    def wrapper(execute, sql, params, many, context):
        log.append(sql)
        return execute(sql, params, many, context)

    own = services._Cursor.execute

    def traced(self, sql, params):
        if self.pg:  # on SQLite it is a Django cursor: the wrapper sees it
            log.append("[prepared] " + sql)
        return own(self, sql, params)

    python_path = services._register

    def in_transaction(**kwargs):
        # The Python path runs in transaction.atomic: its BEGIN and COMMIT are round trips too on PostgreSQL
        # (SQLite's BEGIN IMMEDIATE goes through the cursor: the wrapper sees it). The one-call path on
        # PostgreSQL is a single statement in autocommit: no BEGIN, no COMMIT.
        if connection.vendor == "postgresql":
            log.append("BEGIN")
        return python_path(**kwargs)

    services._Cursor.execute = traced
    services._register = in_transaction
    try:
        with connection.execute_wrapper(wrapper):
            connection.ensure_connection()
            services.registration_create(actor=actor, customer_id=cid, channel="call")
            if connection.vendor != "postgresql" or log[0] == "BEGIN":
                log.append("COMMIT")
    finally:
        services._Cursor.execute = own
        services._register = python_path
    return log


def profile_registrations(lanes, n: int, out: str | None) -> dict:
    """cProfile ``n`` registrations in this process, one after another, timed by this process's CPU (waiting for
    the server does not show); wall, process CPU and server CPU."""
    import cProfile
    import pstats

    from kehu.access.models import User
    from kehu.sales.ownership import services

    users = {u.pk: u for u in User.objects.filter(role="account_manager")}
    pairs = [pair for lane in lanes for pair in lane][:n]
    s0, c0, t0 = server_cpu(), time.process_time(), time.perf_counter()
    prof = cProfile.Profile(time.process_time)  # CPU, not wall: the waits for the server are not ours
    prof.enable()
    for rep, cid in pairs:
        services.registration_create(actor=users[rep], customer_id=cid, channel="call")
    prof.disable()
    wall, cpu, server = time.perf_counter() - t0, time.process_time() - c0, server_cpu() - s0
    stats = pstats.Stats(prof)
    if out:
        stats.dump_stats(out)
    stats.sort_stats("tottime").print_stats(18)
    return {
        "registrations": len(pairs),
        "wall_ms_each": round(wall / len(pairs) * 1000, 2),
        "client_cpu_ms_each": round(cpu / len(pairs) * 1000, 2),
        "server_cpu_ms_each": round(server / len(pairs) * 1000, 2),
        "note": "under cProfile (slower)",
    }



def _meta_path(db: str, customers: int) -> Path:
    return VAR / (
        f"sales-{customers}.meta.json" if db == "sqlite" else f"sales-{PG_NAME}-{customers}.meta.json"
    )


def _dataset_exists(db: str, url: str) -> bool:
    if db == "sqlite":
        return Path(url.removeprefix("sqlite:///")).exists()
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]).fetchone() is not None


def _per_registration(m: dict) -> dict:
    n = max(m["done"], 1)
    return {
        "client_cpu_ms": round(m["client_cpu"] / n * 1000, 2),
        "server_cpu_ms": round(m["server_cpu"] / n * 1000, 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep an existing dataset (migrated again; the sweep is"
        " then measured rolled back, so the next run finds the same lapses)",
    )
    parser.add_argument("--only", choices=("registration", "sweep"), help="run one benchmark")
    parser.add_argument(
        "--commit-sweep",
        action="store_true",
        help="with --reuse: commit the sweep all the same"
        " (the dataset's lapses are then used up: it is rebuilt on the next run)",
    )
    parser.add_argument(
        "--statements", action="store_true", help="print the SQL of one registration and stop"
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="cProfile N registrations in-process and stop"
    )
    parser.add_argument("--profile-out", help="write the cProfile stats there")
    parser.add_argument(
        "--explain", action="store_true", help="print the plans of the sweep's statements and stop"
    )
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'sales-{args.customers}.sqlite3'}" if args.db == "sqlite" else PG_URL
    meta_file = _meta_path(args.db, args.customers)
    reuse = args.reuse and meta_file.exists() and _dataset_exists(args.db, url)
    if not reuse:
        wipe(args.db, url)
        meta_file.unlink(missing_ok=True)
    configure(url)
    import django

    django.setup()
    if reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)  # new indexes reach a kept dataset
        meta = json.loads(meta_file.read_text())
    else:
        meta = build(args.db, args.customers)
        meta_file.write_text(json.dumps(meta))
    print(
        json.dumps({"dataset": meta, "reused": reuse, "load": os.getloadavg()}, ensure_ascii=False),
        flush=True,
    )
    if args.explain:
        explain_sweep(args.db)
        return 0
    lanes = _targets(meta["fresh_from_id"], args.clients)
    if args.statements:
        sql = registration_statements(lanes)
        for line in sql:
            print(line[:400])
        print(json.dumps({"statements": len(sql), "db": args.db}), flush=True)
        return 0
    if args.profile:
        print(json.dumps(profile_registrations(lanes, args.profile, args.profile_out)), flush=True)
        return 0
    rows = []
    if args.only in (None, "registration"):
        raw = measure_registration_raw(
            args.db, url, [lane[len(lane) // 2 :] for lane in lanes], args.clients, min(args.seconds, 10)
        )
        raw_rate = raw["done"] / raw["seconds"]
        load_before = round(os.getloadavg()[0], 1)
        m = measure_registration([lane[: len(lane) // 2] for lane in lanes], args.clients, args.seconds)
        rate = m["done"] / m["seconds"]
        rows.append(
            {
                "name": "registration_rate",
                "db": args.db,
                "customers": meta["customers"],
                "clients": args.clients,
                "via": f"service ({args.clients} forked processes, one connection each; no HTTP)",
                "rate_per_s": round(rate),
                "errors": m["errors"],
                "raw_sql_rate_per_s": round(raw_rate),
                "ratio": round(raw_rate / rate, 1) if rate else None,
                "target": ">= 500/s (PostgreSQL)",
                "met": rate >= 500,
                "cpu_per_registration": _per_registration(m),
                "raw_sql_cpu_per_registration": _per_registration(raw),
                "load_avg": [load_before, round(os.getloadavg()[0], 1)],
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    if args.only in (None, "sweep"):
        raw = measure_sweep_raw()
        committed = not args.reuse or args.commit_sweep
        seconds, result = measure_sweep(commit=committed)
        if committed:
            meta_file.unlink(missing_ok=True)
        best = raw
        if not committed:  # again, with the caches the service warmed: the better of the two counts
            best = min((raw, measure_sweep_raw()), key=lambda r: r["seconds"])
        rows.append(
            {
                "name": "pool_sweep",
                "db": args.db,
                "customers": meta["customers"],
                "moved": result["lapsed"] + result["idle"],
                "lapsed": result["lapsed"],
                "idle": result["idle"],
                "seconds": round(seconds, 2),
                "committed": committed,
                "raw_sql_seconds": round(best["seconds"], 2),
                "raw_sql_rows": best["lapsed"] + best["idle"],
                "raw_sql_lapsed": best["lapsed"],
                "raw_sql_idle": best["idle"],
                "raw_sql_part_seconds": [round(best["lapse_seconds"], 2), round(best["idle_seconds"], 2)],
                "ratio": round(seconds / best["seconds"], 1) if best["seconds"] else None,
                "target": "<= 10 s",
                "met": seconds <= 10,
                "load_avg": round(os.getloadavg()[0], 1),
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    merge(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
