"""`python -m bench.commissions [--deals 20000] [--db sqlite|postgres]`: commission splits (佣金分配) — the split
engine, the split of won deals as the signing transaction runs it, and the monthly statement reads — each
beside the raw SQL of the same operation.

Dataset (var/bench/commissions-<deals>.sqlite3, or the PostgreSQL database kehu_bench_commissions; never in
git; rebuilt on each run): migrated (the policy's rules and rates seeded), an admin, an executive, 10
departments each with a manager and 5 account managers, one template customer cloned in SQL to 1,000, and
<deals> signed deals of one month spread over the reps (bulk-created rows: the deals are not what is
measured). A facts provider gives a third of the deals a referrer, a fifth a valid earlier registration and
a tenth a same-day second reception (the ownership and reception apps fill these facts on their branches).

Measures (one JSON line each, merged into bench/results/latest.json by name and db):

* commission_split_engine: ``splits.split`` (pure Python: precedence, shares, fen-exact amounts, the Chinese
  explanation) per second over 100,000 random facts — no database, so no raw-SQL figure;
* commission_split_on_won: ``services.split_deal`` (the deal_won handler: lock the deal, base from the rate,
  facts, engine, the split and its lines, an audit entry) for every deal, one transaction each as in signing;
  deals/s beside one ``INSERT … SELECT`` of the same splits and lines (the base from the rate, 100 % to the
  rep; rolled back) — the floor of writing those rows at all;
* commission_month_summary / commission_statement: the month's summary of the executive (whole company) and
  of a department manager, and one rep's statement, p50/p95 over 50 calls in-process, beside the SQL the
  selector emits replayed through the bare cursor.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench.clone import clone_customers
from bench.run import FIELD_KEY, ROOT, SECRET, VAR
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PG_NAME = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_commissions")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
MONTH = "2026-11"


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
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.access.services import department_ensure_path
    from kehu.customers.models import Customer
    from kehu.sales.models import Deal

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    User.objects.create(username="bench_admin", role="admin", department=hq, password=make_password(None))
    User.objects.create(username="bench_exec", role="executive", department=hq, password="!")
    depts = [department_ensure_path(actor=None, path=f"总部/销售部/区域{d:02d}") for d in range(10)]
    User.objects.bulk_create([User(username=f"bench_mgr{d:02d}", role="manager", department=depts[d], password="!")
                              for d in range(10)])
    User.objects.bulk_create([User(username=f"bench_rep{i:03d}", display_name=f"销售员{i:03d}", role="account_manager",
                                   department=depts[i % 10], password="!") for i in range(50)])
    reps = list(User.objects.filter(role="account_manager").order_by("pk"))
    template = Customer.objects.create(name="李娜", kind="person", city="杭州市", stage="customer",
                                       owner_id=reps[0].pk, department=depts[0])
    with transaction.atomic(), connection.cursor() as cur:
        clone_customers(cur, db, 999, first=template.pk, overrides={"name": "t.name || CAST(s.n AS TEXT)"})
    customers = list(Customer.objects.values_list("pk", flat=True))
    rng = random.Random(13)
    rows = []
    for i in range(deals):
        rep = reps[i % len(reps)]
        rows.append(Deal(customer_id=customers[i % len(customers)], title=f"滨江一号 {i // 100 + 1}-{i % 100 + 1:02d}01",
                         object_code=f"A-{i}", amount=Decimal(rng.randrange(800_000, 6_000_000)), stage="signed",
                         rep=rep, department_id=rep.department_id, signed_on=dt.date(2026, 11, 1 + i % 30),
                         created_by=rep))
    Deal.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {"deals": deals, "reps": len(reps), "customers": len(customers),
            "build_seconds": round(time.perf_counter() - t0, 1)}


def bench_facts(deal, facts) -> None:
    """A third referred, a fifth with an earlier valid registration, a tenth received twice the same day."""
    n = deal.pk
    others = _REPS
    if n % 3 == 0:
        facts.referrer_id = others[(n + 7) % len(others)]
    if n % 5 == 0:
        facts.registered_rep_id = others[(n + 11) % len(others)]
    if n % 10 == 0:
        facts.same_day_other_rep_id = others[(n + 13) % len(others)]


_REPS: list[int] = []


def measure_engine(n: int = 100_000) -> dict:
    from kehu.sales.commissions import splits
    from kehu.sales.facts import DealFacts

    rng = random.Random(5)
    rules = splits.default_rules()
    cases = []
    for i in range(n):
        f = DealFacts(deal_id=i, customer_id=i, receiving_rep_id=1)
        f.referrer_id = rng.choice([None, None, 2])
        f.registered_rep_id = rng.choice([None, None, None, 3])
        f.customer_is_company = rng.random() < 0.1
        f.same_day_other_rep_id = rng.choice([None] * 9 + [4])
        cases.append((f, Decimal(rng.randrange(0, 10**9)) / 100))
    t = time.perf_counter()
    for f, base in cases:
        splits.split(f, rules, base)
    seconds = time.perf_counter() - t
    return {"name": "commission_split_engine", "splits": n, "seconds": round(seconds, 2),
            "rate_per_s": round(n / seconds), "raw_sql_rate_per_s": None, "target": ">= 10000/s",
            "met": n / seconds >= 10000}


def measure_split_on_won(db: str) -> dict:
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.sales.commissions import services
    from kehu.sales.commissions.models import SplitLine
    from kehu.sales.facts import register_facts_provider
    from kehu.sales.models import Deal

    _REPS[:] = list(User.objects.filter(role="account_manager").values_list("pk", flat=True))
    register_facts_provider(bench_facts)
    deals = list(Deal.objects.order_by("pk"))
    t = time.perf_counter()
    for deal in deals:
        with transaction.atomic():
            services.split_deal(deal, actor=deal.rep)
    seconds = time.perf_counter() - t
    lines = SplitLine.objects.count()
    # raw: the same number of splits and lines by INSERT … SELECT (rate base, 100 % to the rep), rolled back
    now = "now()" if db == "postgres" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    raw = None
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("DELETE FROM commissions_splitline")
            cur.execute("DELETE FROM commissions_dealsplit")
            t = time.perf_counter()
            cur.execute(
                "INSERT INTO commissions_dealsplit (deal_id, version, current, rep_id, department_id, signed_on, base, "
                "base_source, rate_percent, rule, explanation_zh, explanation_en, facts, created_by_id, created_at) "
                f"SELECT d.id, 1, TRUE, d.rep_id, d.department_id, d.signed_on, ROUND(d.amount * 0.005, 2), 'rate', "
                f"0.5, 'default', '适用规则“本人接待成交”', '', '{{}}', d.rep_id, {now} FROM sales_deal d")
            cur.execute(
                "INSERT INTO commissions_splitline (split_id, role, user_id, department_id, share_percent, amount, "
                "signed_on, current) SELECT s.id, 'receiving', s.rep_id, s.department_id, 100, s.base, s.signed_on, "
                "TRUE FROM commissions_dealsplit s")
            raw = time.perf_counter() - t
            raise _Rollback
    except _Rollback:
        pass
    return {"name": "commission_split_on_won", "db": db, "deals": len(deals), "lines": lines,
            "seconds": round(seconds, 2), "rate_per_s": round(len(deals) / seconds),
            "raw_sql_seconds": round(raw, 3), "raw_sql_rate_per_s": round(len(deals) / raw),
            "ratio": round(seconds / raw, 1), "target": "none set by the issue (a sales office signs tens a day)",
            "met": None}


class _Rollback(Exception):
    pass


def _timed(fn, n: int = 50) -> tuple[float, float, list]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    sqls = [q["sql"] for q in ctx.captured_queries]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], sqls


def _raw(sqls: list, n: int = 50) -> tuple[float, float]:
    from django.db import connection

    times = []
    for _ in range(n):
        t = time.perf_counter()
        with connection.cursor() as cur:
            for sql in sqls:
                cur.execute(sql)
                cur.fetchall()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def measure_reads(db: str) -> list[dict]:
    from kehu.access.models import User
    from kehu.sales.commissions import selectors

    out = []
    execu = User.objects.get(username="bench_exec")
    mgr = User.objects.get(username="bench_mgr03")
    rep = User.objects.filter(role="account_manager").order_by("pk").first()
    cases = [("commission_month_summary_executive", lambda: selectors.month_summary(actor=execu, month=MONTH)),
             ("commission_month_summary_manager", lambda: selectors.month_summary(actor=mgr, month=MONTH)),
             ("commission_statement_rep", lambda: selectors.statement(actor=rep, rep_id=rep.pk, month=MONTH))]
    for name, fn in cases:
        p50, p95, sqls = _timed(fn)
        r50, r95 = _raw(sqls)
        out.append({"name": name, "db": db, "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
                    "raw_sql_p50_ms": round(r50, 1), "raw_sql_p95_ms": round(r95, 1),
                    "ratio": round(p50 / r50, 1) if r50 else None, "queries": len(sqls),
                    "target": "<= 1000 ms (month statistics)", "met": p95 <= 1000})
    return out



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=20000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'commissions-{args.deals}.sqlite3'}" if args.db == "sqlite" else PG_URL
    wipe(args.db, url)
    configure(url)
    import django

    django.setup()
    meta = build(args.db, args.deals)
    print(json.dumps({"dataset": meta}, ensure_ascii=False), flush=True)
    load = round(os.getloadavg()[0], 2)
    results = []
    engine = measure_engine()
    engine["db"] = "none"
    results.append(engine)
    results.append(measure_split_on_won(args.db))
    results += measure_reads(args.db)
    for r in results:
        r["load_avg_1m"] = load
        r.setdefault("scale_deals", args.deals)
        print(json.dumps(r, ensure_ascii=False), flush=True)
    merge(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
