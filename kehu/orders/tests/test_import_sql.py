"""The order import's validation on both databases (on PostgreSQL in SQL, kehu.orders.imports._PgOrders; on
SQLite in Python): the edge cases give the same row errors, the dry run shows the errors the commit reports,
and on PostgreSQL the SQL path writes and reports exactly what the Python path does on random rows."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.utils import translation

from kehu.orders import imports
from kehu.orders.imports import order_import
from kehu.orders.models import Order

pytestmark = pytest.mark.django_db

HEADERS = "订单号,客户编号,客户名称,订单日期,发货日期,产品线,数量,单位,金额,毛利,渠道"
NOT_FOUND = "Customer not found in your scope (or the name is ambiguous)."


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _write(tmp_path, lines, name="orders.csv"):
    p = tmp_path / name
    p.write_text("\n".join([HEADERS, *lines]) + "\n", encoding="utf-8")
    return p


def _errors(report):
    return {e["row"]: e["messages"] for e in report.errors}


def test_edge_cases_are_row_errors_and_the_dry_run_shows_the_commits_errors(org, tmp_path, east_customer,
                                                                         north_customer):
    c = east_customer.pk
    path = _write(tmp_path, [
        f"E-1,{c},,2026-03-01,,聚乙烯,10,t,100,,直销",          # 2 good
        f"E-2,{c},,2026-02-30,,聚乙烯,10,t,100,,直销",          # 3 bad date
        f"E-3,{c},,2026-03-01,,聚乙烯,-3,t,100,,直销",          # 4 negative quantity
        f"E-4,{north_customer.pk},,2026-03-01,,聚乙烯,1,t,1,,",  # 5 a customer outside the rep's scope
        "E-5,,没有这家公司,2026-03-01,,聚乙烯,1,t,1,,",          # 6 unknown name
        f"E-1,{c},,2026-03-02,,聚乙烯,1,t,1,,",                  # 7 external id twice in the file
        f"E-6,{c},,2026-03-01,,聚\x00乙烯,1,t,1,,",              # 8 NUL
        f"E-7,{c},,2026/3/1,2026-03-05,聚乙烯,\"1,200.5\",千克,8,,经销商",  # 9 good by the general path
        f"E-8,{c},,2026-03-05,2026-03-04,聚乙烯,1,t,1,,",        # 10 delivered before ordered
        "E-9,99999999999999999999,,2026-03-01,,聚乙烯,1,t,1,,",  # 11 an id beyond bigint
        f"E-10,{c},,2026-03-01,,聚乙烯,0.0005,kg,1,,",          # 12 four places
        f"E-11,{c},,2026-03-01,,聚乙烯,1,lb,1,-0.5,批发",       # 13 unit and channel
    ])
    dry = order_import(actor=org.rep, path=path, file_name="orders.csv")
    errors = _errors(dry)
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 10, 11, 12, 13]
    assert errors[3] == ["order_date: Enter a date as YYYY-MM-DD."]
    assert errors[4] == ["quantity: Must be more than 0."]
    assert errors[5] == errors[6] == errors[11] == [NOT_FOUND]
    assert errors[7] == ["The external id “E-1” appears twice in the file."]
    assert errors[8] == ["product_line contains a control character (such as NUL) that cannot be stored."]
    assert errors[10] == ["delivered_on: Delivery cannot be before the order date."]
    assert errors[12] == ["quantity: At most 3 decimal places."]
    assert errors[13] == ["unit: Choose t, kg or piece.", "channel: Unknown channel."]
    assert (dry.rows, dry.valid, dry.error_count, dry.written) == (12, 2, 10, 0)
    assert not Order.objects.exists()
    commit = order_import(actor=org.rep, path=path, file_name="orders.csv", dry_run=False)
    assert commit.errors == dry.errors
    assert (commit.valid, commit.written) == (2, 2)
    e7 = Order.objects.get(external_id="E-7")
    assert (str(e7.quantity), e7.unit, str(e7.quantity_t), e7.channel, str(e7.delivered_on)) == (
        "1200.500", "kg", "1.200", "dealer", "2026-03-05")


def test_external_ids_already_imported_are_skipped_in_the_dry_run_and_the_commit(org, tmp_path, east_customer):
    c = east_customer.pk
    first = _write(tmp_path, [f"D-1,{c},,2026-03-01,,聚乙烯,1,t,1,,", f"D-2,{c},,2026-03-01,,聚乙烯,2,t,1,,"])
    assert order_import(actor=org.rep, path=first, file_name="a.csv", dry_run=False).written == 2
    second = _write(tmp_path, [f"D-2,{c},,2026-03-09,,聚乙烯,9,t,9,,", f"D-3,{c},,2026-03-01,,聚乙烯,3,t,1,,",
                               f"D-3,{c},,2026-03-01,,聚乙烯,3,t,1,,"], name="b.csv")
    dry = order_import(actor=org.rep, path=second, file_name="b.csv")
    commit = order_import(actor=org.rep, path=second, file_name="b.csv", dry_run=False)
    for report in (dry, commit):
        assert (report.valid, report.skipped_existing, report.error_count) == (2, 1, 1)
        assert _errors(report) == {4: ["The external id “D-3” appears twice in the file."]}
    assert commit.written == 1
    assert Order.objects.get(external_id="D-2").quantity == 2  # the first import's row stays


def test_kilograms_round_to_tonnes_half_to_even(org, tmp_path, east_customer):
    c = east_customer.pk
    path = _write(tmp_path, [f"K-{q},{c},,2026-03-01,,聚乙烯,{q},kg,1,," for q in
                             ("0.5", "1.5", "2.5", "1500.5", "0.499", "7")])
    assert order_import(actor=org.rep, path=path, file_name="k.csv", dry_run=False).written == 6
    got = {o.external_id: str(o.quantity_t) for o in Order.objects.all()}
    assert got == {"K-0.5": "0.000", "K-1.5": "0.002", "K-2.5": "0.002", "K-1500.5": "1.500", "K-0.499": "0.000",
                   "K-7": "0.007"}


DATES = ["2026-03-01", "2026-02-29", "2024-02-29", "2026-04-31", "2026-3-1", "2026/03/01", "20260301",
         " 2026-12-31 ", "", "2026年3月1日", "x", "0000-01-01", "2026-13-01", "２０２６-03-01"]
NUMBERS = ["1", "0", "0.000", "12.5", "12.345", "12.3456", "1,200.5", "-3", "-0.00", " 7 ", "", "abc", "1e3",
           "9999999999999.999", "99999999999999.99", "123456789012345", "0001.10", "NaN", "5.", ".5", "１２",
           "0.5", "2.5"]
UNITS = ["", "t", "kg", "piece", "吨", "千克", "公斤", "件", "lb", " t "]
CHANNELS = ["", "直销", "经销商", "代理", "direct", "dealer", "网拍", "其他", "批发", " 直销 ", "online"]
LINES = ["聚乙烯 PE", "", "  ", "聚丙烯" * 40, " PP ", "x" * 100, "a\tb", '引号"PE"', "逗号,PE"]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the SQL validation is PostgreSQL's")
def test_sql_validation_writes_and_reports_what_the_python_path_does(org, tmp_path, east_customer, north_customer,
                                                                     monkeypatch):
    rng = random.Random(11)
    ids = [str(east_customer.pk), str(north_customer.pk), "", "0", "abc", f" {east_customer.pk} ",
           "".join(chr(ord("０") + int(d)) for d in str(east_customer.pk))]
    names = ["", east_customer.name, north_customer.name, "nobody"]
    lines = []
    for _i in range(1500):
        row = [f"R{rng.randrange(1400)}", rng.choice(ids), rng.choice(names), rng.choice(DATES),
               rng.choice(DATES + [""] * 8), rng.choice(LINES), rng.choice(NUMBERS), rng.choice(UNITS),
               rng.choice(NUMBERS), rng.choice(NUMBERS + [""] * 6), rng.choice(CHANNELS)]
        if rng.random() < 0.5:
            row[1], row[3], row[5], row[6], row[8] = str(east_customer.pk), "2026-03-01", "聚乙烯", \
                rng.choice(NUMBERS[:5] + ["0.5", "2.5"]), rng.choice(NUMBERS[:5])
        lines.append(",".join('"' + c.replace('"', '""') + '"' for c in row))
    path = _write(tmp_path, lines)
    fields = ("external_id", "customer_id", "order_date", "delivered_on", "product_line", "quantity", "unit",
              "quantity_t", "amount", "gross_margin", "channel", "currency", "source", "created_by_id")
    reports = {}
    rows = {}
    monkeypatch.setattr(imports, "BULK_FK_CHECK_AFTER", 1)  # the foreign keys checked per batch (kehu.bulk_fk)
    monkeypatch.setattr(imports, "PG_LOCK_CUSTOMERS_AFTER", 1)  # with the customers table locked, not each row
    for sql in (False, True):
        monkeypatch.setattr(imports, "SQL_VALIDATION", sql)
        dry = order_import(actor=org.rep, path=path, file_name="r.csv", batch_size=200)
        commit = order_import(actor=org.rep, path=path, file_name="r.csv", dry_run=False, batch_size=200)
        again = order_import(actor=org.rep, path=path, file_name="r.csv", dry_run=False, batch_size=200)
        reports[sql] = [{k: v for k, v in r.as_dict().items() if k != "batches"} for r in (dry, commit, again)]
        rows[sql] = sorted(Order.objects.values_list(*fields))
        Order.objects.all().delete()
    assert reports[True] == reports[False]
    assert rows[True] == rows[False]
    assert 50 < len(rows[True]) < 1400
    assert reports[True][2]["written"] == 0 and reports[True][2]["skipped_existing"] == len(rows[True])
    with connection.cursor() as cur:
        cur.execute("SHOW session_replication_role")
        assert cur.fetchone()[0] == "origin"
