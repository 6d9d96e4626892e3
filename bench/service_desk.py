"""`python -m bench.service_desk --complaints 1000000 --open 50000 [--reuse]`: the service desk at scale.

Builds var/bench/service-desk-<n>.sqlite3 (migrated through Django with bench.run's environment: fixed
secret and field keys, production settings), a department tree with ~20 service agents and managers
(kehu.access.services), then <n> complaints inserted with one plain executemany of prepared rows
(n - open closed, <open> spread over workflow.OPEN_STATES, received/due over the last two years, about 5 %
of the open ones overdue), ANALYZE. With --reuse an existing dataset is kept and only migrated (new
indexes). Measures

* sla_sweep_first: kehu.service_desk.services.complaint_sla_sweep(now=…) called until it returns zeros
  (it handles at most 50,000 per level per call, in batches of 2,000), total seconds; raw SQL: the same
  selection (SELECT id … WHERE state IN (…) AND due_at < ? AND escalation_level = 0) through sqlite3;
* sla_sweep_idle: the same again when there is nothing to do (idempotent);
* complaint_board_open: GET /api/v1/complaints?open_only=true&ordering=due_at as a service agent through
  gunicorn (bench.run.start_server), p50/p95 over --requests; raw SQL: the captured selector queries.

Prints one JSON line per benchmark and merges them into bench/results/latest.json (same names replaced)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path

from bench.run import PASSWORD, ROOT, VAR, Client, RawSQL, configure, fig, start_server, token
from bench.run import merge_results as merge

TARGETS = {"sla_sweep_first": ("seconds", 5.0), "sla_sweep_idle": ("seconds", 5.0),
           "complaint_board_open": ("p95", 50)}
DEPARTMENTS = ["总部/客服中心/一组", "总部/客服中心/二组", "总部/客服中心/三组", "总部/华东区/客服",
               "总部/华南区/客服"]
AGENTS_PER_DEPT = 3
UTC = dt.UTC


def db_path(n: int) -> Path:
    return VAR / f"service-desk-{n}.sqlite3"


def emit(results: list, name: str, n: int, **fig_) -> None:
    kind, target = TARGETS[name]
    row = {"name": name, "scale": n, "db": "sqlite", **fig_}
    if kind == "p95":
        value, raw = row.get("p95_ms"), row.get("raw_sql_p95_ms")
        row["target"] = f"p95 <= {target} ms"
    else:
        value, raw = row.get("seconds"), row.get("raw_sql_seconds")
        row["target"] = f"<= {target} s"
    if value and raw:
        row["ratio"] = round(value / raw, 2)
    row["met"] = bool(value is not None and value <= target)
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


def sqlite_ts(d: dt.datetime) -> str:
    """Django's SQLite rendering of an aware datetime: naive UTC, ``str()``."""
    return str(d.astimezone(UTC).replace(tzinfo=None))


# ---------------------------------------------------------------- dataset

