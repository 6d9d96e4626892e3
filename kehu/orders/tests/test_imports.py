"""Order and payment import: dry run with an error report, batched commit, resumable by external id."""

import datetime as dt

import pytest
from django.db import connection

from kehu.audit.models import AuditEntry
from kehu.errors import Forbidden, Invalid
from kehu.orders.imports import order_import
from kehu.orders.models import Order, Payment

pytestmark = pytest.mark.django_db


def _csv(tmp_path, text, encoding="utf-8"):
    p = tmp_path / "orders.csv"
    p.write_bytes(text.encode(encoding))
    return p


def _orders_csv(tmp_path, customer, north):
    return _csv(tmp_path, "订单号,客户名称,订单日期,产品线,数量,单位,金额,渠道\n"
                f"SO-1,{customer.name},2026/3/1,聚乙烯 PE,1200,吨,8400000,直销\n"
                f"SO-2,{customer.name},2026年3月2日,聚丙烯 PP,500000,千克,3600000,经销商\n"
                f"SO-3,{customer.name},2026-03-03,聚乙烯 PE,0,t,1,direct\n"
                f"SO-4,{north.name},2026-03-04,聚乙烯 PE,1,t,1,direct\n"
                f"SO-5,{customer.name},2026-03-05,聚乙烯 PE,3,t,30000,\n", "gb18030")


def test_order_import_dry_run_reports_errors_and_writes_nothing(org, tmp_path, east_customer, north_customer):
    report = order_import(actor=org.rep, path=_orders_csv(tmp_path, east_customer, north_customer),
                          file_name="orders.csv")
    assert (report.rows, report.valid, report.written, report.error_count) == (5, 3, 0, 2)
    assert [e["row"] for e in report.errors] == [4, 5]
    assert not Order.objects.exists()


def test_order_import_commits_in_batches_audited_and_resumes_without_duplicates(
        org, tmp_path, east_customer, north_customer):
    path = _orders_csv(tmp_path, east_customer, north_customer)
    report = order_import(actor=org.rep, path=path, file_name="orders.csv", dry_run=False, batch_size=2)
    assert (report.written, report.batches) == (3, 2)
    assert Order.objects.get(external_id="SO-2").quantity_t == 500
    assert Order.objects.get(external_id="SO-2").channel == "dealer"
    assert Order.objects.get(external_id="SO-1").order_date == dt.date(2026, 3, 1)
    assert AuditEntry.objects.filter(action="order.import").count() == 2
    again = order_import(actor=org.rep, path=path, file_name="orders.csv", dry_run=False)
    assert (again.written, again.skipped_existing) == (0, 3)
    assert Order.objects.count() == 3


def test_order_import_refused_without_order_write(org, tmp_path, east_customer, north_customer):
    with pytest.raises(Forbidden):
        order_import(actor=org.finance, path=_orders_csv(tmp_path, east_customer, north_customer),
                     file_name="orders.csv")


def test_order_import_without_required_columns_is_invalid(org, tmp_path):
    with pytest.raises(Invalid) as exc:
        order_import(actor=org.rep, path=_csv(tmp_path, "客户名称,金额\nx,1\n"), file_name="o.csv")
    assert exc.value.code == "bad_columns"


def test_payment_import_links_orders_by_external_id(org, tmp_path, east_customer, north_customer):
    order_import(actor=org.admin, path=_orders_csv(tmp_path, east_customer, north_customer), file_name="o.csv",
                 dry_run=False)
    p = tmp_path / "pay.csv"
    p.write_text("回款单号,客户编号,订单号,应收日期,回款日期,金额\n"
                 f"AR-1,{east_customer.pk},SO-1,2026-04-01,2026-04-03,8400000\n"
                 f"AR-2,{east_customer.pk},,2026-04-01,,100\n"
                 f"AR-3,{east_customer.pk},,not a date,,100\n", encoding="utf-8")
    report = order_import(actor=org.finance, path=p, file_name="pay.csv", kind="payments", dry_run=False)
    assert (report.written, report.error_count) == (2, 1)
    assert Payment.objects.get(external_id="AR-1").order.external_id == "SO-1"
    assert Payment.objects.get(external_id="AR-2").paid_date is None


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's foreign-key triggers")
def test_order_import_with_foreign_keys_checked_per_batch_writes_the_same_rows(
        org, tmp_path, east_customer, north_customer, monkeypatch):
    """kehu.bulk_fk: a batch staged and its foreign keys checked once writes exactly what the row-by-row
    checked COPY writes, and a payment's order link is kept; the session's trigger setting is restored."""
    from kehu import bulk_fk
    from kehu.orders import imports

    path = _orders_csv(tmp_path, east_customer, north_customer)
    order_import(actor=org.rep, path=path, file_name="orders.csv", dry_run=False)
    fields = ("external_id", "customer_id", "order_date", "product_line", "quantity", "unit", "quantity_t", "amount",
              "channel", "created_by_id", "sales_rep_id", "source")
    expected = sorted(Order.objects.values_list(*fields))
    Order.objects.all().delete()
    monkeypatch.setattr(imports, "BULK_FK_CHECK_AFTER", 1)
    used = []
    real = bulk_fk._may_set_replication_role
    monkeypatch.setattr(bulk_fk, "_may_set_replication_role", lambda cur: used.append(1) or real(cur))
    report = order_import(actor=org.rep, path=path, file_name="orders.csv", dry_run=False)
    assert used and report.written == 3
    assert sorted(Order.objects.values_list(*fields)) == expected
    payments = tmp_path / "pay.csv"
    payments.write_text("回款单号,客户编号,订单号,应收日期,回款日期,金额\n"
                        f"AR-1,{east_customer.pk},SO-1,2026-04-01,2026-04-03,100\n", encoding="utf-8")
    assert order_import(actor=org.finance, path=payments, file_name="pay.csv", kind="payments",
                        dry_run=False).written == 1
    assert Payment.objects.get().order == Order.objects.get(external_id="SO-1")
    with connection.cursor() as cur:
        cur.execute("SHOW session_replication_role")
        assert cur.fetchone()[0] == "origin"
