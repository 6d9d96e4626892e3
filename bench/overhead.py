"""`python -m bench.overhead [--db sqlite|postgres] [--scale N] [--reuse] [--requests N] [--profile]
[--server-seconds S]`: the fixed cost of a request (issue 10 "Per-request overhead"), each figure beside the raw
SQL of the same request.

Dataset: bench.engagement's (bench.run's customers, default 5,000, plus 10,000 follow-ups of one customer) in its
database (SQLite var/bench/kehu-<scale>.sqlite3, or the PostgreSQL database KEHU_BENCH_PG_DB, default
``kehu_bench_followups``).

In-process (Django's handler through the test client, no socket; every middleware, the view, the template), as
the thread customer's owner (an account manager, scope "own") with a session and with a Bearer token:

* ``api_trivial_token`` / ``api_trivial_session``: GET /api/v1/auth/tokens (the token list: one small query);
* ``page_trivial_session``: GET /followups/customer-search/ (an empty fragment);
* ``page_list_session``: the customer list page (customers:list: base.html with the whole navigation);
* ``thread_page_session`` / ``thread_api_token``: the 360 thread page /customers/<id>/thread/ and the same
  customer's follow-ups through the API (/api/v1/engagement/interactions?customer=<id>, 50 a page);
* ``customer_list_token`` / ``customer_detail_token`` / ``customer_search_token``: the customer API (the rep's
  list by -updated_at, one of the rep's customers, search 华星).

Each: p50/p95 wall ms, CPU ms per request (process time: the client's share is the test client's, small), SQL
statements per request, and the raw SQL: every statement the request sent (captured with CaptureQueriesContext)
replayed through the bare driver in a rolled-back transaction. ``--profile`` writes a cProfile of each request
kind (top functions by own time) to bench/results/overhead-profile-<name>.txt.

Through gunicorn (bench.run.start_server, production mode, 8 client threads with keep-alive and Bearer tokens,
``--server-seconds`` each): requests/s of the trivial GET, the thread API and the customer detail, and the
server's CPU ms per request (utime + stime of the gunicorn processes from /proc).

Output: one JSON line per figure, all in bench/results/overhead-<db>-<scale>.json (ignored by git);
``--write-latest`` merges them (names prefixed ``overhead_``) into bench/results/latest.json."""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import signal
import sys
import threading
import time

os.environ.setdefault("KEHU_BENCH_PG_DB", "kehu_bench_followups")
# A production-mode server on plain loopback HTTP: no redirect to https, cookies without the Secure flag.
os.environ.setdefault("KEHU_SSL_REDIRECT", "0")
os.environ.setdefault("KEHU_SECURE_COOKIES", "0")

from bench.run import RESULTS, ROOT, Client, build, configure, pct, start_server, token  # noqa: E402

CLIENTS = 8


def emit(results: list, row: dict) -> None:
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


class RawReplay:
    """The statements of one request replayed through the bare driver, in a transaction rolled back."""

    def __init__(self, db: str, url: str):
        self.db = db
        if db == "sqlite":
            import sqlite3

            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "cache_size=-65536",
                "mmap_size=1073741824",
            ):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True)

    def timed(self, sqls: list[str], n: int) -> list[float]:
        out = []
        for i in range(n + 1):
            t = time.perf_counter()
            cur = self.conn.cursor()
            cur.execute("BEGIN")
            for sql in sqls:
                if sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                    continue
                cur.execute(sql)
                if cur.description is not None:
                    cur.fetchall()
            cur.execute("ROLLBACK")
            if i:
                out.append((time.perf_counter() - t) * 1000)
        return out


