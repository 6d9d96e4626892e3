"""`python -m bench.imports [--rows 100000 | --million] [--db sqlite|postgres] [--profile]`: the customer
import at scale, beside the raw-SQL limit.

Builds a fresh database (var/bench/imports-<n>.sqlite3, or kehu_bench_imports on PostgreSQL), migrated
through Django with bench.run's production environment, one account manager; writes a generated UTF-8
CSV of <n> rows (Chinese headers, one customer and its first contact per row, kehu.imports.samples).
Measures

* import_raw_sql: the physical limit — the CSV read with the csv module and its rows executemany'd
  into customers_customer and customers_contact (no validation, no search tokens, no history, no
  audit), 1,000 rows per transaction; then deleted again;
* import_dry_run: upload (hash, encoding check, header) + the dry run (every row validated), rows/s;
* import_commit: the commit (re-validation + customer_bulk_create in batches + ImportedRecord links
  + the job's cursor per batch), rows/s;
* import_raw_sql_full: the physical limit of everything the commit wrote — customers, search tokens,
  contacts, history, the customers' audit entries and the import links — read back and executemany'd
  into a freshly migrated scratch database, 2,000 customers per transaction (SQLite only);
* import_total: upload + dry run + commit, rows/s — the figure the ≥ 20,000 rows/s target is about.

Prints one JSON line per benchmark and merges them into bench/results/latest.json (same names replaced)."""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import pstats
import sys
import time

from bench.run import PASSWORD, PG_DB, PG_URL, ROOT, VAR, configure, pg_recreate
from bench.run import merge_results as merge

TARGETS = {"import_total": 20000, "import_dry_run": None, "import_commit": None, "import_raw_sql": None,
           "import_raw_sql_full": None}
SQLITE_TARGETS = {"import_total": 10000}  # issue 10: ≥ 20,000 rows/s on PostgreSQL, ≥ 10,000 on SQLite


def emit(results: list, name: str, rows: int, seconds: float, db: str, raw_rate: float | None = None, **extra):
    rate = rows / seconds
    target = SQLITE_TARGETS.get(name, TARGETS[name]) if db == "sqlite" else TARGETS[name]
    row = {"name": name, "db": db, "rows": rows, "seconds": round(seconds, 2), "rate_per_s": round(rate),
           **extra, "target": f">= {target}/s" if target else "none",
           "met": bool(target is None or rate >= target)}
    if raw_rate:
        row["raw_sql_rate_per_s"] = round(raw_rate)
        row["ratio"] = round(raw_rate / rate, 2)
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


def write_csv(path, n: int) -> None:
    from kehu.imports.samples import HEADERS, sheet_rows

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerows(sheet_rows(n, start=0))


def raw_sql(path, owner) -> tuple[int, float]:
    """csv.reader + executemany of customers and contacts, 1,000 rows per transaction; removed after."""
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.customers.models import Contact, Customer

    now = timezone.now()
    ccols = ["kind", "name", "uscc", "industry", "scale", "province", "city", "district", "address", "source",
             "stage", "status", "needs", "preferences", "pain_points", "owner_id", "department_id", "custom",
             "mobile_enc", "mobile_hash", "mobile_masked", "id_number_enc", "id_number_hash", "id_number_masked",
             "name_normalized", "name_pinyin", "name_initials", "name_core", "created_at", "updated_at"]
    kcols = ["id", "customer_id", "name", "title", "role", "email", "wechat", "mobile_enc", "mobile_hash",
             "mobile_masked", "preferences", "traits", "created_at", "updated_at"]
    ph = ", ".join(["%s"] * len(ccols))
    csql = f"INSERT INTO {Customer._meta.db_table} (id, {', '.join(ccols)}) VALUES (%s, {ph})"
    ksql = f"INSERT INTO {Contact._meta.db_table} ({', '.join(kcols)}) VALUES ({', '.join(['%s'] * len(kcols))})"
    n, cid, kid = 0, 10**9, 10**9
    t = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        while True:
            batch = [r for _i, r in zip(range(1000), reader, strict=False)]
            if not batch:
                break
            customers, contacts = [], []
            for r in batch:
                cid += 1
                kind = "person" if r[1] == "个人" else "organization"
                customers.append((cid, kind, r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], "prospect",
                                  "active", "", "", "", owner.pk, owner.department_id, "{}", "", "", "", "", "", "",
                                  r[0], "", "", "", now, now))
                if r[11]:
                    kid += 1
                    contacts.append((kid, cid, r[11], r[12], "other", r[14], r[15], r[13], "", r[13][:3] + "****",
                                     "", "", now, now))
            with transaction.atomic(), connection.cursor() as cur:
                cur.executemany(csql, customers)
                cur.executemany(ksql, contacts)
            n += len(batch)
    seconds = time.perf_counter() - t
    with transaction.atomic(), connection.cursor() as cur:  # plain DELETEs: the ORM's collector binds every pk
        cur.execute(f"DELETE FROM {Contact._meta.db_table} WHERE id > %s", [10**9])
        cur.execute(f"DELETE FROM {Customer._meta.db_table} WHERE id > %s", [10**9])
    return n, seconds


