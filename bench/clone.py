"""Set-based dataset building shared by the benchmark modules.

A million customers through the real services takes hours; the benchmarks that measure something else than the
customer write path create a few templates through the services and clone them in SQL, one ``INSERT … SELECT``
over a row source of integers (PostgreSQL ``generate_series``, SQLite a recursive CTE). Row ``s.n`` of the source
copies template ``first + s.n % count``; every column is copied unless an override gives its SQL expression (which
may use ``t.`` for the template's columns and ``s.n`` for the serial).

Overrides and ``where`` are inserted as SQL: they are the benchmark's own constants, never user input. When
``params`` are given the statement goes through the driver's parameter substitution, so a literal ``%`` in an
override must be written ``%%`` (the join's own modulo is written accordingly).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The overrides most modules use: a serial in the name so that names stay distinct, USCC cleared (it is unique
# among live customers), the normalised name following the name.
SERIAL_NAMES = {
    "name": "t.name || '·' || CAST(s.n AS TEXT)",
    "uscc": "''",
    "name_normalized": "t.name_normalized || CAST(s.n AS TEXT)",
}


def series(db: str, n: int, start: int = 1) -> str:
    """A row source ``s(n)`` of the integers start … start + n - 1."""
    last = int(start) + int(n) - 1
    if db == "postgres":
        return f"generate_series(CAST({int(start)} AS bigint), {last}) AS s(n)"
    return (f"(WITH RECURSIVE r(n) AS (SELECT {int(start)} UNION ALL SELECT n + 1 FROM r WHERE n < {last}) "
            "SELECT n FROM r) AS s")


def clone(cur, model, source: str, *, template: int, count: int = 1, overrides: dict | None = None,
          where: str = "", params: list | None = None, cycle: str = "s.n") -> None:
    """``INSERT INTO <model's table> … SELECT`` one copy of a template per row of ``source``.

    ``source`` is a FROM item (``series(...)``, or a table with an alias); with ``count`` > 1 the row copies
    template ``template + <cycle> % count`` (the templates' ids must be consecutive)."""
    table = model._meta.db_table
    cols = [f.column for f in model._meta.concrete_fields if f.column != "id"]
    overrides = overrides or {}
    select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
    mod = "%%" if params else "%"
    on = f"t.id = {int(template)}" if count == 1 else f"t.id = {int(template)} + ({cycle} {mod} {int(count)})"
    sql = (f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {source} JOIN {table} t ON {on}"
           + (f" WHERE {where}" if where else ""))
    cur.execute(sql, params)


def clone_customers(cur, db: str, n: int, *, first: int, count: int = 1, overrides: dict | None = None,
                    params: list | None = None, start: int = 1) -> None:
    """``n`` customers cloned from the ``count`` consecutive templates starting at id ``first``."""
    from kehu.customers.models import Customer

    if n > 0:
        clone(cur, Customer, series(db, n, start), template=first, count=count, overrides=overrides, params=params)


def grow_run_dataset(db: str, scale: int) -> dict:
    """Grow bench.run's dataset, already built through the real bulk service, to ``scale`` customers in SQL.

    Runs in a process configured (``bench.run.configure``) for the database to grow. Each round copies every
    template customer once (``INSERT … SELECT … ORDER BY id``: the copies get consecutive ids in the templates'
    order, which the round checks), then their contacts and search documents, so that the list, the search and
    the detail read what they read on a real book of that size. The copies keep the templates' owners,
    departments, cities, pinyin and terms (the name gets ``·<round>``, the USCC is cleared); their contacts keep
    the templates' mobiles, so a mobile or 尾号 matches one customer per round. No history or audit rows are
    copied (the reads measured don't read them)."""
    import django

    django.setup()
    from django.db import connection, transaction

    from kehu.customers.models import Contact, Customer, SearchDocument

    with connection.cursor() as cur:
        cur.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM customers_customer")
        first, last, count = cur.fetchone()
    if last - first + 1 != count:
        raise SystemExit(f"the templates' ids are not consecutive ({first}..{last}, {count} rows)")
    customer_cols = [f.column for f in Customer._meta.concrete_fields if f.column != "id"]
    contact_cols = [f.column for f in Contact._meta.concrete_fields if f.column != "id"]
    doc_cols = ["customer_id", "terms"]
    rounds = 0
    total = count
    while total < scale:
        n = min(count, scale - total)
        rounds += 1
        over = {**SERIAL_NAMES, "name": f"t.name || '·{rounds}'", "name_normalized": f"t.name_normalized || '{rounds}'"}
        cust_select = ", ".join(over.get(c, f"t.{c}") for c in customer_cols)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT MAX(id) FROM customers_customer")
            base = cur.fetchone()[0] + 1
            cur.execute(f"INSERT INTO customers_customer ({', '.join(customer_cols)}) SELECT {cust_select} "
                        f"FROM customers_customer t WHERE t.id BETWEEN {first} AND {first + n - 1} ORDER BY t.id")
            shift = base - first
            cur.execute(f"SELECT COUNT(*) FROM customers_customer c JOIN customers_customer t ON t.id = c.id - {shift} "
                        f"WHERE c.id BETWEEN {base} AND {base + n - 1} AND c.name = t.name || '·{rounds}'")
            if cur.fetchone()[0] != n:
                raise SystemExit("the copies did not get consecutive ids in the templates' order")
            contact_select = ", ".join({"customer_id": f"t.customer_id + {shift}", "reports_to_id": "NULL"}
                                       .get(c, f"t.{c}") for c in contact_cols)
            cur.execute(f"INSERT INTO customers_contact ({', '.join(contact_cols)}) SELECT {contact_select} "
                        f"FROM customers_contact t WHERE t.customer_id BETWEEN {first} AND {first + n - 1}")
            cur.execute(f"INSERT INTO {SearchDocument._meta.db_table} ({', '.join(doc_cols)}) "
                        f"SELECT t.customer_id + {shift}, t.terms FROM {SearchDocument._meta.db_table} t "
                        f"WHERE t.customer_id BETWEEN {first} AND {first + n - 1}")
        total += n
        print(f"# cloned {total}/{scale}", file=sys.stderr, flush=True)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {"templates": count, "rounds": rounds, "customers": total}


def grow_main(argv=None) -> dict:
    """``python -m bench.clone --db postgres --scale 1000000 [--templates 20000]``: bench.run's dataset at
    ``--scale`` for the read benchmarks and the load test (bench.run --reuse, bench.load --reuse), in minutes
    instead of hours: ``--templates`` customers through the real bulk service (bench.run.build, which also
    measures the bulk load at that size), then grown in SQL (grow_run_dataset). Its meta says ``cloned_from``, so
    bench.run reports no bulk-load figure for the grown size."""
    import argparse
    import json
    import os
    import shutil
    import subprocess
    import time

    from bench.run import ROOT, VAR, meta_path

    ap = argparse.ArgumentParser(description=grow_main.__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--templates", type=int, default=20_000)
    args = ap.parse_args(argv)
    if args.templates >= args.scale:
        raise SystemExit("--templates must be below --scale")
    t = time.perf_counter()
    code = ("from bench.run import configure, build; "
            f"configure({args.db!r}, {args.templates}); build({args.db!r}, {args.templates}, False)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=os.environ.copy())
    build_seconds = time.perf_counter() - t
    meta = json.loads(meta_path(args.db, args.templates).read_text())
    if args.db == "sqlite":
        src, dst = VAR / f"kehu-{args.templates}.sqlite3", VAR / f"kehu-{args.scale}.sqlite3"
        for suffix in ("-wal", "-shm", ""):
            Path(str(dst) + suffix).unlink(missing_ok=True)
        import sqlite3

        with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
            a.backup(b)
        shutil.copyfile(meta_path(args.db, args.templates), meta_path(args.db, args.scale))
    else:  # grown in place: the templates' meta no longer describes the database
        meta_path(args.db, args.templates).unlink()
    t = time.perf_counter()
    code = ("import json; from bench.run import configure; from bench.clone import grow_run_dataset; "
            f"configure({args.db!r}, {args.scale}); print(json.dumps(grow_run_dataset({args.db!r}, {args.scale})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=os.environ.copy(),
                          stdout=subprocess.PIPE, text=True)
    grown = json.loads(done.stdout.strip().splitlines()[-1])
    meta.update(scale=args.scale, cloned_from=args.templates, templates_build_seconds=round(build_seconds, 1),
                clone_seconds=round(time.perf_counter() - t, 1), **grown)
    meta_path(args.db, args.scale).write_text(json.dumps(meta, ensure_ascii=False))
    print(json.dumps({k: v for k, v in meta.items() if k != "mobiles"}, ensure_ascii=False))
    return meta


if __name__ == "__main__":
    grow_main()
