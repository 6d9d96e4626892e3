"""Load test (issue 10 "Serving and operating"): an account manager's day against several app servers, with
Locust, on loopback only, bounded in time and in requests.

    .venv/bin/pip install -e ".[bench]"          # Locust (not needed by the suite)
    .venv/bin/python -m bench.load --db postgres --scale 1000000 --reuse [--servers 2] [--workers 2]
                                    [--users 40] [--seconds 60] [--max-requests 200000]

1. Dataset: bench.run's (``build``: departments, 50 account managers, ``--scale`` customers with contacts, through
   the real services), in a child process; ``--reuse`` keeps it. PostgreSQL database ``KEHU_BENCH_PG_DB`` (default
   ``kehu_bench``), SQLite ``var/bench/kehu-<scale>.sqlite3``.
2. ``--servers`` gunicorn app servers (``bench.run.start_server``: production mode, ``--workers`` gthread workers × 4
   threads each) on their own loopback ports, all on the one database, sharing the Redis cache when
   ``KEHU_CACHE_URL`` is set (as several app servers must).
3. Locust in a child process (gevent must patch the interpreter before anything else is imported): ``--users``
   simulated account managers, spread over the servers and over the 50 real account managers (each with an API
   token), ramping up at ``--spawn-rate``; each waits 0–``--think`` s between actions and does, by weight:
   list my customers (3), search (3: a name fragment, initials, pinyin, a mobile's 尾号), open a customer (4),
   log a follow-up with a next step (2), change a customer's remark with the version read (1, If-Match).
   The run stops after ``--seconds`` or ``--max-requests``, whichever comes first.

Output: one JSON line per operation and one for the whole mix (requests, failures, requests/s, p50/p95 ms), merged
into bench/results/latest.json as ``load_<op>`` rows. Beside each operation: the raw-SQL p95 of the same query that
``bench.run`` measured on the same dataset (``list_city_manager``, ``search_*``, ``customer_detail``; the follow-up's
from ``bench.engagement``) when those rows exist, so the cost of HTTP, Python and the load is visible. Goal from the
issue: ≥ 500 requests/s mixed with p95 ≤ 100 ms per operation, at 1,000,000 customers on PostgreSQL.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.run import (
    DEPARTMENTS,
    REPS_PER_DEPARTMENT,
    RESULTS,
    ROOT,
    configure,
    merge_results,
    meta_path,
    start_server,
    token,
)

TARGET_RPS, TARGET_P95 = 500, 100.0
# The bench.run / bench.engagement rows whose raw-SQL p95 stands beside each operation (same query, bare driver).
RAW_ROWS = {"list": "list_city_manager", "search": "search_hanzi_huaxing", "open": "customer_detail",
            "log": "followup_create_8_clients", "update": "customer_detail"}
SEARCHES = ["华星", "hxsh", "huaxing", "石化", "贸易"]


def build_dataset(db: str, scale: int, reuse: bool) -> dict:
    """bench.run's dataset, built in a child process (Django stays out of this one and of Locust's)."""
    code = ("import json, sys; from bench.run import configure, build; "
            f"configure({db!r}, {scale}); build({db!r}, {scale}, {reuse!r})")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=os.environ.copy())
    return json.loads(meta_path(db, scale).read_text())


def raw_reference(db: str, scale: int) -> dict:
    try:
        rows = json.loads((RESULTS / "latest.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    out = {}
    for op, name in RAW_ROWS.items():
        for r in rows:
            if r.get("name") == name and r.get("db") == db and r.get("scale") == scale:
                raw = r.get("raw_sql_p95_ms")
                if raw is None and r.get("raw_sql_rate_per_s"):
                    raw = round(1000 / r["raw_sql_rate_per_s"], 2)  # one create's statements, serially
                out[op] = {"raw_sql_p95_ms": raw, "from": name}
    return out


# ---------------------------------------------------------------- the Locust side (child process)

def locust_child(config: dict) -> dict:
    from gevent import monkey

    monkey.patch_all()
    import datetime as dt
    import itertools
    import random
    import uuid

    import gevent
    from locust import HttpUser, between, task
    from locust.clients import HttpSession
    from locust.env import Environment

    hosts, tokens = config["hosts"], config["tokens"]
    serial = itertools.count()
    sent = itertools.count(1)
    env_holder: dict = {}

    class AccountManager(HttpUser):
        host = hosts[0]
        wait_time = between(0, config["think"])

        def on_start(self):
            n = next(serial)
            self.client = HttpSession(base_url=hosts[n % len(hosts)], request_event=self.environment.events.request,
                                      user=self)
            self.client.headers.update({"Authorization": f"Bearer {tokens[n % len(tokens)]}",
                                        "Accept": "application/json"})
            self.rng = random.Random(n)
            r = self.client.get("/api/v1/customers?mine=true&limit=50", name="list")
            self.mine = [c["id"] for c in (r.json().get("items", []) if r.status_code == 200 else [])]

        def _count(self):
            if next(sent) >= config["max_requests"]:
                env_holder["runner"].quit()

        @task(3)
        def list_mine(self):
            self.client.get("/api/v1/customers?mine=true&limit=20&ordering=-updated_at", name="list")
            self._count()

        @task(3)
        def search(self):
            self.client.get("/api/v1/customers", params={"q": self.rng.choice(SEARCHES), "limit": 20}, name="search")
            self._count()

        @task(4)
        def open_customer(self):
            if self.mine:
                self.client.get(f"/api/v1/customers/{self.rng.choice(self.mine)}", name="open")
                self._count()

        @task(2)
        def log_follow_up(self):
            if self.mine:
                due = (dt.date.today() + dt.timedelta(days=3)).isoformat()
                with self.client.post("/api/v1/engagement/interactions", name="log", catch_response=True, json={
                        "customer": self.rng.choice(self.mine), "channel": self.rng.choice(["phone", "wechat", "visit"]),
                        "summary": "电话沟通下月提货计划", "next_step": "发送报价单", "next_step_due": due,
                        "client_key": str(uuid.uuid4())}) as r:
                    if r.status_code != 201:
                        r.failure(f"{r.status_code}: {r.text[:200]}")
                self._count()

        @task(1)
        def update_remark(self):
            if self.mine:
                cid = self.rng.choice(self.mine)
                got = self.client.get(f"/api/v1/customers/{cid}", name="open")
                if got.status_code == 200:
                    with self.client.patch(f"/api/v1/customers/{cid}", name="update", catch_response=True,
                                           headers={"If-Match": got.headers.get("ETag", "")},
                                           json={"remark": f"负荷测试 {uuid.uuid4().hex[:6]}"}) as r:
                        # 412: another simulated user changed the same customer in between (a real conflict)
                        if r.status_code not in (200, 412):
                            r.failure(f"{r.status_code}: {r.text[:200]}")
                self._count()

    env = Environment(user_classes=[AccountManager])
    runner = env.create_local_runner()
    env_holder["runner"] = runner
    started = time.perf_counter()
    runner.start(config["users"], spawn_rate=config["spawn_rate"])
    gevent.spawn_later(config["seconds"], runner.quit)
    runner.greenlet.join()
    elapsed = time.perf_counter() - started
    out = {"seconds": round(elapsed, 1), "ops": {}}
    for (name, _method), e in env.stats.entries.items():
        agg = out["ops"].setdefault(name, {"requests": 0, "failures": 0, "entries": []})
        agg["requests"] += e.num_requests
        agg["failures"] += e.num_failures
        agg["entries"].append(e)
    total = env.stats.total
    result = {"seconds": out["seconds"], "requests": total.num_requests, "failures": total.num_failures,
              "p50_ms": total.get_response_time_percentile(0.5), "p95_ms": total.get_response_time_percentile(0.95),
              "ops": {}}
    for name, agg in out["ops"].items():
        e = agg["entries"][0]
        for other in agg["entries"][1:]:
            e.extend(other)
        result["ops"][name] = {"requests": agg["requests"], "failures": agg["failures"],
                               "p50_ms": e.get_response_time_percentile(0.5),
                               "p95_ms": e.get_response_time_percentile(0.95)}
    result["errors"] = [f"{err.method} {err.name}: {err.error} ×{err.occurrences}"
                        for err in list(env.stats.errors.values())[:10]]
    return result


# ---------------------------------------------------------------- the conductor

def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    ap.add_argument("--scale", type=int, default=20_000)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--servers", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="gthread workers per server (4 threads each)")
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--spawn-rate", type=float, default=20)
    ap.add_argument("--think", type=float, default=0.5, help="longest pause between a user's actions, seconds")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--no-write", action="store_true", help="print, don't merge into bench/results/latest.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(locust_child(json.loads(Path(args.child).read_text()))), flush=True)
        return []
    if importlib.util.find_spec("locust") is None:  # not imported here: importing it patches this process (gevent)
        raise SystemExit('Locust is not installed: .venv/bin/pip install -e ".[bench]"')

    configure(args.db, args.scale)  # the servers' environment: database, keys, production mode
    build_dataset(args.db, args.scale, args.reuse)
    servers = [start_server(args.workers) for _ in range(args.servers)]
    try:
        ports = [port for _proc, port in servers]
        names = [f"bench_rep{d:02d}_{r}" for d in range(DEPARTMENTS) for r in range(REPS_PER_DEPARTMENT)]
        tokens = [token(ports[i % len(ports)], name) for i, name in enumerate(names)]
        config = {"hosts": [f"http://127.0.0.1:{p}" for p in ports], "tokens": tokens, "users": args.users,
                  "spawn_rate": args.spawn_rate, "think": args.think, "seconds": args.seconds,
                  "max_requests": args.max_requests}
        cfg = ROOT / "var" / "bench" / f"load-{os.getpid()}.json"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(json.dumps(config))
        try:
            load_before = os.getloadavg()[0]
            done = subprocess.run([sys.executable, "-m", "bench.load", "--child", str(cfg)], cwd=ROOT,
                                  capture_output=True, text=True, check=False)
            load_after = os.getloadavg()[0]
        finally:
            cfg.unlink(missing_ok=True)
        if done.returncode:
            raise SystemExit(f"the Locust process failed:\n{done.stderr[-3000:]}")
        run = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        for proc, _port in servers:
            proc.terminate()
        for proc, _port in servers:
            proc.wait(timeout=30)
    raw = raw_reference(args.db, args.scale)
    common = {"scale": args.scale, "db": args.db, "servers": args.servers, "workers": args.workers,
              "users": args.users, "seconds": run["seconds"],
              "load_avg_1m": [round(load_before, 1), round(load_after, 1)]}
    rows = []
    mix_rps = round(run["requests"] / run["seconds"], 1) if run["seconds"] else 0
    rows.append({"name": "load_mix", **common, "requests": run["requests"], "failures": run["failures"],
                 "rate_per_s": mix_rps, "p50_ms": run["p50_ms"], "p95_ms": run["p95_ms"],
                 "target": f">= {TARGET_RPS}/s mixed, p95 <= {TARGET_P95:g} ms per operation",
                 "met": bool(mix_rps >= TARGET_RPS and run["failures"] == 0
                             and all(o["p95_ms"] <= TARGET_P95 for o in run["ops"].values())),
                 "errors": run["errors"]})
    for op, fig in sorted(run["ops"].items()):
        rows.append({"name": f"load_{op}", **common, **fig,
                     "rate_per_s": round(fig["requests"] / run["seconds"], 1) if run["seconds"] else 0,
                     **(raw.get(op) or {"raw_sql_p95_ms": None}),
                     "target": f"p95 <= {TARGET_P95:g} ms", "met": bool(fig["p95_ms"] <= TARGET_P95
                                                                        and fig["failures"] == 0)})
    for r in rows:
        print(json.dumps(r, ensure_ascii=False), flush=True)
    if not args.no_write:
        merge_results(rows)
    return rows


if __name__ == "__main__":
    main()
