"""`python -m bench.inspections [--plans 100000] [--db sqlite|postgres] [--reuse]`: inspections at scale.

Builds var/bench/inspections-<n>.sqlite3 (or the PostgreSQL database kehu_bench_inspections_<n>), migrated
through Django with bench.run's environment (fixed secret and field keys, production settings): 5
service departments, each with a manager and 4 inspectors (kehu.access.services), three checklists
(kehu.service_desk.inspections.services), then <n> customers and one active plan each, inserted with
one plain executemany of prepared rows (the plan's next inspection spread over today −10 … +80 days, so
about a quarter is within the 14-day horizon and a ninth already late, as after a few days' downtime),
ANALYZE. With --reuse an existing dataset is kept and its visits, flags and notifications of earlier
runs removed. Measures, each beside the raw-SQL limit on the same database:

* inspection_generate_first: services.visits_generate(today=…) — the daily job that opens the visits of
  every plan due within the horizon (set-based, batches of 1,000 plans, one audit entry per visit);
  raw SQL: one INSERT … SELECT of the same selection (plans due, customer not deleted, no open visit,
  none on that date; materialised first) in a transaction that is rolled back;
* inspection_generate_second: the same call again, when every due plan has its visit (idempotent: 0);
  raw SQL: the same selection as a SELECT;
* inspection_overdue_sweep_first: services.visits_overdue_sweep(now=…) fifteen days later, when every
  open visit is past its deadline — flags them, writes their audit entries and tells each inspector
  and their managers once per batch; raw SQL: the UPDATE … SET overdue_at of the same rows, rolled back;
* inspection_overdue_sweep_second: the sweep again (nothing left to flag); raw SQL: its selection.

Prints one JSON line per benchmark and merges them into bench/results/latest.json (names end in _pg for
PostgreSQL, so both databases' figures stay side by side)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

from bench.run import PASSWORD, PG_URL, ROOT, VAR, RawSQL, configure, pg_recreate
from bench.run import merge_results as merge

TARGETS = {"inspection_generate_first": 30.0, "inspection_generate_second": 1.0,
           "inspection_overdue_sweep_first": 30.0, "inspection_overdue_sweep_second": 1.0}
DEPARTMENTS = ["总部/客服中心/一组", "总部/客服中心/二组", "总部/华东区/技术服务", "总部/华北区/技术服务",
               "总部/华南区/技术服务"]
INSPECTORS_PER_DEPT = 4
CHECKLISTS = [("设备巡检", ["设备运行状态", "系统稳定性", "安全隐患", "备件库存", "操作人员培训"]),
              ("网络与机房巡检", ["交换机与路由器", "UPS 与配电", "机房温湿度", "备份与恢复演练"]),
              ("消防安全巡检", ["灭火器有效期", "疏散通道", "应急照明", "消防报警系统"])]
CHUNK = 20_000


def database(db: str, n: int) -> tuple[str, Path | None]:
    if db == "sqlite":
        path = VAR / f"inspections-{n}.sqlite3"
        return f"sqlite:///{path}", path
    return f"{PG_URL}_inspections_{n}", None


def emit(results: list, name: str, n: int, db: str, **fig_) -> None:
    target = TARGETS[name]
    row = {"name": name + ("_pg" if db == "postgres" else ""), "scale": n, "db": db, **fig_,
           "target": f"<= {target} s"}
    value, raw = row.get("seconds"), row.get("raw_sql_seconds")
    if value is not None and raw:
        row["ratio"] = round(value / raw, 2)
    row["met"] = bool(value is not None and value <= target)
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


# ---------------------------------------------------------------- dataset

def _insert(model, rows: list[dict]) -> None:
    """executemany of prepared rows: every concrete column, the model's default where a row says nothing."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    cols = ",".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"INSERT INTO {model._meta.db_table} ({cols}) VALUES ({','.join(['%s'] * len(fields))})"
    defaults = {}
    for f in fields:
        defaults[f.attname] = f.get_default() if f.has_default() else (None if f.null else "")
    prepared = [tuple(f.get_db_prep_save(r.get(f.attname, defaults[f.attname]), connection) for f in fields)
                for r in rows]
    with connection.cursor() as cur:
        cur.executemany(sql, prepared)


