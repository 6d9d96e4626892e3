"""`python -m bench.visits [--reps 1000] [--per-rep 1000] [--db sqlite|postgres] [--reuse]`: annual visit plan
generation (年度客户走访计划) for every account manager of a company, beside the raw SQL of the same rows.

Dataset (var/bench/visits-<reps>x<per-rep>.sqlite3, or the PostgreSQL database kehu_bench_visits; never in git;
rebuilt on each run unless ``--reuse`` finds one of the same size, whose plans and visits are then emptied):
migrated; an admin, <reps> account managers in 10 departments (bulk-created rows with
unusable passwords: hashing 1,000 passwords is not what is measured); one template customer through the ORM,
cloned set-based in SQL (PostgreSQL ``generate_series``, SQLite a recursive CTE) to <reps> × <per-rep>
customers, <per-rep> per account manager. No grades: every customer takes KEHU_VISITS["default_per_year"]
(4) visits — the grades are still read (one service policy exists, of a grade nobody has: the customers are read
with their grades joined).

Measures (one JSON line each, merged into bench/results/latest.json by name and db):

* visit_plan_generation: ``plans_generate_company`` (the service: scope, one plan per rep, every customer's
  visits spread over the year's working days, the plan events and one audit entry per plan) in one
  transaction — target ≤ 30 s;
* raw: the same rows (same plans, customers, counts, working-day dates by the same evenly-spaced rule) by one
  ``INSERT … SELECT`` joining the customers to a table of the year's working days, in a rolled-back
  transaction; on PostgreSQL with the deferred foreign-key checks it queued run before the rollback (``SET
  CONSTRAINTS ALL IMMEDIATE``), as the service's COMMIT runs its own — ``raw_sql_insert_only_seconds`` is the
  INSERT alone (the figure reported before session 4). ``ratio`` = service seconds / raw seconds. ``steps``:
  the service's seconds per step (``services.STEPS``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from bench.clone import clone_customers, series
from bench.run import FIELD_KEY, ROOT, SECRET, VAR
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PG_NAME = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_visits")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
TARGET_SECONDS = 30
YEAR = 2026


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


def build(db: str, reps: int, per_rep: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.access.services import department_ensure_path
    from kehu.customers.models import Customer

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    admin = User.objects.create(username="bench_admin", role="admin", department=hq, password=make_password(None))
    depts = [department_ensure_path(actor=None, path=f"总部/销售部/区域{d:02d}") for d in range(10)]
    User.objects.bulk_create([User(username=f"bench_rep{i:04d}", display_name=f"客户经理{i:04d}", role="account_manager",
                                   department=depts[i % 10], password="!") for i in range(reps)], batch_size=1000)
    rep_ids = list(User.objects.filter(role="account_manager").order_by("pk").values_list("pk", flat=True))
    template = Customer.objects.create(name="浙江华星石化有限公司", kind="organization", industry="石化",
                                       province="浙江省", city="杭州市", stage="customer", owner_id=rep_ids[0],
                                       department=depts[0])
    first_rep = rep_ids[0]
    overrides = {"name": "t.name || '·' || CAST(s.n AS TEXT)",
                 "owner_id": f"{first_rep} + (s.n / {per_rep})",
                 "department_id": f"(SELECT department_id FROM access_user u WHERE u.id = {first_rep} + (s.n / {per_rep}))"}
    total = reps * per_rep
    with transaction.atomic(), connection.cursor() as cur:
        clone_customers(cur, db, total - 1, first=template.pk, overrides=overrides)
        cur.execute("ANALYZE")
    return {"reps": reps, "customers": Customer.objects.count(), "admin": admin.pk,
            "build_seconds": round(time.perf_counter() - t0, 1)}


def reusable(db: str, url: str, customers: int) -> bool:
    """Whether the database of an earlier run holds exactly ``customers`` customers."""
    try:
        if db == "sqlite":
            import sqlite3

            path = url.removeprefix("sqlite:///")
            if not Path(path).exists():
                return False
            with sqlite3.connect(path) as conn:
                return conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0] == customers
        import psycopg

        with psycopg.connect(PG_URL) as conn:
            return conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0] == customers
    except Exception:
        return False


def emptied(db: str) -> dict:
    """--reuse: the earlier run's plans, their visits and events removed (TRUNCATE on PostgreSQL: no dead
    index entries left behind to slow the next run)."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.customers.models import Customer

    call_command("migrate", verbosity=0, interactive=False)
    with transaction.atomic(), connection.cursor() as cur:
        if db == "postgres":
            cur.execute("TRUNCATE visits_scheduledvisit, visits_planevent, visits_visitplan CASCADE")
        else:
            for table in ("visits_suggestion_departments", "visits_suggestion", "visits_visitreport",
                          "visits_scheduledvisit", "visits_planevent", "visits_visitplan"):
                cur.execute(f"DELETE FROM {table}")
    if db == "sqlite":
        with connection.cursor() as cur:
            cur.execute("VACUUM")
    return {"reps": User.objects.filter(role="account_manager").count(), "customers": Customer.objects.count(),
            "admin": User.objects.get(username="bench_admin").pk, "reused": True}


