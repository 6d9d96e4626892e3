"""`python -m bench.run --scale N [--db sqlite|postgres] [--reuse]`: build a dataset through the real
bulk service, serve it with gunicorn in production mode and measure what a client sees over HTTP, each
figure beside the raw-SQL limit of the same query on the same database. See bench/README.md."""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results"
# KEHU_BENCH_PG_DB: another database name, so that two benchmarks on one server do not share (and drop) it.
PG_DB = os.environ.get("KEHU_BENCH_PG_DB", "kehu_bench")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
SECRET = "kehu-bench-secret-not-for-production"
FIELD_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"kehu-bench-field-key").digest()).decode()
PASSWORD = "Bench#Pass2026"
DEPARTMENTS = 10
REPS_PER_DEPARTMENT = 5
CHUNK = 20000

TARGETS = {  # name → (kind, target): p95 ≤ target ms, or rate ≥ target per second
    "bulk_load": ("rate", 20000), "list_city_executive": ("p95", 15), "list_city_manager": ("p95", 15),
    "list_deep_cursor": ("p95", 15), "search_hanzi_huaxing": ("p95", 30), "search_initials_hxsh": ("p95", 30),
    "search_pinyin_huaxing": ("p95", 30), "search_mobile": ("p95", 30), "search_last4": ("p95", 30), "customer_detail": ("p95", 15), "create_8_clients": ("rate", 600),
}
# Issue 10's table sets lower write targets for SQLite (one file, one writer): import / bulk registration
# ≥ 10,000 rows/s and create ≥ 300/s, where PostgreSQL's are 20,000 and 600.
SQLITE_TARGETS = {"bulk_load": 10000, "create_8_clients": 300}


def target_for(name: str, db: str) -> tuple[str, float]:
    kind, target = TARGETS[name]
    return kind, SQLITE_TARGETS.get(name, target) if db == "sqlite" else target


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def emit(results: list, name: str, scale: int, db: str, **fig) -> None:
    kind, target = target_for(name, db)
    row = {"name": name, "scale": scale, "db": db, **fig}
    value = row.get("p95_ms") if kind == "p95" else row.get("rate_per_s")
    raw = row.get("raw_sql_p95_ms") if kind == "p95" else row.get("raw_sql_rate_per_s")
    if value and raw:
        row["ratio"] = round(value / raw, 2) if kind == "p95" else round(raw / value, 2)
    row["target"] = f"p95 <= {target} ms" if kind == "p95" else f">= {target}/s"
    row["met"] = bool(value is not None and (value <= target if kind == "p95" else value >= target))
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


# The server settings a PostgreSQL figure depends on most (docs/deployment.md "PostgreSQL"); rows from before
# session 11 have none: they were measured with the test server's defaults (128 MB shared_buffers, 1 GB max_wal_size).
PG_SETTINGS = ("shared_buffers", "max_wal_size", "work_mem", "checkpoint_timeout", "wal_compression", "jit", "autovacuum")


def pg_server_settings() -> dict | None:
    """The running PostgreSQL server's settings of PG_SETTINGS, as ``SHOW`` prints them; None when it does not answer."""
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3) as conn:
            return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in PG_SETTINGS}
    except Exception:  # noqa: BLE001 — a figure is still worth keeping without its settings
        return None


def merge_results(results: list, path: Path | None = None) -> None:
    """The one way a benchmark writes bench/results/latest.json: each row replaces the row with the same name
    AND database where it stands (the SQLite and PostgreSQL figures stay side by side), new rows go at the end,
    every other module's rows are kept; two-space layout, written atomically. Each PostgreSQL row gets the
    server's ``pg_settings`` (``pg_server_settings``) unless it carries them already."""
    path = path or RESULTS / "latest.json"
    server = pg_server_settings() if any(r.get("db") == "postgres" for r in results) else None
    for r in results:
        if server and r.get("db") == "postgres":
            r.setdefault("pg_settings", server)
    try:
        existing = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        existing = []
    if not isinstance(existing, list):
        existing = []
    ours = {(r["name"], r.get("db")): r for r in results}
    merged = []
    for r in existing:
        key = (r.get("name"), r.get("db")) if isinstance(r, dict) else None
        merged.append(ours.pop(key) if key in ours else r)
    merged += [r for r in results if (r["name"], r.get("db")) in ours]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(path)


# ---------------------------------------------------------------- environment and dataset

