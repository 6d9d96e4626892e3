"""`python -m bench.sales_deals [--deals 200000] [--db sqlite|postgres] [--reuse]`: the month's deal statistics
(月成交分析: count and amount, by rep, by source, conversion from opportunity, and the six-month trend) over a
1,000,000-customer company's worth of deals, beside the raw SQL of the same queries.

Dataset (var/bench/sales-<deals>.sqlite3 under /tmp/pipeline_bench by default, or the PostgreSQL database
kehu_bench_pipeline; never in git): migrated; an admin, an executive, 10 departments each with a manager and 20
account managers (bulk-created, unusable passwords); one template customer through the ORM cloned set-based to
<deals> customers (one deal each: a company of 1,000,000 customers signs about that many in two years); <deals>
deals over the last 24 months (70 % signed, the rest at a deposit stage or cancelled), 8 sources, half of them
from an opportunity; 1.5 × <deals> opportunities closed over the same months (won / lost) — all by
``INSERT … SELECT`` with ``generate_series`` / a recursive CTE.

Measures (one JSON line each, merged into bench/results/latest.json by name and db):

* deal_stats_month_executive / deal_stats_month_manager: ``selectors.deal_stats`` + ``selectors.deal_trend``
  (what the statistics page and GET /api/v1/sales/stats compute) for a month in the middle of the data, as the
  executive (company scope) and as a department manager (subtree scope), p50 / p95 over --runs — target ≤ 1 s;
* raw: the SQL those selectors emit (captured) replayed through the bare driver cursor; ``ratio`` = p50 / raw
  p50 (what Django and the Python around the queries cost).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench.clone import clone_customers, series
from bench.run import FIELD_KEY, ROOT, SECRET
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
VAR = Path(os.environ.get("KEHU_BENCH_SQLITE_DIR", "/tmp/pipeline_bench"))
PG_NAME = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_pipeline")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
TARGET_SECONDS = 1.0
END = dt.date(2026, 11, 30)  # the data's last day; the measured month is a year before
MONTH = dt.date(2025, 11, 15)


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


def build(db: str, deals: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.access.services import department_ensure_path
    from kehu.customers.models import Customer
    from kehu.sales.models import OpportunityStage

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    User.objects.create(username="bench_admin", role="admin", department=hq, password=make_password(None))
    User.objects.create(username="bench_exec", role="executive", department=hq, password="!")
    depts = [department_ensure_path(actor=None, path=f"总部/销售部/区域{d:02d}") for d in range(10)]
    User.objects.bulk_create([User(username=f"bench_mgr{d:02d}", role="manager", department=depts[d], password="!")
                              for d in range(10)])
    User.objects.bulk_create([User(username=f"bench_rep{i:04d}", display_name=f"客户经理{i:04d}", role="account_manager",
                                   department=depts[i % 10], password="!") for i in range(200)])
    reps = list(User.objects.filter(role="account_manager").order_by("pk").values_list("pk", "department_id"))
    first_rep, n_reps = reps[0][0], len(reps)
    template = Customer.objects.create(name="浙江华星石化有限公司", kind="organization", industry="石化",
                                       province="浙江省", city="杭州市", stage="customer", owner_id=first_rep,
                                       department_id=reps[0][1])
    rep_of = f"({first_rep} + (s.n % {n_reps}))"
    overrides = {"name": "t.name || '·' || CAST(s.n AS TEXT)", "owner_id": rep_of,
                 "department_id": f"(SELECT department_id FROM access_user u WHERE u.id = {rep_of})"}
    won = OpportunityStage.objects.get(code="won").pk
    lost = OpportunityStage.objects.get(code="lost").pk
    sources = ["walk_in", "call", "referral", "online", "exhibition", "cold_visit", "old_customer", "展会"]
    src = "CASE (s.n % 8) " + " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(sources)) + " END"
    if db == "postgres":
        day = f"(DATE '{END}' - CAST((s.n * 7919) % 730 AS integer))"
        now = "now()"
    else:
        day = f"date('{END}', '-' || ((s.n * 7919) % 730) || ' days')"
        now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    with transaction.atomic(), connection.cursor() as cur:
        clone_customers(cur, db, deals - 1, first=template.pk, overrides=overrides, start=0)
        cur.execute("SELECT MIN(id) FROM customers_customer")
        first_customer = cur.fetchone()[0]
        # opportunities: 1.5 per deal, closed over the 24 months, 40 % won
        opp_n = deals * 3 // 2
        cur.execute(
            "INSERT INTO sales_opportunity (customer_id, title, stage_id, outcome, amount, currency, expected_close, "
            "source, owner_id, department_id, lost_reason_id, competitor_id, lost_note, closed_on, created_by_id, "
            "created_at, updated_at) "
            f"SELECT {first_customer} + (s.n % {deals}), '商机', CASE WHEN s.n % 5 < 2 THEN {won} ELSE {lost} END, "
            "CASE WHEN s.n % 5 < 2 THEN 'won' ELSE 'lost' END, 100000 + (s.n % 50) * 10000, 'CNY', "
            f"{day}, {src}, {rep_of}, (SELECT department_id FROM access_user u WHERE u.id = {rep_of}), "
            "CASE WHEN s.n % 5 < 2 THEN NULL ELSE (SELECT MIN(id) FROM sales_lostreason) END, NULL, '', "
            f"{day}, {first_rep}, {now}, {now} FROM {series(db, opp_n, 0)}")
        cur.execute("SELECT MIN(id) FROM sales_opportunity")
        first_opp = cur.fetchone()[0]
        stage = ("CASE WHEN s.n % 10 < 7 THEN 'signed' WHEN s.n % 10 = 7 THEN 'small_deposit' "
                 "WHEN s.n % 10 = 8 THEN 'subscribed' ELSE 'cancelled' END")
        cur.execute(
            "INSERT INTO sales_deal (customer_id, title, object_code, amount, currency, stage, rep_id, department_id, "
            "signed_on, created_by_id, created_at, updated_at, opportunity_id, sale_object_id, source, cancelled_on) "
            f"SELECT {first_customer} + s.n, '成交', '', 200000 + (s.n % 300) * 10000, 'CNY', {stage}, {rep_of}, "
            f"(SELECT department_id FROM access_user u WHERE u.id = {rep_of}), "
            f"CASE WHEN s.n % 10 < 7 THEN {day} END, {first_rep}, {now}, {now}, "
            f"CASE WHEN s.n % 2 = 0 THEN {first_opp} + s.n END, NULL, {src}, NULL FROM {series(db, deals, 0)}")
        cur.execute("ANALYZE")
    from kehu.sales.models import Deal, Opportunity

    return {"customers": Customer.objects.count(), "deals": Deal.objects.count(),
            "signed": Deal.objects.filter(stage="signed").count(), "opportunities": Opportunity.objects.count(),
            "build_seconds": round(time.perf_counter() - t0, 1)}


def run_selectors(actor) -> dict:
    from kehu.sales import selectors

    out = selectors.deal_stats(actor=actor, period="month", day=MONTH)
    out["trend"] = selectors.deal_trend(actor=actor, period="month", day=MONTH)
    return out


def measure(actor, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run_selectors(actor)  # warm the caches (the department subtree, the sources)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = run_selectors(actor)
        times.append(time.perf_counter() - t)
    with CaptureQueriesContext(connection) as ctx:
        run_selectors(actor)
    sqls = [q["sql"] for q in ctx.captured_queries]
    raw_cursor = connection.connection.cursor()  # the bare driver's cursor: no Django in the way
    raw = []
    for _ in range(runs):
        t = time.perf_counter()
        for sql in sqls:
            raw_cursor.execute(sql)
            raw_cursor.fetchall()
        raw.append(time.perf_counter() - t)
    times.sort()
    raw.sort()
    p50, p95 = statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]
    rp50, rp95 = statistics.median(raw), raw[max(0, int(len(raw) * 0.95) - 1)]
    return {"count": out["count"], "amount": str(out["amount"]), "by_rep": len(out["by_rep"]), "queries": len(sqls),
            "p50_ms": round(p50 * 1000, 1), "p95_ms": round(p95 * 1000, 1), "raw_sql_p50_ms": round(rp50 * 1000, 1),
            "raw_sql_p95_ms": round(rp95 * 1000, 1), "ratio": round(p50 / rp50, 2) if rp50 else None,
            "target": f"<= {TARGET_SECONDS:g} s", "met": p95 <= TARGET_SECONDS}



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="measure an existing dataset again")
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'sales-{args.deals}.sqlite3'}" if args.db == "sqlite" else PG_URL
    if not args.reuse:
        wipe(args.db, url)
    configure(url)
    import django

    django.setup()
    from kehu.access.models import User

    meta = build(args.db, args.deals) if not args.reuse else {"reused": True}
    print(json.dumps({"dataset": meta}, ensure_ascii=False), flush=True)
    load = os.getloadavg()
    rows = []
    for name, username in (("deal_stats_month_executive", "bench_exec"), ("deal_stats_month_manager", "bench_mgr03")):
        actor = User.objects.get(username=username)
        row = {"name": name, "db": args.db, "deals": args.deals, "month": f"{MONTH:%Y-%m}", "runs": args.runs,
               **measure(actor, args.runs), "load_avg_1m": round(load[0], 2)}
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    merge(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
