"""`python -m bench.exports --customers 100000 [--reuse]`: export of the customer list, and the periodic
review scan, at scale.

Builds var/bench/exports-<n>.sqlite3 (migrated through Django with bench.run's environment: fixed secret
and field keys, production settings), 10 departments × 5 reps (kehu.access.services), then <n> customers
inserted with one plain executemany of prepared rows (70 % organisations with valid USCCs, 30 % persons
with an encrypted mobile and ID number; about a third tagged; updated over the last three years), ANALYZE.
Measures, in process (the export is one streamed response; HTTP adds a constant):

* export_csv_100k: kehu.imports.exports — export_prepare (permission, cap count, audit) then the streamed
  CSV consumed to the end, as the executive (all rows), seconds; raw SQL: the same rows (customer columns
  joined to owner and department, plus the tag names) fetched through sqlite3 and written with csv.writer;
* export_xlsx_100k: the same rows to an XLSX file (openpyxl write-only); raw SQL: the same fetch written
  to CSV (there is no faster XLSX writer to compare with: the ratio shows openpyxl's cost);
* review_scan_100k: kehu.customers.review.services.review_run_start + review_run_build over every
  customer (stale / incomplete / invalid rules, items bulk-created in batches), seconds; raw SQL: one
  SELECT of the rule columns over all customers.

Prints one JSON line per benchmark and merges them into bench/results/latest.json (same names replaced)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

from bench.run import PASSWORD, VAR, configure
from bench.run import merge_results as merge

TARGETS = {"export_csv": 10.0, "export_xlsx": 10.0, "review_scan": 60.0}
DEPARTMENTS = 10
REPS = 5
UTC = dt.UTC
INDUSTRIES = ["石化", "化工", "塑料", "机械", "贸易", "物流", "电子", "医药"]
CITIES = ["杭州市", "宁波市", "上海市", "苏州市", "北京市", "天津市", "广州市", "深圳市", "成都市", "武汉市"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def db_path(n: int) -> Path:
    return VAR / f"exports-{n}.sqlite3"


def sqlite_ts(d: dt.datetime) -> str:
    return str(d.astimezone(UTC).replace(tzinfo=None))


def emit(results: list, name: str, n: int, **fig) -> None:
    key = name.rsplit("_", 1)[0]
    target = TARGETS[key]
    row = {"name": name, "scale": n, "db": "sqlite", **fig, "target": f"<= {target} s"}
    if row.get("seconds") and row.get("raw_sql_seconds"):
        row["ratio"] = round(row["seconds"] / row["raw_sql_seconds"], 2)
    row["met"] = bool(row.get("seconds") is not None and row["seconds"] <= target)
    results.append(row)
    print(json.dumps(row, ensure_ascii=False), flush=True)


def build(n: int, reuse: bool) -> None:
    path = db_path(n)
    os.environ["KEHU_DATABASE_URL"] = f"sqlite:///{path}"
    mp = VAR / f"exports-{n}.meta.json"
    import django

    if reuse and mp.exists() and path.exists():
        print(f"# reusing dataset ({path.name})", file=sys.stderr)
        django.setup()
        return
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    django.setup()
    from django.core.management import call_command
    from stdnum.cn import ric, uscc

    from kehu.access import protection
    from kehu.access.services import department_ensure_path, user_create
    from kehu.customers import search
    from kehu.customers.models import Customer

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    user_create(actor=None, username="ex_admin", password=PASSWORD, role="admin", department=hq)
    user_create(actor=None, username="ex_exec", password=PASSWORD, role="executive", department=hq)
    owners: list[tuple[int, int]] = []
    for d in range(DEPARTMENTS):
        dept = department_ensure_path(actor=None, path=f"总部/销售部/区域{d + 1:02d}")
        user_create(actor=None, username=f"ex_mgr{d}", password=PASSWORD, role="manager", department=dept)
        for r in range(REPS):
            u = user_create(actor=None, username=f"ex_rep{d}_{r}", password=PASSWORD, role="account_manager",
                            department=dept)
            owners.append((u.pk, dept.pk))
    print(f"# migrated + users in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)

    rng = random.Random(5)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    cols = [f.column for f in fields]
    defaults = {f.column: f.get_default() for f in fields}

    def rows():
        for i in range(n):
            uid, did = owners[rng.randrange(len(owners))]
            v = dict(defaults)
            person = rng.random() < 0.3
            city = CITIES[i % len(CITIES)]
            if person:
                name = f"{SURNAMES[i % len(SURNAMES)]}{'伟芳娜敏静丽强磊军洋'[i % 10]}{i}"
                mobile = f"13{rng.randrange(10**9):09d}"
                body = f"330106{1960 + i % 40}0{1 + i % 9}1{i % 10}{i % 1000:03d}"
                id_number = body + ric.calc_check_digit(body + "0")
                v.update(kind="person", mobile_enc=protection.encrypt(mobile), mobile_hash=protection.lookup_hash(mobile),
                         mobile_masked=protection.mask_mobile(mobile), id_number_enc=protection.encrypt(id_number),
                         id_number_hash=protection.lookup_hash(id_number),
                         id_number_masked=protection.mask_id_number(id_number), uscc="")
            else:
                name = f"{city[:2]}{'华星东方海天正泰燕山恒力万华'[i % 7 * 2:i % 7 * 2 + 2]}{INDUSTRIES[i % 8]}有限公司{i}"
                code = f"91330106{i:09d}"
                v.update(kind="organization", uscc=code + uscc.calc_check_digit(code),
                         address=f"{city}某某路{i % 500}号" if rng.random() < 0.9 else "")
            keys = search.name_keys(name)
            updated = now - dt.timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
            v.update(name=name, industry=INDUSTRIES[i % 8] if rng.random() < 0.95 else "", city=city,
                     province="浙江省", owner_id=uid, department_id=did, stage="customer", status="active",
                     source="展会", name_normalized=keys.normalized[:200], name_pinyin=keys.pinyin[:800],
                     name_initials=keys.initials[:200], created_at=sqlite_ts(updated), updated_at=sqlite_ts(updated),
                     custom="{}", deleted_at=None, erased_at=None, created_by_id=None)
            yield tuple(v[c] for c in cols)

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO customers_customer ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows())
    conn.execute("INSERT INTO customers_tagcategory (name) VALUES ('贡献度')")
    conn.execute("INSERT INTO customers_tag (category_id, name) VALUES (1, '高贡献'), (1, '中贡献')")
    conn.execute("INSERT INTO customers_customer_tags (customer_id, tag_id) SELECT id, 1 + id % 2 FROM "
                 "customers_customer WHERE id % 3 = 0")
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    mp.write_text(json.dumps({"customers": n}))
    print(f"# dataset of {n} customers in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)


def raw_fetch_csv(path: Path) -> float:
    """The physical limit: the same rows and tags through sqlite3, written with csv.writer."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size=-65536")
    t = time.perf_counter()
    out = io.StringIO()
    w = csv.writer(out)
    tags: dict[int, list[str]] = {}
    for cid, cat, name in conn.execute("SELECT ct.customer_id, c.name, t.name FROM customers_customer_tags ct "
                                       "JOIN customers_tag t ON t.id = ct.tag_id JOIN customers_tagcategory c "
                                       "ON c.id = t.category_id"):
        tags.setdefault(cid, []).append(f"{cat}:{name}")
    cur = conn.execute(
        "SELECT c.id, c.name, c.kind, c.uscc, c.industry, c.scale, c.province, c.city, c.district, c.address, "
        "c.source, c.stage, c.status, u.display_name, u.username, d.name, c.mobile_masked, c.id_number_masked, "
        "c.created_at, c.updated_at FROM customers_customer c JOIN access_user u ON u.id = c.owner_id "
        "LEFT JOIN access_department d ON d.id = c.department_id WHERE c.deleted_at IS NULL ORDER BY c.id")
    for row in cur:
        w.writerow((*row, "、".join(tags.get(row[0], ()))))
    seconds = time.perf_counter() - t
    conn.close()
    return seconds


