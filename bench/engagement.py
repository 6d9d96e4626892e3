"""`python -m bench.engagement [--db sqlite|postgres] [--scale N] [--interactions N] [--reuse]`: relationship
maintenance (客户维护) at scale, each figure beside the raw SQL of the same operation. One function per figure
(the visit plans add theirs beside these).

Dataset: bench.run's (``--scale`` customers, default 5,000, through the real bulk service; 10 departments with a
manager and 5 account managers each; ``--reuse`` keeps it) in its own database — SQLite
var/bench/kehu-<scale>.sqlite3 of this worktree, or the PostgreSQL database ``kehu_bench_followups``
(KEHU_BENCH_PG_DB) — plus ``--interactions`` follow-ups (default 10,000) of ONE customer, bulk-inserted once
with their summary row.

On PostgreSQL the bench's database takes docs/deployment.md's planner settings (random_page_cost 1.1 for SSD,
jit off: PG_SETTINGS); ``--server-defaults`` measures with the server's own instead.

* followup_timeline_first / followup_timeline_deep: the customer 360 page's thread (kehu.customers.profile:
  follow-ups, complaints, service requests, inspections merged, 20 per page) as its owner sees it — the
  whole page request GET /customers/<id>/thread/ through Django's handler in-process (middleware, session,
  view, every provider's scoped query, template) — the newest page, and the page after ~90 % of the thread
  (keyset cursor). Raw: the SQL the providers emit, replayed through the bare driver. Target p95 ≤ 50 ms.
* followup_create_8_clients: 8 client threads, each an account manager with a Bearer token, POST
  /api/v1/engagement/interactions (with a client_key, a next step, for that rep's own customers) to gunicorn
  (bench.run.start_server, production mode) for ``--create-seconds``; every non-201 is an error. Raw: the
  statements of one interaction_create (and its response) replayed in a rolled-back transaction, one after
  another; and on PostgreSQL the same statements COMMITTED by 8 bare-driver clients at once
  (raw_sql_committed_rate_per_s: the server's ceiling for this write, its WAL flush per commit included).
  Target ≥ 300/s on PostgreSQL, 0 errors.

Output: one JSON line per figure, all in bench/results/engagement-<db>-<scale>.json (ignored by git);
``--write-latest`` merges them into bench/results/latest.json."""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
import uuid

os.environ.setdefault("KEHU_BENCH_PG_DB", "kehu_bench_followups")
# A production-mode server over plain HTTP: without these every in-process page answers 301 to https.
os.environ.setdefault("KEHU_SSL_REDIRECT", "0")
os.environ.setdefault("KEHU_SECURE_COOKIES", "0")

from bench.run import RESULTS, ROOT, Client, RawSQL, build, configure, fig, pct, start_server, token  # noqa: E402

TIMELINE_TARGET_MS = 50
CREATE_TARGET = 300
PAGE = 20



def emit(results: list, row: dict, planner: dict | None = None) -> None:
    if planner:
        row.setdefault("planner", planner)
    try:  # the shared box's load beside every figure
        row.setdefault("load_avg", open("/proc/loadavg").read().split()[0])
    except OSError:
        pass
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


# docs/deployment.md's planner settings that take effect without a restart, on the bench's own database (the
# shared server runs PostgreSQL's defaults). random_page_cost 4 (a spinning disk's) prices the composite
# (customer, occurred_at, id) index's scattered heap reads so high that, once newer follow-ups of other
# customers pile up, the planner reads a long thread's first page backwards through the occurred_at index,
# filtering the others out (EXPLAIN: 32,883 rows removed, 18,901 buffers, 7–43 ms instead of 0.4 ms).
PG_SETTINGS = {"random_page_cost": "1.1", "jit": "off"}


def pg_settings(db: str, apply: bool) -> dict:
    from django.db import connection

    if db != "postgres":
        return {}
    with connection.cursor() as cur:
        name = connection.settings_dict["NAME"]
        for key, value in PG_SETTINGS.items():
            cur.execute(f'ALTER DATABASE "{name}" SET {key} = {value}' if apply
                        else f'ALTER DATABASE "{name}" RESET {key}')
    connection.close()  # the settings apply to new connections
    return PG_SETTINGS if apply else {"random_page_cost": "server default", "jit": "server default"}