def configure(db: str, scale: int) -> str:
    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'kehu-{scale}.sqlite3'}" if db == "sqlite" else PG_URL
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    os.environ.update(KEHU_SECRET_KEY=SECRET, KEHU_FIELD_KEYS=FIELD_KEY, KEHU_DATABASE_URL=url,
                      DJANGO_SETTINGS_MODULE="kehu.settings", KEHU_VAR_DIR=str(ROOT / "var"))
    return url


def pg_recreate(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def meta_path(db: str, scale: int) -> Path:
    return VAR / f"kehu-{db}-{scale}.meta.json"


def build(db: str, scale: int, reuse: bool, profile: str | None = None, raw: bool = True) -> dict:
    path = VAR / f"kehu-{scale}.sqlite3"
    mp = meta_path(db, scale)
    if reuse and mp.exists() and (db == "postgres" or path.exists()):
        print(f"# reusing dataset ({mp.name})", file=sys.stderr)
        return json.loads(mp.read_text())
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        pg_recreate(PG_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from kehu.access.services import department_ensure_path, user_create
    from kehu.customers.services import customer_bulk_create
    from kehu.demo.generators import customer_rows

    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    admin = user_create(actor=None, username="bench_admin", password=PASSWORD, role="admin", department=hq)
    user_create(actor=None, username="bench_exec", password=PASSWORD, role="executive", department=hq)
    reps = []
    for d in range(DEPARTMENTS):
        dept = department_ensure_path(actor=None, path=f"总部/销售部/区域{d + 1:02d}")
        user_create(actor=None, username=f"bench_mgr{d:02d}", password=PASSWORD, role="manager", department=dept)
        for r in range(REPS_PER_DEPARTMENT):
            reps.append(user_create(actor=None, username=f"bench_rep{d:02d}_{r}", password=PASSWORD,
                                    role="account_manager", department=dept))
    rng = random.Random(7)
    loaded, seconds, mobiles = 0, 0.0, []
    prof = None
    if profile:  # cProfile of the service calls only (the generator and the set-up excluded)
        import cProfile

        prof = cProfile.Profile()
    while loaded < scale:
        n = min(CHUNK, scale - loaded)
        rows = []
        for row in customer_rows(n, start=loaded):
            row["owner"] = reps[rng.randrange(len(reps))]
            rows.append(row)
        mobiles += [c["mobile"] for row in rows[:: max(1, n // 20)] for c in row["contacts"][:1]]
        t = time.perf_counter()
        if prof is not None:
            prof.enable()
        customer_bulk_create(actor=admin, rows=rows, basis={"basis": "contract", "purpose": "客户关系管理与合同履行"})
        if prof is not None:
            prof.disable()
        seconds += time.perf_counter() - t
        loaded += n
        print(f"# loaded {loaded}/{scale} ({loaded / seconds:,.0f}/s)", file=sys.stderr, flush=True)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    if prof is not None:
        prof.dump_stats(profile)
        print(f"# profile of the service calls written to {profile}", file=sys.stderr)
    meta = {"scale": scale, "db": db, "load_seconds": seconds, "load_rate": scale / seconds, "mobiles": mobiles}
    meta["raw_rate"] = raw_load_rate(db, scale) if raw else None
    mp.write_text(json.dumps(meta, ensure_ascii=False))
    return meta


def raw_load_rate(db: str, scale: int) -> float:
    """The same rows (read back from the dataset, first ≤50,000 customers) executemany'd into the same
    tables of a freshly migrated scratch database, in 2,000-customer transactions: the physical limit."""
    from django.db import connection

    sample = min(scale, 50000)
    tables = [("customers_customer", "id"), ("customers_searchdocument", "customer_id"),
              ("customers_contact", "customer_id"), ("customers_changerecord", "customer_id")]
    with connection.cursor() as cur:
        cur.execute("SELECT MIN(id) FROM customers_customer")
        first = cur.fetchone()[0]
        data = {}

        def columns(table: str) -> str:  # generated columns (the search document's tsvector) can't be inserted
            if db != "postgres":
                return "*"
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                        "AND is_generated = 'NEVER' ORDER BY ordinal_position", [table])
            return ", ".join(f'"{r[0]}"' for r in cur.fetchall())

        for table, key in tables:
            cur.execute(f"SELECT {columns(table)} FROM {table} WHERE {key} < %s ORDER BY {key}", [first + sample])
            data[table] = ([c[0] for c in cur.description], cur.fetchall())
        cur.execute(f"SELECT {columns('audit_auditentry')} FROM audit_auditentry WHERE action = 'customer.create' "
                    "ORDER BY id LIMIT %s", [sample])
        data["audit_auditentry"] = ([c[0] for c in cur.description], cur.fetchall())
    if db == "sqlite":
        scratch = VAR / "scratch.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(scratch) + suffix).unlink(missing_ok=True)
        env = {**os.environ, "KEHU_DATABASE_URL": f"sqlite:///{scratch}"}
    else:
        pg_recreate(PG_DB + "_scratch")
        env = {**os.environ, "KEHU_DATABASE_URL": PG_URL + "_scratch"}
    subprocess.run([sys.executable, "-m", "kehu", "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    users = "INSERT INTO access_user SELECT * FROM src.access_user"
    if db == "sqlite":
        conn = sqlite3.connect(scratch, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("ATTACH DATABASE ? AS src", [str(VAR / f"kehu-{scale}.sqlite3")])
        conn.execute("INSERT INTO access_department SELECT * FROM src.access_department")
        conn.execute(users)
        conn.execute("DETACH DATABASE src")
        ph = "?"
    else:
        import psycopg

        conn = psycopg.connect(PG_URL.replace("postgres://", "postgresql://") + "_scratch", autocommit=True)
        ph = "%s"
    if db == "postgres":
        with connection.cursor() as cur:
            cur.execute("SELECT * FROM access_department ORDER BY path")
            dcols, drows = [c[0] for c in cur.description], cur.fetchall()
            cur.execute("SELECT * FROM access_user")
            ucols, urows = [c[0] for c in cur.description], cur.fetchall()
        conn.cursor().executemany(f"INSERT INTO access_department ({','.join(dcols)}) VALUES ({','.join([ph] * len(dcols))})", drows)
        conn.cursor().executemany(f"INSERT INTO access_user ({','.join(ucols)}) VALUES ({','.join([ph] * len(ucols))})", urows)
    step = 2000
    order = ["customers_customer", "customers_searchdocument", "customers_contact", "customers_changerecord",
             "audit_auditentry"]
    buckets: dict[str, dict[int, list]] = {}
    for table in order:
        cols, rows = data[table]
        k = cols.index("id" if table == "customers_customer" else "customer_id") if table != "audit_auditentry" else None
        b = buckets.setdefault(table, {})
        for i, r in enumerate(rows):
            b.setdefault(((r[k] - first) if k is not None else i) // step, []).append(r)
    t = time.perf_counter()
    for batch in range(0, (sample + step - 1) // step):
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if db == "sqlite" else "BEGIN")
        for table in order:
            cols = data[table][0]
            cur.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join([ph] * len(cols))})",
                            buckets[table].get(batch, []))
        cur.execute("COMMIT")
    rate = sample / (time.perf_counter() - t)
    conn.close()
    return rate


# ---------------------------------------------------------------- server and HTTP client

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict:
    """The benchmark's server runs in production mode over plain HTTP on loopback: without these it would answer
    every request with a redirect to HTTPS (and set cookies a plain-HTTP client never sends back)."""
    env = os.environ.copy()
    env.setdefault("KEHU_SSL_REDIRECT", "0")
    env.setdefault("KEHU_SECURE_COOKIES", "0")
    return env


def start_server(workers: int, wait: float = 240) -> tuple[subprocess.Popen, int]:
    """gunicorn in production mode on a free loopback port, returned once /readyz answers (within ``wait``
    seconds: on the shared box at a load of 10+ workers importing Django took more than 30 s)."""
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    proc = subprocess.Popen([gunicorn, "kehu.wsgi:application", "--workers", str(workers), "--worker-class", "gthread",
                             "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                             "--keep-alive", "75"], cwd=ROOT, env=server_env(), start_new_session=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:  # /readyz: the database answers (not the OpenAPI document: slow to build)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


class Client:
    def __init__(self, port: int, token: str | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None, float]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data else {})}
        t = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        ms = (time.perf_counter() - t) * 1000
        return resp.status, (json.loads(raw) if raw else None), ms


def token(port: int, username: str) -> str:
    status, body, _ms = Client(port).call("POST", "/api/v1/auth/token", {"username": username, "password": PASSWORD})
    assert status == 201, (status, body)
    return body["token"]


def timed(client: Client, path: str, n: int) -> list[float]:
    client.call("GET", path)  # warm
    out = []
    for _ in range(n):
        status, _body, ms = client.call("GET", path)
        assert status == 200, (status, path)
        out.append(ms)
    return out


# ---------------------------------------------------------------- raw SQL of the same query

class RawSQL:
    """Capture the SQL a selector emits (Django's own rendering with parameters inlined) and replay it on
    the same database through the bare driver."""

    def __init__(self, db: str, url: str):
        self.db = db
        if db == "sqlite":
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "mmap_size=1073741824"):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            # The app's session settings (kehu.settings: JIT off), so that the replay is the same statement run
            # the same way.
            self.conn = psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True,
                                        options="-c jit=off")

    @staticmethod
    def capture(fn) -> list[str]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            fn()
        return [q["sql"] for q in ctx.captured_queries]

    def timed(self, sqls: list[str], n: int) -> list[float]:
        out = []
        for i in range(n + 1):
            t = time.perf_counter()
            cur = self.conn.cursor()
            for sql in sqls:
                cur.execute(sql)
                if cur.description is not None:
                    cur.fetchall()
            if i:
                out.append((time.perf_counter() - t) * 1000)
        return out

    def rate_in_rollback(self, sqls: list[str], seconds: float = 5.0) -> float:
        """Replay one create's statements in a transaction that is rolled back (so they can repeat)."""
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if self.db == "sqlite" else "BEGIN")
            for sql in sqls:
                if sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
                    continue
                cur.execute(sql)
                if cur.description is not None:
                    cur.fetchall()
            cur.execute("ROLLBACK")
            n += 1
        return n / (time.perf_counter() - t)


def fig(ms: list[float], raw: list[float]) -> dict:
    return {"requests": len(ms), "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2),
            "raw_sql_p50_ms": round(pct(raw, 50), 3), "raw_sql_p95_ms": round(pct(raw, 95), 3)}


def create_payload(serial: int) -> dict:
    from kehu.demo.generators import PLACES, uscc

    rng = random.Random(serial)
    province, city, districts, division = PLACES[serial % len(PLACES)]
    return {"name": f"基准测试{serial}号科技有限公司", "kind": "organization", "uscc": uscc(rng, division, 10**9 + serial),
            "industry": "电子", "province": province, "city": city, "district": districts[0], "source": "展会"}


def measure(db: str, url: str, scale: int, meta: dict, n: int, create_seconds: float, workers: int) -> list:
    import django

    django.setup()
    from kehu.access.models import User
    from kehu.customers import selectors
    from kehu.customers.api import CustomerFilters
    from kehu.customers.models import Customer
    from kehu.customers.schemas import CustomerOut, CustomerPage, customer_out

    results: list = []
    if not meta.get("cloned_from"):  # a dataset grown by bench.clone was loaded at its templates' size only
        emit(results, "bulk_load", scale, db, rate_per_s=round(meta["load_rate"]),
             raw_sql_rate_per_s=round(meta["raw_rate"]), seconds=round(meta["load_seconds"], 1))
    raw = RawSQL(db, url)
    execu = User.objects.get(username="bench_exec")
    mgr = User.objects.get(username="bench_mgr00")

    def list_sql(actor, **kw):
        def run():
            f = CustomerFilters(**kw)
            page, count = selectors.customer_list_counted(actor=actor, **f.dict())
            CustomerPage.model_validate({"items": [customer_out(c) for c in page.items], "next": page.next,
                                         "prev": page.prev, "count": count.value,
                                         "count_kind": count.kind}).model_dump()
        return RawSQL.capture(run)

    proc, port = start_server(workers)
    try:
        tok_exec, tok_mgr = token(port, "bench_exec"), token(port, "bench_mgr00")
        ce, cm = Client(port, tok_exec), Client(port, tok_mgr)
        city = urllib.parse.quote("杭州市")
        base = f"/api/v1/customers?city={city}&ordering=-updated_at"
        emit(results, "list_city_executive", scale, db,
             **fig(timed(ce, base, n), raw.timed(list_sql(execu, city="杭州市"), n)))
        emit(results, "list_city_manager", scale, db,
             **fig(timed(cm, base, n), raw.timed(list_sql(mgr, city="杭州市"), n)))
        cursor = None
        for _ in range(50):
            status, body, _ms = ce.call("GET", base + (f"&cursor={cursor}" if cursor else ""))
            cursor = body["next"] or cursor
        emit(results, "list_deep_cursor", scale, db, pages_followed=50,
             **fig(timed(ce, f"{base}&cursor={cursor}", n), raw.timed(list_sql(execu, city="杭州市", cursor=cursor), n)))
        mobile = meta["mobiles"][len(meta["mobiles"]) // 2]
        for name, q in (("search_hanzi_huaxing", "华星"), ("search_initials_hxsh", "hxsh"),
                        ("search_pinyin_huaxing", "huaxing"), ("search_mobile", mobile),
                        ("search_last4", "尾号" + mobile[-4:])):
            path = f"/api/v1/customers?q={urllib.parse.quote(q)}"
            status, body, _ms = ce.call("GET", path)
            emit(results, name, scale, db, query=q if name != "search_mobile" else "<existing contact mobile>",
                 hits_on_page=len(body["items"]), **fig(timed(ce, path, n), raw.timed(list_sql(execu, q=q), n)))
        lo, hi = Customer.objects.order_by("id").values_list("id", flat=True).first(), scale
        ids = [random.Random(3).randint(lo, lo + hi - 1) for _ in range(n)]
        ms = []
        ce.call("GET", f"/api/v1/customers/{ids[0]}")
        for cid in ids:
            status, _body, t = ce.call("GET", f"/api/v1/customers/{cid}")
            assert status == 200, status
            ms.append(t)

        def detail():
            CustomerOut.model_validate(customer_out(selectors.customer_detail(actor=execu, customer_id=ids[0]))).model_dump()
        emit(results, "customer_detail", scale, db, **fig(ms, raw.timed(RawSQL.capture(detail), n)))
        results.append(create_bench(db, scale, port, tok_exec, execu, raw, create_seconds))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return results


def create_bench(db, scale, port, tok, actor, raw: RawSQL, seconds: float) -> dict:
    from django.db import transaction

    from kehu.customers import selectors, services
    from kehu.customers.schemas import CustomerOut, customer_out

    base = int(time.time() * 1000) % 10**7 * 100
    counter = iter(range(base, base + 10**8))
    lock = threading.Lock()
    ok, errors, lat = [0], [0], []
    stop = time.perf_counter() + seconds

    def worker():
        c = Client(port, tok)
        while time.perf_counter() < stop:
            with lock:
                serial = next(counter)
            try:
                status, _body, ms = c.call("POST", "/api/v1/customers", create_payload(serial))
            except (OSError, http.client.HTTPException):
                status, ms, c = 0, 0.0, Client(port, tok)
            with lock:
                if status == 201:
                    ok[0] += 1
                    lat.append(ms)
                else:
                    errors[0] += 1
    t = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t

    class Rollback(Exception):
        pass

    sqls: list[str] = []

    def one():
        try:
            with transaction.atomic():
                c = services.customer_create(actor=actor, data={**create_payload(next(counter)), "tags": [], "custom": {}})
                CustomerOut.model_validate(customer_out(selectors.customer_detail(actor=actor, customer_id=c.pk))).model_dump()
                raise Rollback
        except Rollback:
            pass
    sqls = RawSQL.capture(one)
    rate = ok[0] / elapsed
    kind, target = target_for("create_8_clients", db)
    rawrate = raw.rate_in_rollback(sqls)
    return {"name": "create_8_clients", "scale": scale, "db": db, "clients": 8, "seconds": round(elapsed, 1),
            "created": ok[0], "errors": errors[0], "rate_per_s": round(rate, 1),
            "p50_ms": round(pct(lat, 50), 2) if lat else None, "p95_ms": round(pct(lat, 95), 2) if lat else None,
            "raw_sql_rate_per_s": round(rawrate, 1), "ratio": round(rawrate / rate, 2) if rate else None,
            "target": f">= {target}/s, 0 errors", "met": rate >= target and errors[0] == 0}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=int, default=1_000_000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--reuse", action="store_true", help="keep an existing dataset of this scale")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--create-seconds", type=float, default=15.0)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--build-only", action="store_true",
                    help="build the dataset (the bulk_load figure and its raw limit) and stop: nothing is measured over HTTP")
    ap.add_argument("--profile", metavar="PATH", help="cProfile the bulk service calls of the build into PATH")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw-SQL load limit (development runs)")
    args = ap.parse_args(argv)
    url = configure(args.db, args.scale)
    sys.path.insert(0, str(ROOT))
    meta = build(args.db, args.scale, args.reuse, profile=args.profile, raw=not args.no_raw)
    if args.build_only:
        print(json.dumps({k: v for k, v in meta.items() if k != "mobiles"}), flush=True)
        return
    results = measure(args.db, url, args.scale, meta, args.requests, args.create_seconds, args.workers)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = json.dumps(results, ensure_ascii=False, indent=1) + "\n"
    (RESULTS / f"{args.db}-{args.scale}.json").write_text(out)
    merge_results(results)  # not a rewrite: the other modules' figures stay


if __name__ == "__main__":
    main()