def build(n: int, n_open: int, reuse: bool) -> dict:
    path = db_path(n)
    mp = VAR / f"service-desk-{n}.meta.json"
    if reuse and mp.exists() and path.exists():
        meta = json.loads(mp.read_text())
        if meta.get("open") == n_open:
            print(f"# reusing dataset ({path.name}); applying new migrations", file=sys.stderr)
            import django

            django.setup()
            from django.core.management import call_command

            t0 = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False)  # e.g. new indexes since the build
            print(f"# migrated in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
            return meta
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    from kehu.access.services import department_ensure_path, user_create
    from kehu.service_desk import workflow
    from kehu.service_desk.models import Channel, Complaint, Severity

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    user_create(actor=None, username="sd_admin", password=PASSWORD, role="admin", department=hq)
    user_create(actor=None, username="sd_exec", password=PASSWORD, role="executive", department=hq)
    handlers: list[tuple[int, int]] = []  # (user id, department id)
    for i, p in enumerate(DEPARTMENTS):
        dept = department_ensure_path(actor=None, path=p)
        user_create(actor=None, username=f"sd_mgr{i}", password=PASSWORD, role="manager", department=dept)
        for a in range(AGENTS_PER_DEPT):
            u = user_create(actor=None, username=f"sd_agent{i}_{a}", password=PASSWORD, role="service_agent",
                            department=dept)
            handlers.append((u.pk, dept.pk))
    print(f"# migrated + {len(handlers)} agents, {len(DEPARTMENTS)} managers in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr, flush=True)

    now = dt.datetime.now(UTC).replace(microsecond=0)
    two_years = 2 * 365 * 86400
    rng = random.Random(11)
    fields = [f for f in Complaint._meta.concrete_fields if not f.primary_key]
    cols = [f.column for f in fields]
    defaults = {f.column: f.get_default() for f in fields}
    channels, severities = Channel.values, Severity.values
    sla = {"general": 1, "major": 3, "serious": 3}
    open_states = workflow.OPEN_STATES
    n_overdue = round(n_open * 0.05)
    open_idx = set(rng.sample(range(n), n_open))
    open_seen = 0

    def rows():
        nonlocal open_seen
        for i in range(n):
            uid, did = handlers[rng.randrange(len(handlers))]
            sev = severities[rng.randrange(3)] if rng.random() < 0.3 else "general"
            days = sla[sev]
            is_open = i in open_idx
            if is_open:
                state = open_states[open_seen % len(open_states)]
                if open_seen < n_overdue:  # overdue: due anywhere in the last two years (≥ 1 h ago)
                    due = now - dt.timedelta(seconds=rng.randint(3600, two_years))
                else:  # on time: due within the next 1 h … 10 days
                    due = now + dt.timedelta(seconds=rng.randint(3600, 10 * 86400))
                open_seen += 1
                received = due - dt.timedelta(days=days + rng.randint(0, 2), seconds=rng.randint(0, 86400))
                closed = answered = None
            else:
                state = workflow.CLOSED
                received = now - dt.timedelta(seconds=rng.randint(10 * 86400, two_years))
                due = received + dt.timedelta(days=days + rng.randint(0, 2))
                answered = received + dt.timedelta(seconds=rng.randint(3600, 5 * 86400))
                closed = answered + dt.timedelta(seconds=rng.randint(3600, 10 * 86400))
            v = dict(defaults)
            v.update(tracking_no=f"TS{received:%Y%m%d}-{i:08X}", complainant_name=f"投诉人{i}",
                     channel=channels[i % len(channels)], subject=f"基准投诉 {i}", description="基准测试数据",
                     received_at=sqlite_ts(received), received_by_id=uid, accountable_id=uid, department_id=did,
                     state=state, severity=sev, sla_days=days, due_at=sqlite_ts(due),
                     answered_at=sqlite_ts(answered) if answered else None,
                     closed_at=sqlite_ts(closed) if closed else None, escalation_level=0, version=0,
                     created_at=sqlite_ts(received), updated_at=sqlite_ts(closed or received))
            v["customer_id"] = v["responsible_id"] = v["satisfied"] = v["breached_at"] = None
            yield tuple(v[c] for c in cols)

    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-262144", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    table = Complaint._meta.db_table
    sql = f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})"
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(sql, rows())
    conn.execute("COMMIT")
    insert_s = time.perf_counter() - t
    print(f"# inserted {n} complaints in {insert_s:.1f}s ({n / insert_s:,.0f}/s)", file=sys.stderr, flush=True)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    meta = {"complaints": n, "open": n_open, "overdue": n_overdue, "now": now.isoformat(),
            "insert_seconds": round(insert_s, 1)}
    mp.write_text(json.dumps(meta))
    return meta


# ---------------------------------------------------------------- measurements