def seed_thread(n: int) -> int:
    """``n`` follow-ups of one customer (the first of bench_rep00_0), once; returns the customer's id."""
    from django.db import connection
    from django.utils import timezone

    from kehu.access.models import User
    from kehu.customers.models import Customer
    from kehu.engagement.models import Interaction
    from kehu.engagement.services import summary_refresh

    rep = User.objects.get(username="bench_rep00_0")
    customer = Customer.objects.filter(owner=rep, deleted_at__isnull=True).order_by("id").first()
    have = Interaction.objects.filter(customer=customer).count()
    if have >= n:
        with connection.cursor() as cur:  # fresh statistics: the planner must know this customer's thread is long
            cur.execute("ANALYZE engagement_interaction")
        return customer.pk
    rng = random.Random(5)
    now = timezone.now()
    rows = [Interaction(customer=customer, channel=rng.choice(["phone", "visit", "wechat", "email"]),
                        occurred_at=now - dt.timedelta(minutes=rng.randrange(3 * 365 * 24 * 60)),
                        summary="电话沟通下月提货计划，客户预计200吨", outcome="客户确认按周均衡提货",
                        next_step="发送提货排期表" if rng.random() < 0.3 else "",
                        next_step_due=(now + dt.timedelta(days=rng.randrange(-30, 30))).date()
                        if rng.random() < 0.3 else None, owner=rep, recorded_by=rep)
            for _ in range(n - have)]
    for row in rows:
        if not row.next_step:
            row.next_step_due = None
    Interaction.objects.bulk_create(rows, batch_size=2000)
    summary_refresh(customer.pk)
    with connection.cursor() as cur:
        cur.execute("ANALYZE engagement_interaction")
    print(f"# seeded {n - have} follow-ups for customer {customer.pk}", file=sys.stderr)
    return customer.pk


def bench_timeline(db: str, url: str, scale: int, customer_id: int, requests: int) -> list[dict]:
    """The 360 thread page, newest and deep, beside the raw SQL of its providers."""
    from django.conf import settings
    from django.test import Client as DjangoClient

    from kehu.access.models import User
    from kehu.customers.profile import customer_thread

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rep = User.objects.get(username="bench_rep00_0")
    client = DjangoClient()
    client.force_login(rep)
    # the cursor ~90 % down the thread, reached by following the pages
    cursor, pages = None, 0
    total = rep.interactions.filter(customer_id=customer_id).count()
    while pages < int(total * 0.9) // PAGE:
        _items, cursor = customer_thread(actor=rep, customer_id=customer_id, before=cursor, limit=PAGE)
        pages += 1
    raw = RawSQL(db, url)
    out = []
    # what the same in-process handler costs for a trivial page (middleware, session, an empty template): the
    # machine's overhead now, for scale
    base = "/followups/customer-search/"
    client.get(base)
    ms = []
    for _ in range(requests):
        t = time.perf_counter()
        client.get(base)
        ms.append((time.perf_counter() - t) * 1000)
    out.append({"name": "baseline_trivial_page", "scale": scale, "db": db, "requests": requests,
                "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2),
                "note": "GET /followups/customer-search/ (empty query) in-process: Django overhead on this machine now"})
    for name, before in (("followup_timeline_first", None), ("followup_timeline_deep", cursor)):
        path = f"/customers/{customer_id}/thread/" + (f"?before={before}" if before else "")
        r = client.get(path)
        assert r.status_code == 200, r.status_code
        ms = []
        for _ in range(requests):
            t = time.perf_counter()
            r = client.get(path)
            ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        sqls = RawSQL.capture(lambda b=before: customer_thread(actor=rep, customer_id=customer_id, before=b,
                                                               limit=PAGE))
        row = {"name": name, "scale": scale, "db": db, "thread_items": total, "page": PAGE,
               "queries": len(sqls), **fig(ms, raw.timed(sqls, requests))}
        row["ratio"] = round(row["p95_ms"] / row["raw_sql_p95_ms"], 2) if row["raw_sql_p95_ms"] else None
        row["target"] = f"p95 <= {TIMELINE_TARGET_MS} ms"
        row["met"] = row["p95_ms"] <= TIMELINE_TARGET_MS
        row["note"] = "whole page request in-process (no socket); raw = the providers' SQL"
        out.append(row)
    return out