def raw_rule_scan(path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    t = time.perf_counter()
    for _row in conn.execute("SELECT id, kind, owner_id, department_id, updated_at, uscc, industry, city, address, "
                             "mobile_enc FROM customers_customer WHERE deleted_at IS NULL ORDER BY id"):
        pass
    seconds = time.perf_counter() - t
    conn.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100000)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--skip-review", action="store_true")
    args = ap.parse_args()
    n = args.customers
    configure("sqlite", n)
    os.environ["KEHU_EXPORT_MAX_ROWS"] = str(max(n, 100000))
    build(n, args.reuse)
    from django.conf import settings

    from kehu.access.models import User
    from kehu.imports import exports

    settings.KEHU_EXPORT_MAX_ROWS = max(n, 100000)
    actor = User.objects.get(username="ex_exec")
    results: list = []
    suffix = f"{n // 1000}k"

    raw = raw_fetch_csv(db_path(n))
    t = time.perf_counter()
    spec = exports.export_prepare(actor=actor, filters={}, fmt="csv")
    size = sum(len(chunk.encode()) for chunk in exports.csv_stream(exports.export_rows(actor=actor, spec=spec)))
    emit(results, f"export_csv_{suffix}", n, rows=spec.rows, seconds=round(time.perf_counter() - t, 2),
         mb=round(size / 2**20, 1), raw_sql_seconds=round(raw, 2))

    t = time.perf_counter()
    spec = exports.export_prepare(actor=actor, filters={}, fmt="xlsx")
    f = exports.xlsx_file(exports.export_rows(actor=actor, spec=spec))
    size = f.seek(0, 2)
    f.close()
    emit(results, f"export_xlsx_{suffix}", n, rows=spec.rows, seconds=round(time.perf_counter() - t, 2),
         mb=round(size / 2**20, 1), raw_sql_seconds=round(raw, 2))

    if not args.skip_review:
        from kehu.customers.review import services
        from kehu.customers.review.models import ReviewItem, ReviewRun

        ReviewItem.objects.all().delete()
        ReviewRun.objects.all().delete()
        admin = User.objects.get(username="ex_admin")
        raw = raw_rule_scan(db_path(n))
        t = time.perf_counter()
        from unittest import mock

        with mock.patch("django.db.transaction.on_commit"):  # the worker's task: run in process here
            run = services.review_run_start(actor=admin)
        run = services.review_run_build(run_id=run.pk)
        emit(results, f"review_scan_{suffix}", n, items=run.items_count, seconds=round(time.perf_counter() - t, 2),
             raw_sql_seconds=round(raw, 2))
    merge(results)


if __name__ == "__main__":
    main()
