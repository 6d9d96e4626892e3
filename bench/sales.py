"""`python -m bench.sales [--customers 1000000] [--db sqlite|postgres] [--clients 8] [--seconds 20]`: registration
(客户登记/报备) throughput and the public-pool (公海) sweep, each beside the raw SQL of the same operation.

Dataset (var/bench/sales-<customers>.sqlite3, or the PostgreSQL database kehu_bench_ownership; never in git;
rebuilt on each run): migrated; 100 account managers in 10 departments (bulk rows, unusable passwords); one
template customer cloned set-based in SQL to <customers> customers spread over the reps, created 90 days ago
except the newest 10 % (created today: the registration benchmark registers those). Of the older ones: 1 % are
prospects whose registration lapsed yesterday (→ lapse), 2 % prospects with no registration and no follow-up
(→ idle, the 30-day rule), 10 % prospects with a valid registration, 10 % prospects followed up this week, and
the rest signed customers (stage "customer": the idle rule leaves them with their owner). The sweep reads
every prospect and moves 3 % of the customers, a heavy day (a daily sweep moves what lapsed since yesterday).

Measures (one JSON line each, merged into bench/results/latest.json by name and db):

* registration_rate: <clients> forked processes (as gunicorn workers: one interpreter and one connection
  each; threads of one process would measure the GIL), call the service ``registration_create`` (not HTTP: permission, customer look-up, the conditional claim
  INSERT … ON CONFLICT, the register row, the owner move with its history row and audit entries, the
  notification of the previous owner) on distinct customers owned by another rep for <seconds>; target
  ≥ 500/s on PostgreSQL. Raw: the same threads run the statements that decide and record a registration —
  claim INSERT … ON CONFLICT DO NOTHING RETURNING, register INSERT, customer UPDATE, history INSERT, audit
  INSERT — through the bare driver, one transaction each.
* pool_sweep: ``pool_sweep`` (lapse + idle + referrals + disputes, set-based, one transaction) over all the
  customers; target ≤ 10 s. Raw: two UPDATEs of customers_customer moving the same customers (lapsed claim,
  then idle) to the pool — without the PoolMove records and claim ends the service also writes — in a
  rolled-back transaction, run first on the same data.
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

from bench.run import FIELD_KEY, ROOT, SECRET, VAR

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PG_NAME = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_ownership")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
REPS = 100


def configure(url: str) -> None:
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    os.environ.update(KEHU_SECRET_KEY=SECRET, KEHU_FIELD_KEYS=FIELD_KEY, KEHU_DATABASE_URL=url,
                      DJANGO_SETTINGS_MODULE="kehu.settings", KEHU_VAR_DIR=str(ROOT / "var"),
                      KEHU_NOTIFY_CHANNELS="inapp", KEHU_POOL_MAX_HELD="100000000")


def wipe(db: str, url: str) -> None:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')


def series(db: str, n: int) -> str:
    if db == "postgres":
        return f"generate_series(CAST(1 AS bigint), {int(n)}) AS s(n)"
    return f"(WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {int(n)}) SELECT n FROM r) AS s"


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
    User.objects.bulk_create([User(username=f"bench_rep{i:04d}", display_name=f"客户经理{i:04d}", role="account_manager",
                                   department=depts[i % 10], password="!") for i in range(REPS)], batch_size=1000)
    pool_owner()
    rep_ids = list(User.objects.filter(role="account_manager", is_active=True).order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    old = now - dt.timedelta(days=90)
    template = Customer.objects.create(name="浙江华星石化有限公司", kind="organization", industry="石化",
                                       province="浙江省", city="杭州市", stage="prospect", owner_id=rep_ids[0],
                                       department=depts[0])
    cols = [c.column for c in Customer._meta.concrete_fields if c.column != "id"]
    first = rep_ids[0]
    fresh_from = int(customers * 0.9)
    overrides = {"name": "t.name || '·' || CAST(s.n AS TEXT)",
                 "owner_id": f"{first} + (s.n %% {REPS})",
                 "department_id": f"(SELECT department_id FROM access_user u WHERE u.id = {first} + (s.n %% {REPS}))",
                 "created_at": f"CASE WHEN s.n >= {fresh_from} THEN %s ELSE %s END",
                 "stage": f"CASE WHEN s.n >= {fresh_from} OR s.n %% 10 IN (2, 3) OR s.n %% 100 IN (1, 4, 5)"
                          " THEN 'prospect' ELSE 'customer' END",
                 "updated_at": "%s"}
    select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
    created_params = [_db(now), _db(old)]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"INSERT INTO customers_customer ({', '.join(cols)}) SELECT {select} FROM {series(db, customers - 1)} "
                    f"JOIN customers_customer t ON t.id = {template.pk}", created_params + [_db(old)])
        cur.execute("UPDATE customers_customer SET created_at = %s WHERE id = %s", [_db(old), template.pk])
        lo = template.pk
        # 10 % lapsed yesterday, 10 % valid for another two weeks (claims held by the owner)
        cur.execute("INSERT INTO ownership_claim (customer_id, rep_id, registration_id, started_at, valid_until,"
                    " renewed_at, ended_at, end_reason) SELECT id, owner_id, NULL, %s, %s, NULL, NULL, ''"
                    f" FROM customers_customer WHERE (id - {lo}) %% 100 = 1 AND id < {lo + fresh_from}",
                    [_db(now - dt.timedelta(days=31)), _db(now - dt.timedelta(days=1))])
        cur.execute("INSERT INTO ownership_claim (customer_id, rep_id, registration_id, started_at, valid_until,"
                    " renewed_at, ended_at, end_reason) SELECT id, owner_id, NULL, %s, %s, NULL, NULL, ''"
                    f" FROM customers_customer WHERE (id - {lo}) %% 10 = 2 AND id < {lo + fresh_from}",
                    [_db(now - dt.timedelta(days=14)), _db(now + dt.timedelta(days=14))])
        # 20 % followed up this week
        cur.execute("INSERT INTO engagement_interaction (customer_id, channel, direction, occurred_at, summary, outcome,"
                    " next_step, owner_id, recorded_by_id, created_at, updated_at) SELECT id, 'phone', 'outbound', %s,"
                    f" '电话回访', '', '', owner_id, owner_id, %s, %s FROM customers_customer WHERE (id - {lo}) %% 10 = 3 AND id < {lo + fresh_from}",
                    [_db(now - dt.timedelta(days=3))] * 3)
        cur.execute("ANALYZE")
    return {"customers": Customer.objects.count(), "fresh_from_id": template.pk + fresh_from,
            "build_seconds": round(time.perf_counter() - t0, 1)}


def _targets(fresh_from_id: int, clients: int) -> list[list[tuple[int, int]]]:
    """Per client: (rep id, customer id) pairs of fresh customers owned by another rep."""
    from kehu.access.models import User
    from kehu.customers.models import Customer

    reps = list(User.objects.filter(role="account_manager", is_active=True).order_by("pk").values_list("pk", flat=True))
    rows = list(Customer.objects.filter(pk__gte=fresh_from_id).order_by("pk").values_list("pk", "owner_id"))
    lanes: list[list[tuple[int, int]]] = [[] for _ in range(clients)]
    for i, (cid, owner) in enumerate(rows):
        rep = reps[(reps.index(owner) + 1 + i % 7) % len(reps)] if owner in reps else reps[0]
        lanes[i % clients].append((rep, cid))
    return lanes


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


def _run_processes(clients: int, seconds: float, work) -> tuple[int, int, float]:
    """``clients`` forked processes (one Python interpreter and one connection each, as gunicorn workers
    would be), each calling work(i, stop) -> (done, errors) until ``stop`` is set."""
    import multiprocessing as mp

    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    done, errors = ctx.Array("i", clients), ctx.Array("i", clients)
    start, stop = ctx.Barrier(clients + 1), ctx.Event()

    def lane(i):
        start.wait()
        d, e = work(i, stop)
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
    return sum(done), sum(errors), time.perf_counter() - t0


def measure_registration(lanes, clients: int, seconds: float) -> tuple[float, int]:
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
            except Exception:  # noqa: BLE001 - counted
                errors += 1
        return done, errors

    n, errs, elapsed = _run_processes(clients, seconds, work)
    return n / elapsed, errs


def measure_registration_raw(db: str, url: str, lanes, clients: int, seconds: float) -> float:
    """The deciding and recording statements of a registration, bare driver, one transaction each."""
    import sqlite3

    from django.utils import timezone

    cursor = [0] * clients
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
        try:
            lane = lanes[i]
            while not stop.is_set() and cursor[i] < len(lane):
                rep, cid = lane[cursor[i]]
                cursor[i] += 1
                until = stamp + dt.timedelta(days=30)
                conn.execute("BEGIN IMMEDIATE" if db == "sqlite" else "BEGIN")
                row = conn.execute(q(
                    "INSERT INTO ownership_claim (customer_id, rep_id, registration_id, started_at, valid_until,"
                    " renewed_at, ended_at, end_reason) VALUES (%s, %s, NULL, %s, %s, NULL, NULL, '')"
                    " ON CONFLICT (customer_id) WHERE ended_at IS NULL DO NOTHING RETURNING id"),
                    (cid, rep, stamp, until)).fetchone()
                if row is None:
                    conn.execute("ROLLBACK")
                    errors[i] += 1
                    continue
                conn.execute(q(
                    "INSERT INTO ownership_registration (customer_id, rep_id, department_id, channel, registered_at,"
                    " valid_until, referral_id, corrects_id, note, created_by_id, created_at)"
                    " VALUES (%s, %s, NULL, 'call', %s, %s, NULL, NULL, '', %s, %s)"), (cid, rep, stamp, until, rep, stamp))
                conn.execute(q("UPDATE customers_customer SET owner_id = %s, updated_at = %s, version = version + 1"
                               " WHERE id = %s"), (rep, stamp, cid))
                conn.execute(q("INSERT INTO customers_changerecord (customer_id, at, actor_id, actor_name, object_type,"
                               " object_id, action, changes) VALUES (%s, %s, %s, 'r', 'customer', %s, 'update', '{}')"),
                             (cid, stamp, rep, cid))
                conn.execute(q("INSERT INTO audit_auditentry (at, actor_id, actor_name, ip, action, object_type,"
                               " object_id, object_repr, changes) VALUES (%s, %s, 'r', NULL, 'registration.create',"
                               " 'ownership.registration', %s, '', '{}')"), (stamp, rep, str(cid)))
                conn.execute("COMMIT")
                done[i] += 1
        finally:
            conn.close()

    n, _errs, elapsed = _run_threads(clients, seconds, work)
    return n / elapsed


def measure_sweep_raw(db: str) -> tuple[float, int]:
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.sales.ownership.services import pool_owner

    pool = pool_owner().pk
    now = timezone.now()
    cutoff = now - dt.timedelta(days=30)
    moved, seconds = 0, 0.0
    try:
        with transaction.atomic(), connection.cursor() as cur:
            t = time.perf_counter()
            cur.execute(
                "UPDATE customers_customer SET owner_id = %s, updated_at = %s, version = customers_customer.version + 1"
                " FROM ownership_claim c WHERE c.customer_id = customers_customer.id AND c.ended_at IS NULL"
                " AND c.valid_until <= %s AND c.rep_id = customers_customer.owner_id", [pool, _db(now), _db(now)])
            moved = cur.rowcount
            cur.execute(
                "UPDATE customers_customer SET owner_id = %s, updated_at = %s, version = version + 1 WHERE"
                " stage IN ('prospect', 'intent') AND created_at < %s AND owner_id <> %s AND deleted_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM ownership_claim k WHERE k.customer_id = customers_customer.id"
                " AND k.ended_at IS NULL)"
                " AND NOT EXISTS (SELECT 1 FROM engagement_interaction i WHERE i.customer_id = customers_customer.id"
                " AND i.occurred_at >= %s)",
                [pool, _db(now), _db(cutoff), pool, _db(cutoff)])
            moved += cur.rowcount
            seconds = time.perf_counter() - t
            raise _Rollback
    except _Rollback:
        pass
    return seconds, moved


def measure_sweep() -> tuple[float, dict]:
    from kehu.sales.ownership.services import pool_sweep

    t = time.perf_counter()
    result = pool_sweep()
    return time.perf_counter() - t, result


class _Rollback(Exception):
    pass


def merge(results: list) -> None:
    try:
        existing = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        existing = []
    ours = {(r["name"], r["db"]) for r in results}
    kept = [r for r in existing if not (isinstance(r, dict) and (r.get("name"), r.get("db")) in ours)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(kept + results, ensure_ascii=False, indent=1) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'sales-{args.customers}.sqlite3'}" if args.db == "sqlite" else PG_URL
    wipe(args.db, url)
    configure(url)
    import django

    django.setup()
    meta = build(args.db, args.customers)
    print(json.dumps({"dataset": meta, "load": os.getloadavg()[0]}, ensure_ascii=False), flush=True)
    lanes = _targets(meta["fresh_from_id"], args.clients)
    raw_rate = measure_registration_raw(args.db, url, [lane[len(lane) // 2:] for lane in lanes], args.clients,
                                        min(args.seconds, 10))
    first_half = [lane[: len(lane) // 2] for lane in lanes]
    rate, errors = measure_registration(first_half, args.clients, args.seconds)
    load = round(os.getloadavg()[0], 1)
    rows = [{"name": "registration_rate", "db": args.db, "customers": meta["customers"], "clients": args.clients,
             "via": f"service ({args.clients} forked processes, one connection each; no HTTP)",
             "rate_per_s": round(rate), "errors": errors, "raw_sql_rate_per_s": round(raw_rate),
             "ratio": round(raw_rate / rate, 1) if rate else None, "target": ">= 500/s (PostgreSQL)",
             "met": rate >= 500, "load_avg": load}]
    print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    raw_seconds, raw_moved = measure_sweep_raw(args.db)
    seconds, result = measure_sweep()
    rows.append({"name": "pool_sweep", "db": args.db, "customers": meta["customers"], "moved": result["lapsed"]
                 + result["idle"], "lapsed": result["lapsed"], "idle": result["idle"], "seconds": round(seconds, 2),
                 "raw_sql_seconds": round(raw_seconds, 2), "raw_sql_rows": raw_moved,
                 "ratio": round(seconds / raw_seconds, 1) if raw_seconds else None, "target": "<= 10 s",
                 "met": seconds <= 10, "load_avg": round(os.getloadavg()[0], 1)})
    print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    merge(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
