"""`python -m bench.dedupe [--customers 100000] [--reuse] [--no-write]`: the duplicate scan at scale.

Builds var/bench/dedupe-<n>.sqlite3 (migrated through Django with bench.run's environment), one owner,
then <n> customers inserted with one plain executemany of prepared rows: company names from
kehu.demo.generators (region prefix + core words + industry + legal form), about 2 % of them registered
a second time with another legal form / a bracketed region, 8 % person customers with a mobile (1 % of
them sharing one), and a contact with a mobile for every third company (some equal to a person's).
Measures

* dedupe_scan: kehu.customers.merge.duplicate_scan() — load, exact rules (USCC, ID number, mobile of
  customers and contacts), name cores + blocked rapidfuzz comparison, candidate write — seconds;
  raw SQL: the exact rules as GROUP BY queries through sqlite3 plus the exact-name grouping
  (GROUP BY name_normalized): the same grouping without normalisation or fuzzy matching;
* dedupe_rescan: the same scan again (nothing new: refresh only).

Target: ≤ 60 s at 1,000,000 customers (issue 3). Prints one JSON line per benchmark and merges them into
bench/results/latest.json (same names replaced)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

from bench.run import PASSWORD, RESULTS, VAR, configure
from bench.run import merge_results as merge

TARGET_S_AT_1M = 60.0
TRADE_CHARS = sorted(set(
    "华星恒瑞天诚金鼎新元东方宏达永盛鑫源博远中联瑞丰海联创泰嘉禾航兴隆盛昌富康明德信益通安宁和丰润利万祥"
    "福佳美晨光辉腾飞远景峰岳山川江河湖海洋森林松柏竹梅兰菊春夏秋冬阳月日云雷电风雨雪霜晶钻银铜铁锦绣"
    "龙凤麒麟虎豹鹏鹰雁燕鸿鹤凯旋胜威武雄豪杰俊英贤智慧聪颖灵秀雅韵诗书画琴棋乐"
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚"))
UTC = dt.UTC


def db_path(n: int) -> Path:
    return VAR / f"dedupe-{n}.sqlite3"


def sqlite_ts(d: dt.datetime) -> str:
    return str(d.astimezone(UTC).replace(tzinfo=None))


def build(n: int, reuse: bool) -> dict:
    path = db_path(n)
    mp = VAR / f"dedupe-{n}.meta.json"
    import django

    if reuse and mp.exists() and path.exists():
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        return json.loads(mp.read_text())
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    django.setup()
    from django.core.management import call_command

    from kehu.access import protection
    from kehu.access.services import department_ensure_path, user_create
    from kehu.customers import search
    from kehu.customers.models import Contact, Customer
    from kehu.demo import generators as g

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    dept = department_ensure_path(actor=None, path="总部/销售部")
    owner = user_create(actor=None, username="dd_admin", password=PASSWORD, role="admin", department=dept)
    rng = random.Random(7)
    now = sqlite_ts(dt.datetime.now(UTC))
    cfields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    ccols = ["id"] + [f.column for f in cfields]
    cdefaults = {f.column: f.get_default() if f.has_default() else None for f in cfields}
    kfields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    kcols = ["id"] + [f.column for f in kfields]
    kdefaults = {f.column: f.get_default() if f.has_default() else None for f in kfields}
    for d in (cdefaults, kdefaults):
        for k, v in d.items():
            if isinstance(v, dict):
                d[k] = "{}"
    industries = list(g.INDUSTRIES)
    names: list[str] = []
    mobiles: list[str] = []
    customers, contacts = [], []
    twins = n_contacts = 0
    insert_s = 0.0
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-262144", "foreign_keys=OFF"):
        conn.execute(f"PRAGMA {pragma}")
    csql = f"INSERT INTO {Customer._meta.db_table} ({','.join(ccols)}) VALUES ({','.join('?' * len(ccols))})"
    ksql = f"INSERT INTO {Contact._meta.db_table} ({','.join(kcols)}) VALUES ({','.join('?' * len(kcols))})"

    def flush() -> float:
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(csql, customers)
        conn.executemany(ksql, contacts)
        conn.execute("COMMIT")
        customers.clear()
        contacts.clear()
        return time.perf_counter() - t
    for i in range(1, n + 1):
        v = dict(cdefaults)
        province, city, _districts, division = rng.choice(g.PLACES)
        if rng.random() < 0.08:
            if mobiles and rng.random() < 0.01:
                m = rng.choice(mobiles)
            else:
                m = g.mobile(rng, unique=i * 7 + 3)
                mobiles.append(m)
            v.update(kind="person", name=g.person_name(rng), mobile_hash=protection.lookup_hash(m),
                     mobile_masked=protection.mask_mobile(m), uscc="")
        else:
            if names and rng.random() < 0.02:  # the same company registered again, written differently
                base = rng.choice(names)
                core = base
                for form in g.LEGAL_FORMS:
                    core = core.removesuffix(form)
                short = g.PROVINCE_SHORT.get(province, province.rstrip("省市"))
                name = (f"{core.removeprefix(short)}({short}){rng.choice(g.LEGAL_FORMS)}"
                        if rng.random() < 0.5 else f"{core}{rng.choice(g.LEGAL_FORMS)}")
                twins += 1
            else:
                # A trade name (字号) of 2–3 characters from a few hundred: real archives at 1M are this
                # varied; the demo generator's small vocabulary would make most names share a core.
                short = g.PROVINCE_SHORT.get(province, province.rstrip("省市"))
                trade = "".join(rng.choice(TRADE_CHARS) for _ in range(rng.choice((2, 2, 3))))
                name = f"{short}{trade}{rng.choice(g.INDUSTRIES[rng.choice(industries)])}{rng.choice(g.LEGAL_FORMS)}"
                names.append(name)
            v.update(kind="organization", name=name, uscc=g.uscc(rng, division, i))
            if i % 3 == 0:
                m = rng.choice(mobiles) if mobiles and rng.random() < 0.005 else g.mobile(rng, unique=i * 11 + 5)
                kv = dict(kdefaults)
                kv.update(customer_id=i, name=g.person_name(rng), mobile_hash=protection.lookup_hash(m),
                          mobile_masked=protection.mask_mobile(m), created_at=now, updated_at=now)
                n_contacts += 1
                contacts.append((n_contacts, *[kv[c] for c in kcols[1:]]))
        keys = search.name_keys(v["name"])
        v.update(owner_id=owner.pk, department_id=dept.pk, province=province, city=city, created_at=now,
                 updated_at=now, name_normalized=keys.normalized[:200], name_pinyin=keys.pinyin[:800],
                 name_initials=keys.initials[:200], custom="{}")
        customers.append((i, *[v[c] for c in ccols[1:]]))
        if len(customers) >= 50_000:
            insert_s += flush()
    insert_s += flush()
    gen_s = time.perf_counter() - t0 - insert_s
    t = time.perf_counter()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    meta = {"customers": n, "contacts": n_contacts, "twins": twins, "generate_seconds": round(gen_s, 1),
            "insert_seconds": round(insert_s, 1), "analyze_seconds": round(time.perf_counter() - t, 1)}
    print(f"# built {n} customers ({twins} re-registered), {n_contacts} contacts: {meta}", file=sys.stderr,
          flush=True)
    mp.write_text(json.dumps(meta))
    return meta


RAW_QUERIES = [
    "SELECT uscc, count(*) FROM customers_customer WHERE deleted_at IS NULL AND uscc <> '' "
    "GROUP BY uscc HAVING count(*) > 1",
    "SELECT id_number_hash, count(*) FROM customers_customer WHERE deleted_at IS NULL AND id_number_hash <> '' "
    "GROUP BY id_number_hash HAVING count(*) > 1",
    "SELECT h, count(DISTINCT cid) FROM (SELECT mobile_hash h, id cid FROM customers_customer "
    "WHERE deleted_at IS NULL AND mobile_hash <> '' UNION ALL SELECT k.mobile_hash, k.customer_id "
    "FROM customers_contact k JOIN customers_customer c ON c.id = k.customer_id "
    "WHERE c.deleted_at IS NULL AND k.mobile_hash <> '') GROUP BY h HAVING count(DISTINCT cid) > 1",
    "SELECT name_normalized, count(*) FROM customers_customer WHERE deleted_at IS NULL AND kind = 'organization' "
    "GROUP BY name_normalized HAVING count(*) > 1",
]


def measure(n: int, meta: dict) -> list:
    from kehu.customers import dedupe
    from kehu.customers.merge import _affixes, _threshold, duplicate_scan
    from kehu.customers.models import Customer, DuplicateCandidate

    results = []
    DuplicateCandidate.objects.all().delete()
    t = time.perf_counter()
    counts = duplicate_scan(actor=None)
    scan_s = time.perf_counter() - t
    t = time.perf_counter()
    again = duplicate_scan(actor=None)
    rescan_s = time.perf_counter() - t
    # Phases, measured apart: the name rule alone (cores + blocked fuzzy comparison).
    rows = list(Customer.objects.filter(deleted_at__isnull=True, kind="organization").values_list("id", "name"))
    t = time.perf_counter()
    aff = _affixes()
    cores = [(pk, dedupe.name_core(name, aff)) for pk, name in rows]
    core_s = time.perf_counter() - t
    t = time.perf_counter()
    name_pairs = dedupe.name_pairs(cores, _threshold())
    fuzzy_s = time.perf_counter() - t
    conn = sqlite3.connect(db_path(n))
    raw = []
    for sql in RAW_QUERIES:
        t = time.perf_counter()
        conn.execute(sql).fetchall()
        raw.append(time.perf_counter() - t)
    conn.close()
    raw_s = sum(raw)
    target = TARGET_S_AT_1M * n / 1_000_000  # linear share of the 1M budget
    for name, seconds, extra in (("dedupe_scan", scan_s, {"counts": counts, "name_cores_s": round(core_s, 2),
                                                          "name_fuzzy_s": round(fuzzy_s, 2),
                                                          "name_pairs": len(name_pairs)}),
                                 ("dedupe_rescan", rescan_s, {"counts": again})):
        row = {"name": name, "scale": n, "db": "sqlite", "seconds": round(seconds, 2),
               "raw_sql_seconds": round(raw_s, 2), "ratio": round(seconds / raw_s, 2) if raw_s else None,
               "target": f"<= {TARGET_S_AT_1M:.0f} s at 1,000,000 (pro rata {target:.1f} s)",
               "met": seconds <= target, "twins_planted": meta.get("twins"), **extra}
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return results


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000, help="dataset size (1000000 for the target)")
    parser.add_argument("--reuse", action="store_true", help="measure an existing dataset again")
    parser.add_argument("--no-write", action="store_true", help="print only, leave latest.json alone")
    args = parser.parse_args(argv)
    configure("sqlite", args.customers)
    os.environ["KEHU_DATABASE_URL"] = f"sqlite:///{db_path(args.customers)}"
    meta = build(args.customers, args.reuse)
    results = measure(args.customers, meta)
    if not args.no_write:
        merge(results, RESULTS / "latest.json")
    return results


if __name__ == "__main__":
    main()