def bench_create(db: str, url: str, scale: int, seconds: float, workers: int) -> dict:
    """8 account managers POSTing follow-ups at once through gunicorn, beside the raw SQL of one create."""
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.customers.models import Customer
    from kehu.engagement import services
    from kehu.engagement.api import interaction_out

    reps = list(User.objects.filter(username__startswith="bench_rep").order_by("username")[:8])
    mine = {r.pk: list(Customer.objects.filter(owner=r, deleted_at__isnull=True).values_list("id", flat=True)[:200])
            for r in reps}
    connection.close()
    proc, port = start_server(workers)
    ok, errors, lat = [0], [0], []
    lock = threading.Lock()
    try:
        tokens = [token(port, r.username) for r in reps]
        stop = time.perf_counter() + seconds

        def payload(rng, rep) -> dict:
            return {"customer": rng.choice(mine[rep.pk]), "channel": rng.choice(["phone", "wechat", "visit"]),
                    "summary": "电话沟通下月提货计划", "next_step": "发送报价单",
                    "next_step_due": str(dt.date.today() + dt.timedelta(days=3)), "client_key": str(uuid.uuid4())}

        def worker(i):
            rng = random.Random(i)
            c = Client(port, tokens[i])
            while time.perf_counter() < stop:
                try:
                    status, _body, ms = c.call("POST", "/api/v1/engagement/interactions", payload(rng, reps[i]))
                except (OSError, http.client.HTTPException):
                    status, ms, c = 0, 0.0, Client(port, tokens[i])
                with lock:
                    if status == 201:
                        ok[0] += 1
                        lat.append(ms)
                    else:
                        errors[0] += 1
        t = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(reps))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t
        # The same server and clients on a trivial authenticated read: the machine's ceiling now, for scale.
        done = [0]
        stop = time.perf_counter() + 5

        def reader(i):
            c = Client(port, tokens[i])
            while time.perf_counter() < stop:
                if c.call("GET", "/api/v1/auth/tokens")[0] == 200:
                    with lock:
                        done[0] += 1
        t = time.perf_counter()
        threads = [threading.Thread(target=reader, args=(i,)) for i in range(len(reps))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        baseline = done[0] / (time.perf_counter() - t)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    class Rollback(Exception):
        pass

    rng = random.Random(99)

    def one():
        try:
            with transaction.atomic():
                it, _ = services.interaction_create(actor=reps[0], data=payload(rng, reps[0]))
                json.dumps(interaction_out(it, detail=True), default=str)
                raise Rollback
        except Rollback:
            pass
    sqls = RawSQL.capture(one)
    rawrate = RawSQL(db, url).rate_in_rollback(sqls)
    committed = raw_committed_rate(db, url, sqls, len(reps)) if db == "postgres" else None
    rate = ok[0] / elapsed
    return {"name": "followup_create_8_clients", "scale": scale, "db": db, "clients": len(reps),
            "seconds": round(elapsed, 1), "created": ok[0], "errors": errors[0], "rate_per_s": round(rate, 1),
            "p50_ms": round(pct(lat, 50), 2) if lat else None, "p95_ms": round(pct(lat, 95), 2) if lat else None,
            "queries": len(sqls), "raw_sql_rate_per_s": round(rawrate, 1),
            "raw_sql_committed_rate_per_s": committed,
            "baseline_get_rate_per_s": round(baseline, 1),
            "ratio": round(rawrate / rate, 2) if rate else None,
            "target": f">= {CREATE_TARGET}/s on PostgreSQL, 0 errors",
            "met": rate >= CREATE_TARGET and errors[0] == 0}


def raw_committed_rate(db: str, url: str, sqls: list[str], clients: int, seconds: float = 8.0) -> float:
    """The create's statements (as one create emitted them, client key replaced by a fresh one each time)
    COMMITTED by ``clients`` bare-driver connections at once, as many as fit in ``seconds``: what the database
    server alone gives — its WAL flush per commit included, which the rolled-back raw figure leaves out. Only
    for a create that is one statement (PostgreSQL's common case); None otherwise."""
    import re

    import psycopg

    work = [q for q in sqls if not q.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT",
                                                                    "RELEASE"))]
    if len(work) != 1:  # the Python path's later statements carry the rolled-back row's id: not replayable
        return None
    keys = {k for q in work for k in re.findall(r"'([0-9a-f]{32}|[0-9a-f-]{36})'::uuid", q)}
    done, lock = [0], threading.Lock()
    stop = time.perf_counter() + seconds

    def client():
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            while time.perf_counter() < stop:
                fresh = uuid.uuid4()
                batch = []
                for q in work:
                    for k in keys:
                        q = q.replace(f"'{k}'", f"'{fresh.hex if len(k) == 32 else fresh}'")
                    batch.append(q)
                conn.execute(batch[0])
                with lock:
                    done[0] += 1
    t = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return round(done[0] / (time.perf_counter() - t), 1)


