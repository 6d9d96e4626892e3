"""`python -m bench.search [--customers N] [--db sqlite|postgres]`: the search storage alone, old and new
side by side on the same names, back to back (so a busy machine weighs on both alike).

old: SearchToken(token, customer) with ~25 rows per customer (composite primary key + customer index),
     the rows of a 2,000-customer chunk sorted by token and executemany'd, as the bulk path did;
new: one document per customer (search.name_keys().tokens, legal-form terms left out), executemany'd,
     indexed by FTS5 (SQLite: external content, triggers) or GIN over a tsvector (PostgreSQL).
Then each search of bench.run (华星, hxsh, huaxing) as raw SQL: the first page of 50 by id and the
count (capped at 1,000), as the selector asks them. Writes bench/results/search-<db>-<N>.json."""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

from bench.run import RESULTS, VAR, configure, pct
from kehu.customers import search

STEP = 2000
PG_URL = "postgresql://postgres@127.0.0.1:5432/kehu_bench_search_micro"


def old_tokens(name: str) -> set[str]:
    """The search tokens of the previous design (kehu/customers/search.py before the documents)."""
    n = search.normalize(name)
    sy = search.syllables(n)
    full = "".join(sy)
    initials = "".join(s[0] for s in sy)
    tokens = {"n:" + n[i:i + 2] for i in range(len(n) - 1)}
    for k in range(len(initials) - 1):
        tokens.add("i:" + initials[k:k + 3])
    pos = 0
    for s in sy:
        chunk = full[pos:pos + 4]
        if len(chunk) >= 2:
            tokens.add("f:" + chunk)
        pos += len(s)
    return {t[:16] for t in tokens}


def names(count: int) -> list[str]:
    from kehu.demo.generators import customer_rows

    return [r["name"] for r in customer_rows(count, seed=7)]


def connect(db: str):
    if db == "sqlite":
        path = VAR / "search-micro.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
            conn.execute(f"PRAGMA {pragma}")
        return conn, "?"
    import psycopg

    with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS kehu_bench_search_micro WITH (FORCE)")
        c.execute("CREATE DATABASE kehu_bench_search_micro")
    return psycopg.connect(PG_URL, autocommit=True), "%s"


def schema(conn, db: str) -> None:
    from kehu.customers.search_index import POSTGRES_SQL, SQLITE_SQL  # migration 0009's DDL

    conn.execute("CREATE TABLE customers_customer (id bigint PRIMARY KEY, name_normalized varchar(200), "
                 "name_pinyin varchar(800), name_initials varchar(200))")
    conn.execute("CREATE TABLE customers_searchtoken (token varchar(16), customer_id bigint, "
                 "PRIMARY KEY (token, customer_id))")
    conn.execute("CREATE INDEX searchtoken_customer ON customers_searchtoken (customer_id)")
    conn.execute("CREATE TABLE customers_searchdocument (customer_id bigint PRIMARY KEY, terms text NOT NULL)")
    for sql in SQLITE_SQL if db == "sqlite" else POSTGRES_SQL:
        conn.execute(sql)