def raw_sql_full(job_id: int, db_path) -> tuple[int, float]:
    """Everything the import wrote (customers, search tokens, contacts, history, audit entries, links)
    read back and executemany'd into the same tables of a freshly migrated scratch database, 2,000
    customers per transaction: the physical limit of the whole write (SQLite only)."""
    import sqlite3
    import subprocess

    from django.db import connection

    scratch = VAR / "imports-scratch.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        (scratch.parent / (scratch.name + suffix)).unlink(missing_ok=True)
    env = {**os.environ, "KEHU_DATABASE_URL": f"sqlite:///{scratch}"}
    subprocess.run([sys.executable, "-m", "kehu", "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    with connection.cursor() as cur:
        cur.execute("SELECT MIN(customer_id), MAX(customer_id) FROM imports_importedrecord WHERE job_id = %s", [job_id])
        first, last = cur.fetchone()
        data = {}
        for table, key in (("customers_customer", "id"), ("customers_searchdocument", "customer_id"),
                           ("customers_contact", "customer_id"), ("customers_changerecord", "customer_id"),
                           ("imports_importedrecord", "customer_id")):
            cur.execute(f"SELECT * FROM {table} WHERE {key} BETWEEN %s AND %s ORDER BY {key}", [first, last])
            data[table] = ([c[0] for c in cur.description], cur.fetchall(), [c[0] for c in cur.description].index(key))
        cur.execute("SELECT * FROM audit_auditentry WHERE action = 'customer.create' ORDER BY id")
        data["audit_auditentry"] = ([c[0] for c in cur.description], cur.fetchall(), None)
    conn = sqlite3.connect(scratch, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("ATTACH DATABASE ? AS src", [str(db_path)])
    for table in ("access_department", "access_user", "imports_importjob"):
        conn.execute(f"INSERT INTO {table} SELECT * FROM src.{table}")
    conn.execute("DETACH DATABASE src")
    step, n = 2000, last - first + 1
    buckets: dict[str, dict[int, list]] = {}
    for table, (_cols, rows, k) in data.items():
        b = buckets.setdefault(table, {})
        for i, r in enumerate(rows):
            b.setdefault(((r[k] - first) if k is not None else i) // step, []).append(r)
    t = time.perf_counter()
    for batch in range((n + step - 1) // step):
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        for table, (cols, _rows, _k) in data.items():
            cur.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join(['?'] * len(cols))})",
                            buckets[table].get(batch, []))
        cur.execute("COMMIT")
    seconds = time.perf_counter() - t
    conn.close()
    return n, seconds


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 rows")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--profile", action="store_true", help="print the commit's top functions")
    parser.add_argument("--no-write", action="store_true", help="print only, leave latest.json alone")
    opts = parser.parse_args(argv)
    n = 1_000_000 if opts.million else opts.rows

    configure(opts.db, 0)
    if opts.db == "sqlite":
        db_path = VAR / f"imports-{n}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            (db_path.parent / (db_path.name + suffix)).unlink(missing_ok=True)
        os.environ["KEHU_DATABASE_URL"] = f"sqlite:///{db_path}"
    else:
        pg_recreate(PG_DB + "_imports")  # the database PG_URL + "_imports" names (KEHU_BENCH_PG_DB honoured)
        os.environ["KEHU_DATABASE_URL"] = PG_URL + "_imports"
    os.environ["KEHU_VAR_DIR"] = str(VAR / "imports-var")
    (VAR / "imports-var").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from kehu.access.services import department_ensure_path, user_create
    from kehu.imports import services

    call_command("migrate", verbosity=0, interactive=False)
    dept = department_ensure_path(actor=None, path="总部/销售部/华东区")
    rep = user_create(actor=None, username="bench_importer", password=PASSWORD, role="account_manager",
                      department=dept)
    csv_path = VAR / f"import-{n}.csv"
    if not csv_path.exists():
        print(f"# writing {csv_path.name}", file=sys.stderr, flush=True)
        write_csv(csv_path, n)

    results: list = []
    raw_n, raw_s = raw_sql(csv_path, rep)
    raw_rate = raw_n / raw_s
    emit(results, "import_raw_sql", raw_n, raw_s, opts.db)

    from django.conf import settings

    # A 1,000,000-row sheet is ~230 MB, above the 200 MB default upload limit.
    settings.KEHU_IMPORT_MAX_BYTES = max(services.max_bytes(), csv_path.stat().st_size)
    t0 = time.perf_counter()
    with open(csv_path, "rb") as fh:
        job = services.import_upload(actor=rep, file_name=csv_path.name, chunks=iter(lambda: fh.read(1 << 20), b""))
    from django.test.utils import override_settings

    with override_settings(KEHU_IMPORT_INLINE_BYTES=1 << 40):  # the dry run in this process, as the worker does
        job = services.import_dry_run(actor=rep, job_id=job.pk)
    t1 = time.perf_counter()
    assert job.error_rows == 0, f"{job.error_rows} unexpected errors"
    job = services.import_commit(actor=rep, job_id=job.pk, mode="all")
    profiler = cProfile.Profile() if opts.profile else None
    if profiler:
        profiler.enable()
    services.import_commit_run(job.pk, job.attempt)
    if profiler:
        profiler.disable()
    t2 = time.perf_counter()
    job.refresh_from_db()
    assert job.state == "done" and job.imported_rows == n, (job.state, job.imported_rows, job.message)
    emit(results, "import_dry_run", n, t1 - t0, opts.db)
    emit(results, "import_commit", n, t2 - t1, opts.db)
    extra = {}
    if opts.db == "sqlite":
        full_n, full_s = raw_sql_full(job.pk, db_path)
        emit(results, "import_raw_sql_full", full_n, full_s, opts.db)
        extra["raw_sql_full_rate_per_s"] = round(full_n / full_s)
    emit(results, "import_total", n, t2 - t0, opts.db, raw_rate=raw_rate, **extra,
         note="total = upload + dry run + commit (validation, search tokens, history, audit chain, links); "
              "raw_sql = customers and contacts only; raw_sql_full = every row the import wrote")
    if profiler:
        profiler.dump_stats(str(VAR / "import-commit.prof"))
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    if not opts.no_write:
        merge(results, ROOT / "bench" / "results" / "latest.json")
    return results


if __name__ == "__main__":
    main()
