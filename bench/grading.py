"""`python -m bench.grading --customers 10000 --orders 100000 [--db sqlite|postgres]`: regrading at scale.

Builds var/bench/grading-<customers>.sqlite3 (or the kehu_bench_grading PostgreSQL database) with bench.run's
environment: one admin and rep, <customers> customers (kehu.customers.services.customer_bulk_create, stage
"customer"), <orders> polyolefin orders over the last 12 months (bulk_create in batches of 5,000). Measures

* grading_preview: kehu.grading.services.run_preview on an active threshold policy (monthly pickup, 3 months)
  — SQL metrics + pure kind, writes nothing; raw SQL: the same GROUP BY per customer and month through the
  database cursor;
* grading_regrade: run_start + run_execute (upsert of every current grade and history in batches) on the
  first run (every customer new), seconds;
* grading_regrade_again: the next run (few changes);
* grade_history_page: GET /grading/customers/<id>/ through Django's test client, p50/p95 over 200 requests.

Prints one JSON line per benchmark and merges them into bench/results/latest.json (same names replaced).
The issue's targets (1,000,000 customers / 10,000,000 orders ≤ 60 s) are for a full-scale run."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PG_URL = os.environ.get("KEHU_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/kehu_bench_grading")


def configure(db: str, customers: int) -> None:
    from bench.run import FIELD_KEY, SECRET

    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'grading-{customers}.sqlite3'}" if db == "sqlite" else PG_URL
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    os.environ.update(KEHU_SECRET_KEY=SECRET, KEHU_FIELD_KEYS=FIELD_KEY, KEHU_DATABASE_URL=url,
                      DJANGO_SETTINGS_MODULE="kehu.settings", KEHU_VAR_DIR=str(ROOT / "var"),
                      KEHU_NOTIFY_CHANNELS="inapp")
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(VAR / f"grading-{customers}.sqlite3") + suffix).unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS kehu_bench_grading WITH (FORCE)")
            conn.execute("CREATE DATABASE kehu_bench_grading")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def emit(results: list, row: dict) -> None:
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


def build(customers: int, orders: int):
    import django

    django.setup()
    from django.core.management import call_command

    from kehu.access.services import department_ensure_path, user_create
    from kehu.customers.models import Customer
    from kehu.customers.services import customer_bulk_create
    from kehu.demo.generators import customer_rows
    from kehu.orders.models import Order

    call_command("migrate", verbosity=0, interactive=False)
    dept = department_ensure_path(actor=None, path="总部/销售部/华东区")
    admin = user_create(actor=None, username="bench_admin", password="Kehu#Bench2026", role="admin",
                        department=department_ensure_path(actor=None, path="总部"))
    rep = user_create(actor=None, username="bench_rep", password="Kehu#Bench2026", role="account_manager",
                      department=dept)
    loaded = 0
    while loaded < customers:
        n = min(5000, customers - loaded)
        rows = []
        for row in customer_rows(n, start=loaded, contacts_per_customer=0):
            row["owner"] = rep
            rows.append(row)
        customer_bulk_create(actor=admin, rows=rows)
        loaded += n
    Customer.objects.update(stage="customer")
    ids = list(Customer.objects.values_list("pk", flat=True))
    rng = random.Random(11)
    today = dt.date.today()
    batch = []
    t = time.perf_counter()
    for _i in range(orders):
        tonnes = Decimal(rng.choice((50, 200, 400, 800, 1200, 2500))) + Decimal(rng.randrange(1000)) / 10
        batch.append(Order(customer_id=ids[rng.randrange(len(ids))], order_date=today - dt.timedelta(
            days=rng.randrange(365)), product_line="聚乙烯", quantity=tonnes, unit="t", quantity_t=tonnes,
            amount=tonnes * 8000, gross_margin=tonnes * 600))
        if len(batch) == 5000:
            Order.objects.bulk_create(batch)
            batch = []
    if batch:
        Order.objects.bulk_create(batch)
    print(f"# {orders} orders in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    return admin, ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    configure(args.db, args.customers)
    admin, ids = build(args.customers, args.orders)

    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    reverse("grading:movements")  # import the URLconf now, not inside the first timed run

    from kehu.grading import services
    from kehu.grading.kinds import threshold

    policy = services.policy_create(actor=admin, name="聚烯烃月提货量分级", kind="threshold",
                                    config={**threshold.DEFAULT_CONFIG, "months": 3})
    services.policy_activate(actor=admin, policy_id=policy.pk)
    as_of = services.default_as_of()
    scale = {"customers": args.customers, "orders": args.orders, "db": args.db}
    results: list = []

    t = time.perf_counter()
    preview = services.run_preview(actor=admin, policy_id=policy.pk, as_of=as_of)
    preview_s = time.perf_counter() - t
    first = as_of.replace(day=1) - dt.timedelta(days=62)
    month = "strftime('%Y-%m', order_date)" if args.db == "sqlite" else "date_trunc('month', order_date)"
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(f"SELECT customer_id, {month}, SUM(quantity_t), SUM(amount), COUNT(*) FROM orders_order "
                    f"WHERE order_date >= %s AND order_date <= %s GROUP BY customer_id, {month}",
                    [first.replace(day=1), as_of])
        raw_rows = len(cur.fetchall())
    raw_s = time.perf_counter() - t
    emit(results, {"name": "grading_preview", **scale, "seconds": round(preview_s, 3), "raw_sql_seconds":
                   round(raw_s, 3), "ratio": round(preview_s / raw_s, 1) if raw_s else None,
                   "changed": preview["changed"], "metric_rows": raw_rows})

    for name in ("grading_regrade", "grading_regrade_again"):
        t = time.perf_counter()
        run = services.run_execute(run_id=services.run_start(actor=admin, policy_id=policy.pk, as_of=as_of).pk)
        seconds = time.perf_counter() - t
        emit(results, {"name": name, **scale, "seconds": round(seconds, 3), "changed": run.changed,
                       "raw_sql_seconds": round(raw_s, 3), "ratio": round(seconds / raw_s, 1) if raw_s else None})

    client = Client()
    client.force_login(admin)
    times = []
    for i in range(200):
        cid = ids[i * 7919 % len(ids)]
        t = time.perf_counter()
        response = client.get(f"/grading/customers/{cid}/", HTTP_HOST="localhost")
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.status_code
    t = time.perf_counter()
    with connection.cursor() as cur:
        for i in range(200):
            cur.execute("SELECT * FROM grading_gradehistory WHERE customer_id = %s ORDER BY created_at DESC, id DESC "
                        "LIMIT 100", [ids[i * 7919 % len(ids)]])
            cur.fetchall()
    raw_ms = (time.perf_counter() - t) * 1000 / 200
    emit(results, {"name": "grade_history_page", **scale, "p50_ms": round(pct(times, 50), 2),
                   "p95_ms": round(pct(times, 95), 2), "raw_sql_ms": round(raw_ms, 3)})

    try:
        existing = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        existing = []
    names = {r["name"] for r in results}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([r for r in existing if r.get("name") not in names] + results, ensure_ascii=False,
                                  indent=1))


if __name__ == "__main__":
    main()
