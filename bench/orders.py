"""`python -m bench.orders [--scale 100000] [--db sqlite|postgres] [--customers N]`: order import at scale,
beside the raw-SQL limit.

Builds a fresh database (var/bench/orders-<n>.sqlite3, or $KEHU_BENCH_PG_NAME, default kehu_bench_perf_orders, on PostgreSQL), migrated,
one account manager owning ``--customers`` customers (default scale / 100; the first 1,000 through
customer_bulk_create, any more cloned from them set-based in SQL, as bench.grading does), and a generated UTF-8 CSV of <n> orders (Chinese headers: 订单号, 客户编号,
订单日期, 产品线, 数量, 单位, 金额, 渠道). Measures

* orders_import_dry_run: kehu.orders.imports.order_import(dry_run=True) — every row read, customer
  looked up in scope, validated (dates, decimals, units → tonnes), external ids checked; rows/s;
* orders_import_commit: the same with the write: batches of 5,000 rows (20,000 on PostgreSQL), each one
  transaction with a bulk insert and one audit entry; rows/s (the figure of issue 11's "order import ≥ 20,000 rows/s");
* orders_raw_sql: the physical limit — the CSV read with the csv module and its rows executemany'd
  (SQLite) or COPY'd (PostgreSQL) into orders_order, 5,000 rows per transaction, no validation, no
  audit; then deleted again.

Prints one JSON line per benchmark and merges them into bench/results/latest.json."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sys
import time

from bench.run import PASSWORD, PG_URL, VAR, configure, pg_recreate

TARGETS = {"orders_import_commit": 20000, "orders_import_dry_run": None, "orders_raw_sql": None}
TEMPLATES = 1000  # customers made through the service; more are cloned in SQL
HEADERS = ["订单号", "客户编号", "订单日期", "产品线", "数量", "单位", "金额", "渠道"]


def emit(results, name, rows, seconds, db, raw_rate=None, **extra):
    rate = rows / seconds
    target = TARGETS[name]
    row = {"name": name, "db": db, "rows": rows, "seconds": round(seconds, 2), "rate_per_s": round(rate), **extra,
           "target": f">= {target}/s" if target else "none", "met": bool(target is None or rate >= target)}
    if raw_rate:
        row["raw_sql_rate_per_s"] = round(raw_rate)
        row["ratio"] = round(raw_rate / rate, 2)
    row["load_avg_1m"] = round(os.getloadavg()[0], 1)
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


def write_csv(path, n: int, customer_ids: list[int]) -> None:
    rng = random.Random(11)
    start = dt.date(2025, 1, 1)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(n):
            line = "聚乙烯 PE" if i % 3 else "聚丙烯 PP"
            kg = i % 10 == 0
            q = rng.randint(1, 400_000) / 1000 * (1000 if kg else 1)
            w.writerow([f"SO{i:09d}", customer_ids[i % len(customer_ids)],
                        (start + dt.timedelta(days=i % 365)).isoformat(), line, f"{q:.3f}", "千克" if kg else "吨",
                        f"{q * (8 if kg else 8000):.2f}", "直销" if i % 4 else "经销商"])


def clone_customers(db: str, n: int) -> None:
    """The customers beyond the first TEMPLATES cloned set-based (bench.clone: every column of a template, owner
    included; a serial in the name; USCC cleared; no search documents or contacts, which the import never reads)."""
    from django.db import connection, transaction

    from bench import clone
    from kehu.customers.models import Customer

    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    with transaction.atomic(), connection.cursor() as cur:
        clone.clone_customers(cur, db, n - len(ids), first=ids[0], count=len(ids), overrides=clone.SERIAL_NAMES)
        cur.execute("ANALYZE customers_customer")


def raw_sql(path, db: str, owner_id: int) -> tuple[int, float]:
    from django.db import connection, transaction
    from django.utils import timezone

    cols = ["id", "customer_id", "external_id", "source", "order_date", "product_line", "quantity", "unit",
            "quantity_t", "amount", "currency", "channel", "created_at", "created_by_id"]
    now = timezone.now()
    channels = {"直销": "direct", "经销商": "dealer"}
    units = {"吨": ("t", 1), "千克": ("kg", 0.001)}
    n, oid = 0, 10**12
    t = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        while True:
            batch = [r for _i, r in zip(range(5000), reader, strict=False)]
            if not batch:
                break
            rows = []
            for r in batch:
                oid += 1
                unit, factor = units[r[5]]
                rows.append((oid, int(r[1]), "raw" + r[0], "import", r[2], r[3], r[4], unit,
                             round(float(r[4]) * factor, 3), r[6], "CNY", channels[r[7]], now, owner_id))
            with transaction.atomic(), connection.cursor() as cur:
                if db == "postgres":
                    with cur.cursor.copy(f"COPY orders_order ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cur.executemany(f"INSERT INTO orders_order ({', '.join(cols)}) "
                                    f"VALUES ({', '.join(['%s'] * len(cols))})", rows)
            n += len(batch)
    seconds = time.perf_counter() - t
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM orders_order WHERE id > %s", [10**12])
    return n, seconds


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=100_000, help="orders in the file")
    parser.add_argument("--customers", type=int, default=0, help="default: scale / 100, at least 100")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-write", action="store_true", help="print only, leave latest.json alone")
    parser.add_argument("--profile", default="", help="write a cProfile of the commit to this file")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the database's customers and the CSV "
                        "of an earlier run of the same size; only the orders are emptied")
    opts = parser.parse_args(argv)
    n = opts.scale
    n_customers = opts.customers or max(100, n // 100)
    configure(opts.db, 0)
    if opts.db == "sqlite":
        opts.reuse = False
        db_path = VAR / f"orders-{n}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            (db_path.parent / (db_path.name + suffix)).unlink(missing_ok=True)
        os.environ["KEHU_DATABASE_URL"] = f"sqlite:///{db_path}"
    else:
        name = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_perf_orders")
        if not (opts.reuse and (VAR / f"orders-{n}.csv").exists()):
            opts.reuse = False
            pg_recreate(name)
        os.environ["KEHU_DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/" + name
    os.environ["KEHU_VAR_DIR"] = str(VAR / "orders-var")
    (VAR / "orders-var").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from kehu.access.services import department_ensure_path, user_create
    from kehu.customers import services as customer_services
    from kehu.demo.generators import customer_rows

    if opts.reuse:
        return measure(opts, n, n_customers)
    call_command("migrate", verbosity=0, interactive=False)
    dept = department_ensure_path(actor=None, path="总部/销售部/华东区")
    rep = user_create(actor=None, username="bench_orders", password=PASSWORD, role="account_manager", department=dept)
    print(f"# {n_customers} customers", file=sys.stderr, flush=True)
    rows = []
    for row in customer_rows(min(n_customers, TEMPLATES), seed=5, contacts_per_customer=0):
        row["owner"] = rep
        row.pop("id_number", None)  # an ID number needs the person's separate consent; orders need none
        rows.append(row)
    customer_services.customer_bulk_create(actor=rep, rows=rows,
                                           basis={"basis": "contract", "purpose": "客户关系管理与合同履行"})
    from kehu.customers.models import Customer

    # Admitted customers: the import refuses orders for those pending admission (kehu.customers.gates), and
    # the generated book's stages leave most of them pending.
    Customer.objects.update(status="active")
    if n_customers > TEMPLATES:
        t = time.perf_counter()
        clone_customers(opts.db, n_customers)
        print(f"# cloned to {n_customers} customers in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
    csv_path = VAR / f"orders-{n}.csv"
    print(f"# writing {csv_path.name}", file=sys.stderr, flush=True)
    write_csv(csv_path, n, ids)
    return measure(opts, n, n_customers)


def measure(opts, n: int, n_customers: int) -> list:
    from django.db import connection

    from kehu.access.models import User
    from kehu.orders.imports import order_import
    from kehu.orders.models import Order

    rep = User.objects.get(username="bench_orders")
    csv_path = VAR / f"orders-{n}.csv"
    if opts.reuse:  # the orders of the earlier run go (other tables may reference them: no TRUNCATE)
        with connection.cursor() as cur:
            cur.execute("DELETE FROM orders_payment")
            cur.execute("DELETE FROM orders_order")
            cur.execute("VACUUM ANALYZE orders_order")
    results: list = []
    raw_n, raw_s = raw_sql(csv_path, opts.db, rep.pk)
    raw_rate = raw_n / raw_s
    emit(results, "orders_raw_sql", raw_n, raw_s, opts.db,
         method="COPY" if opts.db == "postgres" else "executemany")
    t0 = time.perf_counter()
    report = order_import(actor=rep, path=csv_path, file_name=csv_path.name, dry_run=True)
    t1 = time.perf_counter()
    assert report.error_count == 0, report.errors[:3]
    emit(results, "orders_import_dry_run", n, t1 - t0, opts.db, raw_rate=raw_rate)
    profiler = None
    if opts.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    report = order_import(actor=rep, path=csv_path, file_name=csv_path.name, dry_run=False)
    t2 = time.perf_counter()
    if profiler:
        profiler.disable()
        profiler.dump_stats(opts.profile)
    assert report.written == n == Order.objects.count(), (report.written, n)
    emit(results, "orders_import_commit", n, t2 - t1, opts.db, raw_rate=raw_rate, customers=n_customers,
         note="commit = read + validate + scope lookup + bulk insert + audit per batch (5,000 rows a "
              "transaction on SQLite; 20,000 on PostgreSQL, validated in SQL, customers table locked per batch)")
    if not opts.no_write:
        from bench.run import merge_results as merge_by_db

        merge_by_db(results)  # by (name, db): the SQLite and PostgreSQL figures side by side
    return results


if __name__ == "__main__":
    main()
