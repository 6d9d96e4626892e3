"""`python -m bench.qualification --customers 1000000 --documents 3000000 [--db sqlite|postgres] [--reuse]`: the
nightly expiry sweep (证照到期检查: suspend, reinstate, remind) at scale, beside the raw SQL of the same work.

Dataset (var/bench/qualification-<customers>-<documents>.sqlite3, or the PostgreSQL database
kehu_bench_admission; never in git; ``--reuse`` keeps it when its meta file matches): migrated; 10 departments
with 5 account managers each and an admin; 1,000 template companies through the real service
(customer_bulk_create — they start pending — then customers_admit_established, set-based), cloned in SQL up to
<customers> (all active). <documents> documents in one INSERT … SELECT from integer hashes of the serial (same
rows on both databases): customer = serial mod customers (so every customer gets documents/customers of them),
kind cycling business licence (no end date: 长期), invoicing data (none), product licence (危险化学品经营许可证,
valid to anchor − 3 … anchor + 1,096 days: about 0.3 % already expired, 2.7 % expiring within 30 days — a
night's work after a lapse of a few days), all verified and in force.

Measures (each a JSON line, merged into bench/results/latest.json by name and db):

* qualification_sweep: kehu.qualification.services.expiry_sweep(today=anchor) — the set-based suspension
  (UPDATE … RETURNING), its version stamps and one audit entry per suspended customer (executemany), the
  reinstatement statement, the owners' notifications and up to 5,000 reminders — in one transaction;
* qualification_sweep_next_day: the same the next day (only the newly expired);
* raw: the suspend and reinstate statements alone through the bare cursor, in a transaction rolled back, run
  before each sweep on the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from bench.clone import SERIAL_NAMES, clone_customers, series
from bench.run import FIELD_KEY, PASSWORD, ROOT, SECRET, VAR
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PG_NAME = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_admission")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
TEMPLATES = 1000
TARGETS = {"qualification_sweep": ("seconds", 10), "qualification_sweep_next_day": ("seconds", 10)}


def paths(db: str, customers: int, documents: int) -> tuple[str, Path]:
    VAR.mkdir(parents=True, exist_ok=True)
    if db == "sqlite":
        base = Path(os.environ.get("KEHU_BENCH_SQLITE_DIR", str(VAR)))
        base.mkdir(parents=True, exist_ok=True)
        file = base / f"qualification-{customers}-{documents}.sqlite3"
        return f"sqlite:///{file}", base / f"qualification-{customers}-{documents}.meta.json"
    return PG_URL, VAR / f"qualification-pg-{PG_NAME}.meta.json"


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


def build(db: str, customers: int, documents: int, anchor: dt.date) -> dict:
    from django.core.management import call_command
    from django.db import connection, transaction

    from kehu.access.services import department_ensure_path, user_create
    from kehu.customers.models import Customer
    from kehu.customers.services import customer_bulk_create
    from kehu.demo.generators import customer_rows
    from kehu.qualification.services import customers_admit_established

    meta: dict = {"customers": customers, "documents": documents, "anchor": anchor.isoformat()}
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    admin = user_create(actor=None, username="bench_admin", password=PASSWORD, role="admin",
                        department=department_ensure_path(actor=None, path="总部"))
    reps = []
    for d in range(10):
        dept = department_ensure_path(actor=None, path=f"总部/销售部/区域{d:02d}")
        for r in range(5):
            reps.append(user_create(actor=None, username=f"bench_rep{d:02d}{r}", password=PASSWORD,
                                    role="account_manager", department=dept))
    rows = []
    for i, row in enumerate(customer_rows(min(TEMPLATES, customers), contacts_per_customer=0)):
        row["owner"] = reps[i % len(reps)]
        row["kind"] = "organization"
        row.pop("id_number", None)
        row.pop("mobile", None)
        rows.append(row)
    customer_bulk_create(actor=admin, rows=rows, basis={"basis": "contract", "purpose": "客户关系管理与合同履行"})
    customers_admit_established(actor=admin, customer_ids=Customer.objects.values_list("pk", flat=True),
                                reason="bench: established book")
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    first, count = ids[0], len(ids)
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        clone_customers(cur, db, customers - count, first=first, count=count, overrides=SERIAL_NAMES)
    meta["clone_seconds"] = round(time.perf_counter() - t, 1)
    lo = first
    ncust = max(customers, count)
    span = 1100
    offset = f"(((s.n * 2654435761) % 4294967291) % {span}) - 3"
    if db == "postgres":
        valid_to = f"(DATE '{anchor.isoformat()}' + CAST({offset} AS integer))"
        now, true = "now()", "TRUE"
    else:
        valid_to = f"date('{anchor.isoformat()}', ({offset}) || ' days')"
        now, true = "strftime('%Y-%m-%d %H:%M:%f', 'now')", "1"
    kind = "CASE s.n % 3 WHEN 0 THEN 'business_licence' WHEN 1 THEN 'invoicing' ELSE 'product_licence' END"
    title = "CASE s.n % 3 WHEN 2 THEN '危险化学品经营许可证' ELSE '' END"
    to = f"CASE s.n % 3 WHEN 2 THEN {valid_to} ELSE NULL END"
    # The version makes (customer, kind, title, version) unique when a customer gets several of one kind.
    version = f"1 + (s.n - 1) / ({ncust} * 3)"
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if db == "postgres":
            cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            "INSERT INTO qualification_document (customer_id, kind, title, version, number, issuer, valid_from, "
            "valid_to, bank, account_number, invoice_address, invoice_phone, file_name, content_type, size, sha256, "
            "stored_name, verification, verified_by_id, verified_at, verification_note, current, reminded_at, "
            "uploaded_by_id, created_at) "
            f"SELECT {lo} + ((s.n - 1) / 3) % {ncust}, {kind}, {title}, {version}, 'No.' || CAST(s.n AS TEXT), "
            f"'市场监督管理局', NULL, {to}, '', '', '', '', '', '', 0, '', '', 'verified', {admin.pk}, {now}, '', {true}, "
            f"NULL, {admin.pk}, {now} FROM {series(db, documents)}")
        if documents <= 3 * ncust:
            pass  # one document of each kind per customer: nothing to retire
        elif db == "postgres":
            # One version in force per customer, kind and title: keep the newest when the serial wrapped around.
            cur.execute("UPDATE qualification_document d SET current = FALSE WHERE EXISTS (SELECT 1 FROM "
                        "qualification_document e WHERE e.customer_id = d.customer_id AND e.kind = d.kind AND "
                        "e.title = d.title AND e.version > d.version)")
        else:
            cur.execute("UPDATE qualification_document SET current = 0 WHERE EXISTS (SELECT 1 FROM "
                        "qualification_document e WHERE e.customer_id = qualification_document.customer_id AND "
                        "e.kind = qualification_document.kind AND e.title = qualification_document.title AND "
                        "e.version > qualification_document.version)")
    meta["documents_seconds"] = round(time.perf_counter() - t, 1)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    meta["build_seconds"] = round(time.perf_counter() - t0, 1)
    return meta


def raw_sweep(today: dt.date) -> tuple[float, int]:
    """The two set-based statements alone, through the bare cursor, rolled back."""
    from django.db import connection, transaction

    true = True
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE customers_customer SET status = 'suspended', version = version + 1 WHERE status = 'active' "
                    "AND deleted_at IS NULL AND id IN (SELECT customer_id FROM qualification_document WHERE current = %s "
                    "AND valid_to < %s) RETURNING id, name", [true, today])
        n = len(cur.fetchall())
        cur.execute("UPDATE customers_customer SET status = 'active', version = version + 1 WHERE status = 'suspended' "
                    "AND id IN (SELECT q.customer_id FROM qualification_customerqualification q WHERE "
                    "q.suspended_by_documents = %s AND NOT EXISTS (SELECT 1 FROM qualification_document d WHERE "
                    "d.customer_id = q.customer_id AND d.current = %s AND d.valid_to < %s)) RETURNING id, name",
                    [true, true, today])
        cur.fetchall()
        transaction.set_rollback(True)
    return time.perf_counter() - t, n


def emit(results: list, row: dict) -> None:
    key, target = TARGETS.get(row["name"], (None, None))
    if key:
        row["target"] = f"<= {target} s"
        row["met"] = row[key] <= target
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)



def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--documents", type=int, default=30_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--reuse", action="store_true", help="keep a dataset of the same size")
    parser.add_argument("--no-merge", action="store_true", help="print only; do not write bench/results/latest.json")
    args = parser.parse_args(argv)
    url, meta_file = paths(args.db, args.customers, args.documents)
    configure(url)
    meta = None
    if args.reuse and meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if (meta.get("customers"), meta.get("documents")) != (args.customers, args.documents):
            meta = None
    import django

    if meta is None:
        wipe(args.db, url)
        django.setup()
        meta = build(args.db, args.customers, args.documents, dt.date.today())
        meta_file.write_text(json.dumps(meta))
        print(f"# built {json.dumps(meta)}", file=sys.stderr, flush=True)
    else:
        django.setup()
    from django.db import connection, transaction

    from kehu.qualification.services import expiry_sweep

    anchor = dt.date.fromisoformat(meta["anchor"])
    # A reused dataset: undo an earlier run's suspensions and reminders so each run measures the same night.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE customers_customer SET status = 'active' WHERE status = 'suspended'")
        cur.execute("DELETE FROM qualification_customerqualification")
        cur.execute("UPDATE qualification_document SET reminded_at = NULL WHERE reminded_at IS NOT NULL")
    results: list = []
    scale = {"customers": args.customers, "documents": args.documents, "db": args.db}
    for name, day in (("qualification_sweep", anchor), ("qualification_sweep_next_day", anchor + dt.timedelta(days=1))):
        raw_s, _n = raw_sweep(day)
        t = time.perf_counter()
        out = expiry_sweep(today=day)
        seconds = time.perf_counter() - t
        emit(results, {"name": name, **scale, "load_avg_1m": round(os.getloadavg()[0], 1), "seconds": round(seconds, 2),
                       "raw_sql_seconds": round(raw_s, 2), "ratio": round(seconds / raw_s, 1) if raw_s else None,
                       "suspended": out["suspended"], "reinstated": out["reinstated"], "reminded": out["reminded"],
                       "today": day.isoformat()})
    if not args.no_merge:
        merge(results)
    return results


if __name__ == "__main__":
    main()