def _reverse(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


def _cases(customer_id: int, detail_id: int) -> list[tuple[str, str, str]]:
    """(name, auth, path)."""
    return [
        ("api_trivial_token", "token", "/api/v1/auth/tokens"),
        ("api_trivial_session", "session", "/api/v1/auth/tokens"),
        ("page_trivial_session", "session", "/followups/customer-search/"),
        ("page_list_session", "session", _reverse("customers:list")),
        ("thread_page_session", "session", f"/customers/{customer_id}/thread/"),
        ("thread_api_token", "token", f"/api/v1/engagement/interactions?customer={customer_id}&limit=50"),
        ("customer_list_token", "token", "/api/v1/customers?ordering=-updated_at"),
        ("customer_detail_token", "token", f"/api/v1/customers/{detail_id}"),
        ("customer_search_token", "token", "/api/v1/customers?q=%E5%8D%8E%E6%98%9F"),
    ]


def bench_inprocess(
    db: str, url: str, scale: int, customer_id: int, requests: int, profile: bool
) -> list[dict]:
    from django.conf import settings
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from kehu.access.models import User
    from kehu.access.services import token_create
    from kehu.customers.models import Customer

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rep = User.objects.get(username="bench_rep00_0")
    detail_id = (
        Customer.objects.filter(owner=rep, deleted_at__isnull=True)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    _tok, key = token_create(actor=rep, name="bench-overhead")
    session = DjangoClient()
    session.force_login(rep)
    bearer = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    raw = RawReplay(db, url)
    out = []
    for name, auth, path in _cases(customer_id, detail_id):
        client = session if auth == "session" else bearer
        for _ in range(3):  # warm: templates, translations, the provider registry, connections
            r = client.get(path)
            assert r.status_code == 200, (name, r.status_code, r.content[:300])
        with CaptureQueriesContext(connection) as ctx:
            client.get(path)
        sqls = [q["sql"] for q in ctx.captured_queries]
        ms, cpu = [], []
        for _ in range(requests):
            t, c = time.perf_counter(), time.process_time()
            r = client.get(path)
            cpu.append((time.process_time() - c) * 1000)
            ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        rawms = raw.timed(sqls, requests)
        row = {
            "name": name,
            "scale": scale,
            "db": db,
            "path": path,
            "auth": auth,
            "requests": requests,
            "p50_ms": round(pct(ms, 50), 2),
            "p95_ms": round(pct(ms, 95), 2),
            "cpu_ms_per_request": round(sum(cpu) / len(cpu), 2),
            "queries": len(sqls),
            "raw_sql_p50_ms": round(pct(rawms, 50), 3),
            "raw_sql_p95_ms": round(pct(rawms, 95), 3),
            "loadavg": open("/proc/loadavg").read().split()[:3],
        }
        row["ratio"] = round(row["p50_ms"] / row["raw_sql_p50_ms"], 1) if row["raw_sql_p50_ms"] else None
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(max(50, requests // 2)):
                client.get(path)
            prof.disable()
            text = io.StringIO()
            stats = pstats.Stats(prof, stream=text)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / f"overhead-profile-{name}.txt").write_text(
                "\n".join(f"-- {s}" for s in sqls) + "\n" + text.getvalue()
            )
        out.append(row)
    return out


def _proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process group's processes (gunicorn's master and workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pid:  # field 5 (pgrp), counted after the ")": index 2
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def bench_server(db: str, scale: int, customer_id: int, seconds: float, workers: int) -> list[dict]:
    from django.db import connection

    from kehu.access.models import User
    from kehu.customers.models import Customer

    rep = User.objects.get(username="bench_rep00_0")
    mine = list(
        Customer.objects.filter(owner=rep, deleted_at__isnull=True).values_list("id", flat=True)[:200]
    )
    connection.close()
    proc, port = start_server(workers)
    out = []
    try:
        key = token(port, rep.username)
        cases = [
            ("server_api_trivial_token", lambda rng: "/api/v1/auth/tokens"),
            (
                "server_thread_api_token",
                lambda rng: f"/api/v1/engagement/interactions?customer={customer_id}&limit=20",
            ),
            ("server_customer_detail_token", lambda rng: f"/api/v1/customers/{rng.choice(mine)}"),
            ("server_customer_list_token", lambda rng: "/api/v1/customers?ordering=-updated_at"),
        ]
        for name, path_of in cases:
            Client(port, key).call("GET", path_of(random.Random(0)))
            done, errors, lat = [0], [0], []
            lock = threading.Lock()
            cpu0 = _proc_cpu_seconds(proc.pid)
            stop = time.perf_counter() + seconds

            def worker(i, path_of=path_of, stop=stop, done=done, errors=errors, lat=lat, lock=lock):
                rng = random.Random(i)
                c = Client(port, key)
                while time.perf_counter() < stop:
                    status, _b, ms = c.call("GET", path_of(rng))
                    with lock:
                        if status == 200:
                            done[0] += 1
                            lat.append(ms)
                        else:
                            errors[0] += 1

            t = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            elapsed = time.perf_counter() - t
            cpu = _proc_cpu_seconds(proc.pid) - cpu0
            emit(
                out,
                {
                    "name": name,
                    "scale": scale,
                    "db": db,
                    "clients": CLIENTS,
                    "workers": workers,
                    "rate_per_s": round(done[0] / elapsed, 1),
                    "errors": errors[0],
                    "p50_ms": round(pct(lat, 50), 2) if lat else None,
                    "p95_ms": round(pct(lat, 95), 2) if lat else None,
                    "server_cpu_ms_per_request": round(cpu * 1000 / done[0], 2) if done[0] else None,
                    "loadavg": open("/proc/loadavg").read().split()[:3],
                },
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return out


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--scale", type=int, default=5000)
    ap.add_argument("--interactions", type=int, default=10_000)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--server-seconds", type=float, default=8, help="0: no gunicorn figures")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default=None, help="comma-separated in-process case names")
    ap.add_argument("--write-latest", action="store_true", help="merge into bench/results/latest.json")
    args = ap.parse_args(argv)
    url = configure(args.db, args.scale)
    os.environ.setdefault("KEHU_NOTIFY_CHANNELS", "inapp")
    sys.path.insert(0, str(ROOT))
    import bench.run

    bench.run.raw_load_rate = lambda db, scale: None  # bench.run's figure, not ours
    build(args.db, args.scale, args.reuse)
    import django

    django.setup()
    from bench.engagement import seed_thread

    customer_id = seed_thread(args.interactions)
    results: list = []
    if args.only:
        wanted = set(args.only.split(","))
        global _cases
        all_cases = _cases
        _cases = lambda *a: [c for c in all_cases(*a) if c[0] in wanted]  # noqa: E731
    for row in bench_inprocess(args.db, url, args.scale, customer_id, args.requests, args.profile):
        emit(results, row)
    if args.server_seconds:
        results += bench_server(args.db, args.scale, customer_id, args.server_seconds, args.workers)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"overhead-{args.db}-{args.scale}.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1) + "\n"
    )
    return results


if __name__ == "__main__":
    main()