def profile_create(requests: int) -> None:
    """``requests`` creates through Django's handler in-process (Bearer token, no socket) under cProfile: the
    top functions by cumulative and by own CPU time to bench/results/engagement-create-profile.txt."""
    import cProfile
    import io
    import pstats

    from django.conf import settings
    from django.test import Client as DjangoClient

    from kehu.access.models import User
    from kehu.access.services import token_create
    from kehu.customers.models import Customer

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rep = User.objects.get(username="bench_rep00_1")
    _t, key = token_create(actor=rep, name=f"profile-{uuid.uuid4().hex[:6]}")
    mine = list(Customer.objects.filter(owner=rep, deleted_at__isnull=True).values_list("id", flat=True)[:200])
    client, rng = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {key}"), random.Random(3)

    def one():
        r = client.post("/api/v1/engagement/interactions", content_type="application/json", data={
            "customer": rng.choice(mine), "channel": "phone", "summary": "电话沟通下月提货计划", "next_step": "发送报价单",
            "next_step_due": str(dt.date.today() + dt.timedelta(days=3)), "client_key": str(uuid.uuid4())})
        assert r.status_code == 201, (r.status_code, r.content[:300])
    for _ in range(5):
        one()
    prof = cProfile.Profile(time.process_time)  # CPU, not the wait for a busy server
    t, c = time.perf_counter(), time.process_time()
    prof.enable()
    for _ in range(requests):
        one()
    prof.disable()
    wall, cpu = (time.perf_counter() - t) * 1000 / requests, (time.process_time() - c) * 1000 / requests
    out = io.StringIO()
    out.write(f"# {requests} creates in-process: {wall:.1f} ms wall, {cpu:.1f} ms CPU each (profiled)\n")
    for order in ("cumulative", "tottime"):
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(40)
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_callees("services.py.*(interaction_create|clean|_create_in_one_statement)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "engagement-create-profile.txt").write_text(out.getvalue())
    print(out.getvalue()[:200], file=sys.stderr)


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--scale", type=int, default=5000)
    ap.add_argument("--interactions", type=int, default=10_000)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--create-seconds", type=float, default=15)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--only", choices=["timeline", "create"], default=None)
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="profile N creates in-process instead (bench/results/engagement-create-profile.txt)")
    ap.add_argument("--write-latest", action="store_true", help="merge into bench/results/latest.json")
    ap.add_argument("--server-defaults", action="store_true",
                    help="PostgreSQL: measure with the server's planner defaults, not docs/deployment.md's")
    args = ap.parse_args(argv)
    url = configure(args.db, args.scale)
    os.environ.setdefault("KEHU_NOTIFY_CHANNELS", "inapp")
    sys.path.insert(0, str(ROOT))
    import bench.run

    # The customers' raw-load figure is bench.run's, not ours (and its copy trips on PostgreSQL's generated
    # search column): skip it.
    bench.run.raw_load_rate = lambda db, scale: None
    build(args.db, args.scale, args.reuse)
    import django

    django.setup()
    customer_id = seed_thread(args.interactions)
    planner = pg_settings(args.db, not args.server_defaults)
    if args.profile:
        profile_create(args.profile)
        return []
    results: list = []
    if args.only in (None, "timeline"):
        for row in bench_timeline(args.db, url, args.scale, customer_id, args.requests):
            emit(results, row, planner)
    if args.only in (None, "create"):
        emit(results, bench_create(args.db, url, args.scale, args.create_seconds, args.workers), planner)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"engagement-{args.db}-{args.scale}.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    if args.write_latest:
        from bench.run import merge_results as merge

        merge(results)
    return results


if __name__ == "__main__":
    main()