def build(db: str, n: int, reuse: bool) -> dict:
    url, path = database(db, n)
    mp = VAR / f"inspections-{db}-{n}.meta.json"
    if reuse and mp.exists() and (path is None or path.exists()):
        print(f"# reusing dataset ({mp.name})", file=sys.stderr)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        reset()
        return json.loads(mp.read_text())
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        pg_recreate(f"kehu_bench_inspections_{n}")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.access.services import department_ensure_path, user_create
    from kehu.customers.models import Customer
    from kehu.service_desk.inspections import services
    from kehu.service_desk.inspections.models import InspectionPlan

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    admin = user_create(actor=None, username="in_admin", password=PASSWORD, role="admin", department=hq)
    inspectors: list[tuple[int, int]] = []  # (user id, department id)
    for i, p in enumerate(DEPARTMENTS):
        dept = department_ensure_path(actor=None, path=p)
        user_create(actor=None, username=f"in_mgr{i}", password=PASSWORD, role="manager", department=dept)
        for a in range(INSPECTORS_PER_DEPT):
            u = user_create(actor=None, username=f"in_insp{i}_{a}", password=PASSWORD, role="service_agent",
                            department=dept)
            inspectors.append((u.pk, dept.pk))
    checklists = [services.checklist_create(actor=admin, data={"name": name, "items": items}).pk
                  for name, items in CHECKLISTS]
    print(f"# migrated, {len(inspectors)} inspectors, {len(checklists)} checklists in "
          f"{time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)

    rng = random.Random(17)
    today = timezone.localdate()
    now = timezone.now()
    importance = ["key", "important", "normal", "normal"]
    t = time.perf_counter()
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        with transaction.atomic():
            customers = []
            for i in range(start, start + count):
                uid, did = inspectors[rng.randrange(len(inspectors))]
                name = f"巡检基准客户{i:07d}有限公司"
                customers.append({"name": name, "name_normalized": name, "name_pinyin": f"xunjianjizhun{i}",
                                  "name_initials": f"xjjz{i}", "owner_id": uid, "department_id": did,
                                  "created_by_id": admin.pk, "created_at": now, "updated_at": now,
                                  "kind": "organization", "stage": "customer", "status": "active"})
            _insert(Customer, customers)
            ids = list(Customer.objects.filter(name__in=[c["name"] for c in customers])
                       .order_by("id").values_list("id", "owner_id"))
            plans = []
            for k, (cid, owner) in enumerate(ids):
                imp = importance[rng.randrange(len(importance))]
                length, unit = services.default_cycle(imp)
                plans.append({"customer_id": cid, "checklist_id": checklists[(start + k) % len(checklists)],
                              "importance": imp, "cycle_length": length, "cycle_unit": unit, "inspector_id": owner,
                              "next_due": today + dt.timedelta(days=rng.randrange(-10, 80)), "active": True,
                              "created_by_id": admin.pk, "created_at": now, "updated_at": now})
            _insert(InspectionPlan, plans)
        print(f"# {start + count}/{n} customers and plans", file=sys.stderr, flush=True)
    insert_s = time.perf_counter() - t
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    meta = {"plans": n, "db": db, "today": today.isoformat(), "insert_seconds": round(insert_s, 1)}
    mp.write_text(json.dumps(meta))
    return meta


def reset() -> None:
    """A reused dataset starts again from plans without visits (and without the sweep's messages)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DELETE FROM inspections_inspectionvisit")
        cur.execute("DELETE FROM notifications_notification")


# ---------------------------------------------------------------- measurements

def measure(db: str, url: str, n: int, meta: dict) -> list:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from kehu.service_desk.inspections import services
    from kehu.service_desk.inspections.models import InspectionPlan, InspectionVisit

    results: list = []
    today = dt.date.fromisoformat(meta["today"])
    until = today + dt.timedelta(days=int(settings.KEHU_INSPECTION_HORIZON_DAYS))
    sweep_now = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=15), dt.time(10)))
    sweep_day = (today + dt.timedelta(days=15)).isoformat()
    raw = RawSQL(db, url)
    visits, plans, customers = (InspectionVisit._meta.db_table, InspectionPlan._meta.db_table,
                                "customers_customer")
    true = "1" if db == "sqlite" else "TRUE"
    selection = (f"FROM {plans} p JOIN {customers} c ON c.id = p.customer_id "
                 f"WHERE p.active = {true} AND c.deleted_at IS NULL AND p.next_due <= '{until.isoformat()}' "
                 f"AND NOT EXISTS (SELECT 1 FROM {visits} v WHERE v.plan_id = p.id AND v.state = 'scheduled') "
                 f"AND NOT EXISTS (SELECT 1 FROM {visits} v WHERE v.plan_id = p.id AND v.scheduled_date = p.next_due)")
    stamp = "'" + timezone.now().astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ") + "'"
    # The selection is materialised first: a plain INSERT … SELECT whose anti-join probes the table it is
    # filling can go quadratic on PostgreSQL when the (empty) visits table has no statistics yet.
    insert_select = (f"INSERT INTO {visits} (plan_id, customer_id, inspector_id, scheduled_date, due_date, state, "
                     f"closed_reason, created_at) WITH due AS MATERIALIZED (SELECT p.id, p.customer_id, "
                     f"p.inspector_id, p.next_due {selection}) SELECT id, customer_id, inspector_id, next_due, "
                     f"next_due, 'scheduled', '', {stamp} FROM due")
    overdue_where = f"WHERE state = 'scheduled' AND overdue_at IS NULL AND due_date < '{sweep_day}'"
    sweep_stamp = "'" + sweep_now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ") + "'"

    def raw_rolled_back(sql: str) -> tuple[float, int]:
        cur = raw.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if db == "sqlite" else "BEGIN")
        t = time.perf_counter()
        cur.execute(sql)
        secs, rows = time.perf_counter() - t, cur.rowcount
        cur.execute("ROLLBACK")
        return secs, rows

    def raw_select(sql: str) -> tuple[float, int]:
        cur = raw.conn.cursor()
        cur.execute(sql)
        cur.fetchall()  # warm
        t = time.perf_counter()
        cur.execute(sql)
        got = cur.fetchall()
        return time.perf_counter() - t, len(got)

    def timed(fn):
        t = time.perf_counter()
        out = fn()
        secs = time.perf_counter() - t
        connection.close()  # the raw connection must see committed rows only; no open read transaction
        return secs, out

    from django.urls import reverse

    reverse("inspections:visits")  # load the URLconf (~2 s, once per worker process) outside the timings
    raw_select(f"SELECT p.id {selection}")  # warm the cache as the service's first query will be
    raw_s, raw_rows = raw_rolled_back(insert_select)
    secs, created = timed(lambda: services.visits_generate(today=today))
    assert created == raw_rows, (created, raw_rows)
    emit(results, "inspection_generate_first", n, db, plans=n, visits_created=created, seconds=round(secs, 3),
         ms_per_visit=round(secs * 1000 / max(1, created), 3), raw_sql_seconds=round(raw_s, 4),
         raw_sql_rows=raw_rows)

    raw_s, raw_rows = raw_select(f"SELECT p.id {selection}")
    secs, created = timed(lambda: services.visits_generate(today=today))
    assert created == 0 and raw_rows == 0, (created, raw_rows)
    emit(results, "inspection_generate_second", n, db, plans=n, visits_created=created, seconds=round(secs, 4),
         raw_sql_seconds=round(raw_s, 4), raw_sql_rows=raw_rows)

    raw_s, raw_rows = raw_rolled_back(f"UPDATE {visits} SET overdue_at = {sweep_stamp} {overdue_where}")
    secs, out = timed(lambda: services.visits_overdue_sweep(now=sweep_now))
    assert out["flagged"] == raw_rows, (out, raw_rows)
    emit(results, "inspection_overdue_sweep_first", n, db, plans=n, flagged=out["flagged"], seconds=round(secs, 3),
         ms_per_visit=round(secs * 1000 / max(1, out["flagged"]), 3), raw_sql_seconds=round(raw_s, 4),
         raw_sql_rows=raw_rows)

    raw_s, raw_rows = raw_select(f"SELECT id FROM {visits} {overdue_where}")
    secs, out = timed(lambda: services.visits_overdue_sweep(now=sweep_now))
    assert out["flagged"] == 0 and raw_rows == 0, (out, raw_rows)
    emit(results, "inspection_overdue_sweep_second", n, db, plans=n, flagged=0, seconds=round(secs, 4),
         raw_sql_seconds=round(raw_s, 4), raw_sql_rows=raw_rows)
    return results


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plans", type=int, default=100_000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--reuse", action="store_true", help="keep an existing dataset of this size")
    ap.add_argument("--no-write", action="store_true", help="print only, leave latest.json alone")
    args = ap.parse_args(argv)
    configure(args.db, args.plans)
    url, _path = database(args.db, args.plans)
    os.environ["KEHU_DATABASE_URL"] = url
    os.environ["KEHU_VAR_DIR"] = str(VAR / "inspections-var")
    (VAR / "inspections-var").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KEHU_NOTIFY_EMAIL", "0")  # the bench users have no address anyway
    sys.path.insert(0, str(ROOT))
    meta = build(args.db, args.plans, args.reuse)
    results = measure(args.db, url, args.plans, meta)
    if not args.no_write:
        merge(results)
    return results


if __name__ == "__main__":
    main()