def measure_service() -> tuple[float, int, dict]:
    from kehu.access.models import User
    from kehu.engagement.visits import services
    from kehu.engagement.visits.models import ScheduledVisit
    from kehu.engagement.visits.services import plans_generate_company
    from kehu.grading.models import ServicePolicy

    # A service policy (of a grade no customer has): the generation then reads the customers with their grades
    # joined, as it does in a company that grades; without any policy it skips the grades.
    ServicePolicy.objects.get_or_create(policy_name="bench", grade="A", defaults={"visit_every_days": 30})
    admin = User.objects.get(username="bench_admin")
    owners = list(User.objects.filter(role="account_manager").values_list("pk", flat=True))
    t = time.perf_counter()
    plans_generate_company(actor=admin, year=YEAR, owner_ids=owners, start=dt.date(YEAR, 1, 1))
    seconds = time.perf_counter() - t
    steps = {k: round(v, 2) for k, v in getattr(services, "STEPS", {}).items()}
    return seconds, ScheduledVisit.objects.count(), steps


def measure_raw(db: str, per_year: int) -> tuple[float, float, int]:
    """The same rows by one INSERT … SELECT (rolled back): customers × their visit index, each on the working
    day at the fraction (k + phase) / count of the year's working days. (seconds with the foreign keys checked,
    seconds of the INSERT alone, rows)."""
    from django.db import connection, transaction

    from kehu.engagement.visits.services import _working_days

    days = _working_days(YEAR)
    n = len(days)
    t = None
    created = 0
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE bench_workday (idx integer PRIMARY KEY, day date)")
            cur.executemany("INSERT INTO bench_workday (idx, day) VALUES (%s, %s)", list(enumerate(days)))
            now = "now()" if db == "postgres" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
            phase = "((c.id * 618) % 1000) / 1000.0"
            floor = "FLOOR" if db == "postgres" else ""
            t = time.perf_counter()
            cur.execute(
                "INSERT INTO visits_scheduledvisit (plan_id, customer_id, owner_id, department_id, planned_on, state, "
                "source, purpose, is_return_visit, needs_authorisation, cancel_reason, created_at, updated_at) "
                f"SELECT p.id, c.id, c.owner_id, p.department_id, w.day, 'scheduled', 'generated', '', FALSE, FALSE, '', "
                f"{now}, {now} FROM customers_customer c JOIN visits_visitplan p ON p.owner_id = c.owner_id "
                f"AND p.year = {YEAR} CROSS JOIN {series(db, per_year)} "
                f"JOIN bench_workday w ON w.idx = CAST({floor}(((s.n - 1) + {phase}) * {n} / {per_year}) AS integer) "
                "WHERE c.deleted_at IS NULL")
            created = cur.rowcount
            insert_seconds = time.perf_counter() - t
            if db == "postgres":
                # Like for like with the service, which commits: run the deferred foreign-key checks the
                # INSERT queued (one trigger event per row and constraint) before rolling back. SQLite looks
                # the parent rows up during the INSERT itself.
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            seconds = time.perf_counter() - t
            raise _Rollback
    except _Rollback:
        pass
    return seconds, insert_seconds, created


class _Rollback(Exception):
    pass



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--per-rep", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the dataset of an earlier run of the same size (its plans and visits emptied)")
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    url = (f"sqlite:///{VAR / f'visits-{args.reps}x{args.per_rep}.sqlite3'}" if args.db == "sqlite" else PG_URL)
    reuse = args.reuse and reusable(args.db, url, args.reps * args.per_rep)
    if not reuse:
        wipe(args.db, url)
    configure(url)
    import django

    django.setup()
    from kehu.engagement.visits.rules import config

    load = [open("/proc/loadavg").read().split()[0]]  # the shared box's load, at the start and the end
    meta = emptied(args.db) if reuse else build(args.db, args.reps, args.per_rep)
    print(json.dumps({"dataset": meta}, ensure_ascii=False), flush=True)
    seconds, rows, steps = measure_service()
    # the raw INSERT … SELECT joins the plans the service made; its rows are rolled back
    raw_seconds, raw_insert_seconds, raw_rows = measure_raw(args.db, int(config()["default_per_year"]))
    row = {"name": "visit_plan_generation", "db": args.db, "reps": args.reps, "customers": meta["customers"],
           "visits": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
           "raw_sql_seconds": round(raw_seconds, 2), "raw_sql_insert_only_seconds": round(raw_insert_seconds, 2),
           "raw_sql_rows": raw_rows,
           "ratio": round(seconds / raw_seconds, 1) if raw_seconds else None,
           "target": f"<= {TARGET_SECONDS} s", "met": seconds <= TARGET_SECONDS,
           "steps": steps, "load_avg": "-".join([*load, open("/proc/loadavg").read().split()[0]])}
    print(json.dumps(row, ensure_ascii=False), flush=True)
    merge([row])
    return 0


if __name__ == "__main__":
    sys.exit(main())
