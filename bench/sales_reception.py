"""`python -m bench.sales_reception [--rows 500000] [--reps 40] [--db sqlite|postgres]`: the visitor and call
statistics (来人来电统计表) of a month over a year of register rows of a large sales office, and the
throughput of handing out rotation turns (排班轮流接待), each beside the raw SQL of the same work.

Dataset (/tmp/reception_bench/reception-<rows>.sqlite3, or the PostgreSQL database kehu_bench_reception;
never in git; rebuilt on each run): migrated (the source channels seeded); an admin; one sales office
(a department) with <reps> reps (bulk-created rows, unusable passwords); 50,000 customers cloned from one
template in SQL; <rows> register entries over 2026 generated set-based (60 % walk-ins, 40 % calls, ten
sources, reps in turn, one walk-in in two of a known customer), a duty roster every day, and 5,000 deals.

Measures (one JSON line each, merged into bench/results/latest.json by name and db; the 1-minute load
average beside each figure):

* reception_month_statistics (as the admin) and reception_month_statistics_manager (as the office's
  manager: the department-subtree scope): ``selectors.statistics(period="month")`` for June (the whole
  office: ~41k rows of the month) — p50/p95 of 7 runs, target ≤ 1 s; raw: the SQL statements the selector
  emitted (captured) replayed through the bare driver cursor, fetching every row.
* reception_next_turn: ``services.entry_create`` of walk-ins on one day (lock the day's queue row, the
  rotation, the entry, the audit entry, one transaction each) — walk-ins/s over 500 calls; raw: the
  statements of one such call replayed 500 times through the bare driver inside one rolled-back
  transaction (no commit per call).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics as stats_mod
import sys
import time
from pathlib import Path

from bench.clone import clone_customers, series
from bench.run import FIELD_KEY, ROOT, SECRET
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
SQLITE_DIR = Path(os.environ.get("KEHU_BENCH_RECEPTION_DIR", "/tmp/reception_bench"))
PG_NAME = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_reception")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
YEAR = 2026
CUSTOMERS = 50_000
DEALS = 5_000
TARGET_STATS_SECONDS = 1.0


def configure(url: str) -> None:
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    os.environ.update(KEHU_SECRET_KEY=SECRET, KEHU_FIELD_KEYS=FIELD_KEY, KEHU_DATABASE_URL=url,
                      DJANGO_SETTINGS_MODULE="kehu.settings", KEHU_VAR_DIR=str(ROOT / "var"),
                      KEHU_NOTIFY_CHANNELS="inapp")


def wipe(db: str, url: str) -> None:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')


def load() -> float:
    return round(os.getloadavg()[0], 2)


def build(db: str, rows: int, reps: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.access.services import department_ensure_path
    from kehu.customers.models import Customer
    from kehu.sales.reception.models import DutyDay, DutyShift, SourceChannel

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    office = department_ensure_path(actor=None, path="总部/销售部/滨江售楼处")
    User.objects.create(username="bench_admin", role="admin", department=hq, password=make_password(None))
    User.objects.create(username="bench_manager", role="manager", department=office, password="!")
    User.objects.bulk_create([User(username=f"bench_rep{i:03d}", display_name=f"置业顾问{i:03d}",
                                   role="account_manager", department=office, password="!") for i in range(reps)])
    rep_ids = list(User.objects.filter(role="account_manager").order_by("pk").values_list("pk", flat=True))
    template = Customer.objects.create(name="杭州市民王先生", kind="person", city="杭州市", stage="prospect",
                                       owner_id=rep_ids[0], department=office)
    overrides = {"name": "t.name || '·' || CAST(s.n AS TEXT)", "owner_id": f"{rep_ids[0]} + (s.n % {reps})"}
    sources = list(SourceChannel.objects.order_by("pk").values_list("pk", flat=True))
    first_customer = template.pk
    with transaction.atomic(), connection.cursor() as cur:
        clone_customers(cur, db, CUSTOMERS - 1, first=template.pk, overrides=overrides, start=0)
        cust_ids = (first_customer, first_customer + CUSTOMERS - 1)
        # register rows: n → day of the year, a minute between 09:00 and 18:00, kind, source, rep, customer
        start = dt.date(YEAR, 1, 1)
        if db == "postgres":
            day = f"(DATE '{start.isoformat()}' + CAST(s.n % 365 AS integer))"
            at = f"(CAST({day} AS timestamp) + make_interval(mins => CAST(60 + (s.n * 7) % 540 AS integer)))"
        else:
            day = f"date('{start.isoformat()}', '+' || (s.n % 365) || ' days')"
            at = f"datetime({day}, '+' || (60 + (s.n * 7) % 540) || ' minutes')"
        walk = "(s.n % 5 < 3)"
        kind = f"CASE WHEN {walk} THEN 'walk_in' ELSE 'call' END"
        src = "CASE s.n % 10 " + " ".join(f"WHEN {i} THEN {sources[i % len(sources)]}" for i in range(10)) + " END"
        rep = f"({rep_ids[0]} + (s.n / 7) % {reps})"
        customer = (f"CASE WHEN {walk} AND s.n % 2 = 0 THEN {cust_ids[0]} + (s.n * 13) % {CUSTOMERS} ELSE NULL END")
        assignment = f"CASE WHEN {walk} THEN 'rotation' ELSE 'call' END"
        counted = f"CASE WHEN {walk} THEN TRUE ELSE FALSE END" if db == "postgres" else f"CASE WHEN {walk} THEN 1 ELSE 0 END"
        false = "FALSE" if db == "postgres" else "0"
        now = "now()" if db == "postgres" else "datetime('now')"
        cur.execute(
            "INSERT INTO reception_registerentry (kind, at, day, department_id, source_id, customer_id, visitor_name, "
            "visitor_phone, party_size, intention, is_returning, rep_id, assignment, counted, duty_day_id, "
            "arranged_by_company, outcome, refusal, refusal_reason, first_receiver_id, handled_by_id, note, "
            "created_by_id, created_at) "
            f"SELECT {kind}, {at}, {day}, {office.pk}, {src}, {customer}, '访客' || CAST(s.n AS TEXT), '', 1 + s.n % 3, "
            f"'两居室', {false}, {rep}, {assignment}, {counted}, NULL, {false}, 'registered', '', '', NULL, NULL, '', "
            f"{rep_ids[0]}, {now} FROM {series(db, rows, 0)}")
        cur.execute(
            "INSERT INTO sales_deal (customer_id, title, object_code, amount, currency, stage, rep_id, department_id, "
            "signed_on, created_by_id, created_at, updated_at, source) "
            f"SELECT {cust_ids[0]} + (s.n * 26) % {CUSTOMERS}, '滨江御府' || CAST(s.n AS TEXT), '', 2800000, 'CNY', "
            f"'signed', {rep_ids[0]} + s.n % {reps}, {office.pk}, DATE '{YEAR}-06-30', {rep_ids[0]}, {now}, {now}, 'walk_in' "
            f"FROM {series(db, DEALS, 0)}" if db == "postgres" else
            "INSERT INTO sales_deal (customer_id, title, object_code, amount, currency, stage, rep_id, department_id, "
            "signed_on, created_by_id, created_at, updated_at, source) "
            f"SELECT {cust_ids[0]} + (s.n * 26) % {CUSTOMERS}, '滨江御府' || CAST(s.n AS TEXT), '', 2800000, 'CNY', "
            f"'signed', {rep_ids[0]} + s.n % {reps}, {office.pk}, '{YEAR}-06-30', {rep_ids[0]}, {now}, {now}, 'walk_in' "
            f"FROM {series(db, DEALS, 0)}")
    with transaction.atomic():
        for d in range(365):
            day_ = dt.date(YEAR, 1, 1) + dt.timedelta(days=d)
            duty = DutyDay.objects.create(department=office, day=day_)
            order = rep_ids[d % reps:] + rep_ids[:d % reps]
            DutyShift.objects.bulk_create([DutyShift(duty_day=duty, rep_id=r, position=i + 1)
                                           for i, r in enumerate(order)])
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE" if db == "postgres" else "ANALYZE")
    from kehu.sales.reception.models import RegisterEntry

    return {"rows": RegisterEntry.objects.count(), "reps": reps, "customers": Customer.objects.count(),
            "build_seconds": round(time.perf_counter() - t0, 1)}


def _replay(statements: list[str]) -> int:
    """Run captured SQL through the bare DB-API cursor, fetching every row; returns rows fetched."""
    import re

    from django.db import connection

    raw = connection.connection.cursor()
    n = 0
    for sql in statements:
        # a PostgreSQL server-side cursor (QuerySet.iterator) was captured as its DECLARE: run the query itself
        sql = re.sub(r'^DECLARE\s+"?[\w]+"?\s+.*?CURSOR\s+(?:WITH(?:OUT)?\s+HOLD\s+)?FOR\s+', "", sql, flags=re.S)
        raw.execute(sql)
        if raw.description is not None:
            n += len(raw.fetchall())
    raw.close()
    return n


def measure_statistics(db: str, username: str = "bench_admin", name: str = "reception_month_statistics") -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kehu.access.models import User
    from kehu.sales.reception import selectors

    admin = User.objects.get(username=username)
    on = dt.date(YEAR, 6, 15)
    selectors.statistics(actor=admin, period="month", on=on)  # warm
    times = []
    for _ in range(7):
        t = time.perf_counter()
        result = selectors.statistics(actor=admin, period="month", on=on)
        times.append(time.perf_counter() - t)
    with CaptureQueriesContext(connection) as ctx:
        selectors.statistics(actor=admin, period="month", on=on)
    statements = [q["sql"] for q in ctx.captured_queries]
    raw_times = []
    for _ in range(7):
        t = time.perf_counter()
        _replay(statements)
        raw_times.append(time.perf_counter() - t)
    p50, raw50 = stats_mod.median(times), stats_mod.median(raw_times)
    month_rows = result["totals"]["walk_ins"] + result["totals"]["calls"]
    return {"name": name, "db": db, "as": username, "month_rows": month_rows,
            "queries": len(statements), "p50_ms": round(p50 * 1000, 1), "p95_ms": round(max(times) * 1000, 1),
            "raw_sql_p50_ms": round(raw50 * 1000, 1), "raw_sql_p95_ms": round(max(raw_times) * 1000, 1),
            "ratio": round(p50 / raw50, 1) if raw50 else None, "target": "<= 1000 ms",
            "met": max(times) <= TARGET_STATS_SECONDS, "load_avg_1m": load()}


class _Rollback(Exception):
    pass


def measure_next_turn(db: str, calls: int = 500) -> dict:
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from kehu.access.models import User
    from kehu.sales.reception import services
    from kehu.sales.reception.models import RegisterEntry, SourceChannel

    desk = User.objects.filter(role="account_manager").order_by("pk").first()
    source = SourceChannel.objects.order_by("pk").first().pk
    day = dt.date(YEAR, 12, 30)
    base = timezone.make_aware(dt.datetime(YEAR, 12, 30, 9, 0))
    data = {"source": source, "visitor_name": "王先生", "intention": "三居室"}
    services.entry_create(actor=desk, data=data, now=base)  # warm
    t = time.perf_counter()
    for i in range(calls):
        services.entry_create(actor=desk, data=data, now=base + dt.timedelta(seconds=i))
    seconds = time.perf_counter() - t
    reps = dict(RegisterEntry.objects.filter(day=day, counted=True).values("rep_id").annotate(n=Count("id"))
                .values_list("rep_id", "n"))
    fair = max(reps.values()) - min(reps.values()) if reps else None
    with CaptureQueriesContext(connection) as ctx:
        services.entry_create(actor=desk, data=data, now=base + dt.timedelta(seconds=calls + 1))
    statements = [q["sql"] for q in ctx.captured_queries
                  if q["sql"].split()[0].upper() in ("SELECT", "INSERT", "UPDATE")]
    raw_seconds = 0.0
    try:
        with transaction.atomic():
            t = time.perf_counter()
            for _ in range(calls):
                _replay(statements)
            raw_seconds = time.perf_counter() - t
            raise _Rollback
    except _Rollback:
        pass
    rate, raw_rate = calls / seconds, calls / raw_seconds if raw_seconds else None
    return {"name": "reception_next_turn", "db": db, "calls": calls, "statements_per_call": len(statements),
            "rate_per_s": round(rate, 1), "raw_sql_rate_per_s": round(raw_rate, 1) if raw_rate else None,
            "ratio": round(raw_rate / rate, 1) if raw_rate else None, "turns_spread": fair,
            "target": "fair turns (spread <= 1)", "met": fair is not None and fair <= 1, "load_avg_1m": load()}



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    SQLITE_DIR.mkdir(parents=True, exist_ok=True)
    (ROOT / "var").mkdir(exist_ok=True)
    url = f"sqlite:///{SQLITE_DIR / f'reception-{args.rows}.sqlite3'}" if args.db == "sqlite" else PG_URL
    wipe(args.db, url)
    configure(url)
    import django

    django.setup()
    meta = build(args.db, args.rows, args.reps)
    print(json.dumps({"dataset": meta, "load_avg_1m": load()}, ensure_ascii=False), flush=True)
    results = []
    for fn in (lambda: measure_statistics(args.db),
               lambda: measure_statistics(args.db, "bench_manager", "reception_month_statistics_manager"),
               lambda: measure_next_turn(args.db, args.calls)):
        row = fn()
        row.update(rows=meta["rows"], reps=args.reps)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        results.append(row)
    merge(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