def load(conn, db: str, ph: str, rows: list[tuple], table: str, cols: str) -> float:
    t = time.perf_counter()
    cur = conn.cursor()
    for start in range(0, len(rows), STEP):
        cur.execute("BEGIN")
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join([ph] * len(cols.split(',')))})",
                        rows[start:start + STEP])
        cur.execute("COMMIT")
    return time.perf_counter() - t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args(argv)
    import django

    configure("sqlite", args.customers)  # settings only: this benchmark talks to its own database
    django.setup()
    VAR.mkdir(parents=True, exist_ok=True)
    all_names = names(args.customers)
    conn, ph = connect(args.db)
    schema(conn, args.db)
    keys = [search.name_keys(n) for n in all_names]
    load(conn, args.db, ph, [(i + 1, k.normalized, k.pinyin, k.initials) for i, k in enumerate(keys)],
         "customers_customer", "id, name_normalized, name_pinyin, name_initials")
    t = time.perf_counter()
    old_rows = []
    for start in range(0, len(all_names), STEP):  # tokens of a chunk in key order, as the bulk path did
        chunk = [(tok, i + 1) for i in range(start, min(start + STEP, len(all_names))) for tok in old_tokens(all_names[i])]
        old_rows += sorted(chunk)
    old_py = time.perf_counter() - t
    old_s = load(conn, args.db, ph, old_rows, "customers_searchtoken", "token, customer_id")
    t = time.perf_counter()
    new_rows = [(i + 1, search.document(k.tokens)) for i, k in enumerate(keys)]
    new_py = time.perf_counter() - t
    new_s = load(conn, args.db, ph, new_rows, "customers_searchdocument", "customer_id, terms")
    conn.execute("ANALYZE")
    results = [{"name": "search_storage_write", "db": args.db, "customers": args.customers,
                "old_rows": len(old_rows), "old_rows_per_customer": round(len(old_rows) / args.customers, 1),
                "old_customers_per_s": round(args.customers / old_s), "old_python_s": round(old_py, 2),
                "new_terms_per_customer": round(sum(len(k.tokens) for k in keys) / args.customers, 1),
                "new_customers_per_s": round(args.customers / new_s), "new_python_s": round(new_py, 2)}]
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    vendor = "sqlite" if args.db == "sqlite" else "postgresql"
    for q in ("华星", "hxsh", "huaxing", "有限公司"):
        p = search.plan(q)
        old_where, new_where, params_old, params_new = [], [], [], []
        for probe in p.probes:
            needle = f"{probe.field} LIKE {ph}"
            # old: the driver token (first of the probe) or the prefix range, as the old selector did
            tok = probe.terms[0] if probe.terms else None
            if tok:
                old_where.append(f"({needle} AND id IN (SELECT customer_id FROM customers_searchtoken WHERE token = {ph}))")
                params_old += [f"%{probe.needle}%", tok]
            elif probe.prefix:
                old_where.append(f"({needle} AND id IN (SELECT customer_id FROM customers_searchtoken "
                                 f"WHERE token >= {ph} AND token < {ph}))")
                params_old += [f"%{probe.needle}%", probe.prefix, probe.prefix[:-1] + chr(ord(probe.prefix[-1]) + 1)]
            else:
                old_where.append(needle)
                params_old.append(f"%{probe.needle}%")
            if probe.indexed:
                raw = _matching(vendor, probe)
                new_where.append(f"({needle} AND id IN ({raw[0].replace('%s', ph)}))")
                params_new += [f"%{probe.needle}%", *raw[1]]
            else:
                new_where.append(needle)
                params_new.append(f"%{probe.needle}%")
        row = {"name": "search_raw", "db": args.db, "customers": args.customers, "query": q}
        for label, where, params in (("old", old_where, params_old), ("new", new_where, params_new)):
            sqls = [(f"SELECT id FROM customers_customer WHERE {' OR '.join(where)} ORDER BY id LIMIT 50", params),
                    (f"SELECT count(*) FROM (SELECT id FROM customers_customer WHERE {' OR '.join(where)} LIMIT 1001) s",
                     params)]
            ms = []
            for i in range(args.requests + 1):
                t = time.perf_counter()
                cur = conn.cursor()
                for sql, prm in sqls:
                    cur.execute(sql, prm)
                    got = cur.fetchall()
                if i:
                    ms.append((time.perf_counter() - t) * 1000)
            row[f"{label}_p50_ms"], row[f"{label}_p95_ms"] = round(pct(ms, 50), 2), round(pct(ms, 95), 2)
            row[f"{label}_count"] = got[0][0]
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    if args.db == "sqlite":
        size = {name: conn.execute(f"SELECT SUM(pgsize) FROM dbstat WHERE name LIKE '{name}%'").fetchone()[0]
                for name in ("customers_searchtoken", "searchtoken_customer", "sqlite_autoindex_customers_searchtoken",
                             "customers_searchdocument", "customers_searchfts")} if _has_dbstat(conn) else {}
    else:
        size = {name: conn.execute(f"SELECT pg_total_relation_size('{name}')").fetchone()[0]
                for name in ("customers_searchtoken", "customers_searchdocument")}
    results.append({"name": "search_storage_bytes", "db": args.db, "customers": args.customers, **size})
    print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"search-{args.db}-{args.customers}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")


def _matching(vendor: str, probe) -> tuple[str, list]:
    from kehu.customers import search_index

    if vendor == "sqlite":
        parts = [search_index._fts_phrase(t) for t in probe.terms] + (
            [search_index._fts_phrase(probe.prefix) + "*"] if probe.prefix else [])
        return (f"SELECT rowid FROM {search_index.FTS_TABLE} WHERE {search_index.FTS_TABLE} MATCH %s",
                [" AND ".join(parts)])
    parts = [search_index._ts_lexeme(t) for t in probe.terms] + (
        [search_index._ts_lexeme(probe.prefix) + ":*"] if probe.prefix else [])
    return (f"SELECT customer_id FROM {search_index.DOC_TABLE} WHERE {search_index.PG_VECTOR} @@ %s::tsquery",
            [" & ".join(parts)])


def _has_dbstat(conn) -> bool:
    try:
        conn.execute("SELECT 1 FROM dbstat LIMIT 1")
        return True
    except sqlite3.OperationalError:
        return False


if __name__ == "__main__":
    main()
