"""`python -m bench.surveys [--customers 100000] [--db sqlite|postgres]`: a satisfaction survey's target list
(满意度调查对象) drawn for 100,000 customers, beside the raw SQL of the same rows.

Dataset (/tmp/surveys_bench/surveys-<customers>.sqlite3, or the PostgreSQL database kehu_bench_surveys; never in
git; rebuilt on each run): migrated; an executive (whole-company scope) and 10 account managers; one template
customer, contact and consent through the ORM, cloned set-based in SQL (PostgreSQL ``generate_series``, SQLite a
recursive CTE) to <customers> customers, each with one contact; 90 % of the contacts consented to be contacted
(purpose "客户回访与满意度调查联系"), the other 10 % are on record by contract only — they are excluded.

Measures (one JSON line each, merged into bench/results/latest.json by name and db):

* survey_target_list: ``campaign_create`` then ``campaign_advance(to="targeting")`` — the service: scope, the
  segment, the consent rule (care's live consents), the consenting contact, one ``INSERT … SELECT`` of the
  invitations, the counts, the step record and the audit entry — target ≤ 10 s;
* raw: the same rows by a hand-written ``INSERT … SELECT`` (same EXISTS on consents, same contact subquery) in a
  rolled-back transaction. ``ratio`` = service seconds / raw seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.clone import clone, series
from bench.run import FIELD_KEY, SECRET
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
VAR = Path(os.environ.get("KEHU_BENCH_SURVEYS_DIR", "/tmp/surveys_bench"))
PG_NAME = os.environ.get("KEHU_BENCH_PG_NAME", "kehu_bench_surveys")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
TARGET_SECONDS = 10
PURPOSE = "客户回访与满意度调查联系"


def configure(url: str) -> None:
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    os.environ.update(KEHU_SECRET_KEY=SECRET, KEHU_FIELD_KEYS=FIELD_KEY, KEHU_DATABASE_URL=url,
                      DJANGO_SETTINGS_MODULE="kehu.settings", KEHU_VAR_DIR=str(VAR),
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


def build(db: str, customers: int) -> dict:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.access.models import User
    from kehu.access.services import department_ensure_path
    from kehu.customers.models import Consent, Contact, Customer

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    User.objects.create(username="bench_ceo", role="executive", department=hq, password="!")
    depts = [department_ensure_path(actor=None, path=f"总部/销售部/区域{d:02d}") for d in range(10)]
    User.objects.bulk_create([User(username=f"bench_rep{i:02d}", display_name=f"客户经理{i:02d}", role="account_manager",
                                   department=depts[i], password="!") for i in range(10)])
    rep_ids = list(User.objects.filter(role="account_manager").order_by("pk").values_list("pk", flat=True))
    template = Customer.objects.create(name="浙江华星石化有限公司", kind="organization", industry="石化",
                                       province="浙江省", city="杭州市", stage="customer", owner_id=rep_ids[0],
                                       department=depts[0])
    person = Contact.objects.create(customer=template, name="王强", email="wangqiang@example.cn")
    consent = Consent.objects.create(customer=template, contact=person, purpose=PURPOSE, channel="纸质同意书",
                                     granted_at=timezone.now())
    first = rep_ids[0]
    with transaction.atomic(), connection.cursor() as cur:
        clone(cur, Customer, series(db, customers - 1), template=template.pk, overrides={
            "name": "t.name || '·' || CAST(s.n AS TEXT)", "owner_id": f"{first} + (s.n % 10)",
            "department_id": f"(SELECT department_id FROM access_user u WHERE u.id = {first} + (s.n % 10))"})
        clone(cur, Contact, "customers_customer c", template=person.pk, overrides={"customer_id": "c.id"},
              where=f"c.id <> {template.pk}")
        # 90 % consented to be contacted; the rest are on record by contract only (excluded from surveys)
        clone(cur, Consent, "customers_contact c", template=consent.pk,
              overrides={"customer_id": "c.customer_id", "contact_id": "c.id"},
              where=f"c.id <> {person.pk} AND c.id % 10 <> 0")
        cur.execute("ANALYZE")
    return {"customers": Customer.objects.count(), "contacts": Contact.objects.count(),
            "consents": Consent.objects.count(), "build_seconds": round(time.perf_counter() - t0, 1)}


def measure_service() -> tuple[float, int]:
    from kehu.access.models import User
    from kehu.surveys import services

    ceo = User.objects.get(username="bench_ceo")
    c = services.campaign_create(actor=ceo, name="年度客户满意度调查（基准）", plan="全体客户")
    t = time.perf_counter()
    services.campaign_advance(actor=ceo, campaign_id=c.pk, to="targeting", segment={}, channel="link")
    seconds = time.perf_counter() - t
    return seconds, c.invitations.count()


class _Rollback(Exception):
    pass


def measure_raw() -> tuple[float, int]:
    """The same invitations by a hand-written INSERT … SELECT into a second survey (rolled back)."""
    from django.db import connection, transaction

    from kehu.access.models import User
    from kehu.surveys.models import Campaign

    rows, seconds = 0, 0.0
    live = "k.status = 'granted' AND k.basis = 'consent' AND k.purpose LIKE '%%联系%%'"
    try:
        with transaction.atomic(), connection.cursor() as cur:
            other = Campaign.objects.create(name="raw", owner=User.objects.get(username="bench_ceo"))
            if connection.vendor == "postgresql":
                # the service's transaction commits, so its deferred foreign-key checks are paid; the raw
                # statement is rolled back: check them at once, as part of the statement, to compare like for like
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            t = time.perf_counter()
            cur.execute(
                "INSERT INTO surveys_invitation (campaign_id, customer_id, contact_id, channel, assigned_to_id, reminders) "
                "SELECT %s, c.id, (SELECT k.contact_id FROM customers_consent k WHERE k.customer_id = c.id "
                f"AND k.contact_id IS NOT NULL AND {live} ORDER BY k.contact_id LIMIT 1), 'link', NULL, 0 "
                "FROM customers_customer c WHERE c.deleted_at IS NULL AND c.status <> 'disqualified' AND EXISTS "
                f"(SELECT 1 FROM customers_consent k WHERE k.customer_id = c.id AND {live})", [other.pk])
            rows = cur.rowcount
            seconds = time.perf_counter() - t
            raise _Rollback
    except _Rollback:
        pass
    return seconds, rows



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--reuse", action="store_true", help="keep the dataset of an earlier run (its surveys dropped)")
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'surveys-{args.customers}.sqlite3'}" if args.db == "sqlite" else PG_URL
    if not args.reuse:
        wipe(args.db, url)
    configure(url)
    import django

    django.setup()
    if args.reuse:
        from kehu.customers.models import Customer
        from kehu.surveys.models import Campaign

        Campaign.objects.all().delete()
        meta = {"customers": Customer.objects.count(), "reused": True}
    else:
        meta = build(args.db, args.customers)
    print(json.dumps({"dataset": meta}, ensure_ascii=False), flush=True)
    seconds, rows = measure_service()
    raw_seconds, raw_rows = measure_raw()
    row = {"name": "survey_target_list", "db": args.db, "customers": meta["customers"], "invitations": rows,
           "excluded_no_consent": meta["customers"] - rows, "seconds": round(seconds, 2),
           "rows_per_s": round(rows / seconds) if seconds else None, "raw_sql_seconds": round(raw_seconds, 2),
           "raw_sql_rows": raw_rows, "ratio": round(seconds / raw_seconds, 1) if raw_seconds else None,
           "target": f"<= {TARGET_SECONDS} s", "met": seconds <= TARGET_SECONDS, "load": list(os.getloadavg())}
    print(json.dumps(row, ensure_ascii=False), flush=True)
    merge([row])
    return 0


if __name__ == "__main__":
    sys.exit(main())