def reset_sweep(path: Path) -> None:
    """A reused dataset is swept again from scratch (events/audit rows of earlier sweeps stay)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE service_desk_complaint SET escalation_level = 0, breached_at = NULL "
                 "WHERE escalation_level <> 0 OR breached_at IS NOT NULL")
    conn.close()


def measure(url: str, n: int, meta: dict, requests: int, workers: int) -> list:
    import django

    django.setup()
    from django.db import connection

    from kehu.access.models import User
    from kehu.service_desk import selectors, workflow
    from kehu.service_desk.schemas import ComplaintPage, complaint_out
    from kehu.service_desk.services import complaint_sla_sweep

    results: list = []
    now = dt.datetime.fromisoformat(meta["now"])
    raw = RawSQL("sqlite", url)
    states = ",".join(f"'{s}'" for s in workflow.OPEN_STATES)
    sel = (f"SELECT id, due_at FROM service_desk_complaint WHERE state IN ({states}) AND due_at < ? "
           f"AND escalation_level = 0")

    def raw_select() -> tuple[float, int]:
        t = time.perf_counter()
        got = raw.conn.execute(sel, [sqlite_ts(now)]).fetchall()
        return time.perf_counter() - t, len(got)

    raw_select()  # warm the page cache like the sweep's first query will be
    raw_s, raw_rows = raw_select()

    def sweep() -> tuple[float, int, dict]:
        calls, tot = 0, {"breached": 0, "escalated": 0}
        t = time.perf_counter()
        while True:
            r = complaint_sla_sweep(now=now)
            calls += 1
            tot = {k: tot[k] + r[k] for k in tot}
            if not any(r.values()):
                break
        return time.perf_counter() - t, calls, tot

    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM service_desk_complaint WHERE escalation_level > 0")
        assert cur.fetchone()[0] == 0, "dataset already swept"
    secs, calls, tot = sweep()
    emit(results, "sla_sweep_first", n, open=meta["open"], overdue=meta["overdue"], calls=calls, **tot,
         seconds=round(secs, 3), ms_per_escalation=round(secs * 1000 / max(1, sum(tot.values())), 2),
         raw_sql_seconds=round(raw_s, 4), raw_sql_rows=raw_rows)
    raw_idle_s, raw_idle_rows = raw_select()
    secs, calls, tot = sweep()
    emit(results, "sla_sweep_idle", n, calls=calls, **tot, seconds=round(secs, 4),
         raw_sql_seconds=round(raw_idle_s, 4), raw_sql_rows=raw_idle_rows)

    agent = User.objects.get(username="sd_agent0_0")

    def board():
        page = selectors.complaint_list(actor=agent, open_only=True, ordering="due_at")
        ComplaintPage.model_validate({"items": [complaint_out(c) for c in page.items], "next": page.next}).model_dump()

    sqls = RawSQL.capture(board)
    connection.close()
    proc, port = start_server(workers)
    try:
        c = Client(port, token(port, "sd_agent0_0"))
        path = "/api/v1/complaints?open_only=true&ordering=due_at"
        status, body, _ms = c.call("GET", path)
        assert status == 200, (status, body)
        ms = []
        for _ in range(requests):
            status, _body, t = c.call("GET", path)
            assert status == 200, status
            ms.append(t)
        emit(results, "complaint_board_open", n, items_on_page=len(body["items"]), queries=len(sqls),
             **fig(ms, raw.timed(sqls, requests)))
        plan = raw.conn.execute("EXPLAIN QUERY PLAN " + sqls[-1]).fetchall()
        print("# board plan: " + " | ".join(r[-1] for r in plan), file=sys.stderr)
        plan = raw.conn.execute("EXPLAIN QUERY PLAN " + sel, [sqlite_ts(now)]).fetchall()
        print("# sweep selection plan: " + " | ".join(r[-1] for r in plan), file=sys.stderr)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return results


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--complaints", type=int, default=1_000_000)
    ap.add_argument("--open", type=int, default=50_000)
    ap.add_argument("--reuse", action="store_true", help="keep an existing dataset of this size")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print only, leave latest.json alone")
    args = ap.parse_args(argv)
    configure("sqlite", args.complaints)
    url = f"sqlite:///{db_path(args.complaints)}"
    os.environ["KEHU_DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    meta = build(args.complaints, args.open, args.reuse)
    reset_sweep(db_path(args.complaints))
    results = measure(url, args.complaints, meta, args.requests, args.workers)
    if not args.no_write:
        merge(results)
    return results


if __name__ == "__main__":
    main()
