"""The order / payment import page: upload a real XLSX (openpyxl), the dry run's error report, the import in
the worker with its progress, resumable; ORDER_WRITE / PAYMENT_WRITE only, each job its uploader's."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from kehu.audit.models import AuditEntry
from kehu.orders import import_jobs
from kehu.orders.models import ImportJobState, Order, OrderImportJob, Payment

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def orders_sheet(customer, north):
    return xlsx([
        ["订单号", "客户名称", "订单日期", "产品线", "数量", "单位", "金额", "渠道"],
        ["SO-1", customer.name, "2026-03-01", "聚乙烯 PE", 1200, "t", 8400000, "直销"],
        ["SO-2", customer.name, "2026/3/2", "聚丙烯 PP", 500000, "kg", 3600000, "经销商"],
        ["SO-3", customer.name, "2026-03-03", "聚乙烯 PE", 0, "t", 1, "direct"],  # quantity 0
        ["SO-4", north.name, "2026-03-04", "聚乙烯 PE", 1, "t", 1, "direct"],  # outside the scope
    ])


def upload(client, kind, content, name="orders.xlsx"):
    return client.post(reverse("orders:import"), {"kind": kind, "file": SimpleUploadedFile(name, content, XLSX)})


def test_upload_dry_run_report_then_import_with_progress(client, org, east_customer, north_customer,
                                                         django_capture_on_commit_callbacks):
    client.force_login(org.rep)
    page = client.get(reverse("orders:import"))
    assert page.status_code == 200 and 'data-testid="order-import-form"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, "orders", orders_sheet(east_customer, north_customer))
    job = OrderImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders:import_detail", args=[job.pk])
    assert (job.state, job.rows, job.valid_rows, job.error_rows) == (ImportJobState.CHECKED, 4, 2, 2)
    assert [e["row"] for e in job.errors] == [4, 5] and not Order.objects.exists()
    detail = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-errors"' in detail and 'data-testid="order-import-commit"' in detail
    report = client.get(reverse("orders:import_errors", args=[job.pk]))
    assert report.status_code == 200 and "4" in report.content.decode("utf-8-sig")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orders:import_commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.written_rows) == (ImportJobState.DONE, 2)
    assert set(Order.objects.values_list("external_id", flat=True)) == {"SO-1", "SO-2"}
    assert import_jobs.job_progress(job) == {"done": 2, "total": 2, "percent": 100}
    assert AuditEntry.objects.filter(action="order.import").count() == 1
    assert AuditEntry.objects.filter(action__startswith="order_import.").count() == 2
    assert 'data-testid="import-done"' in client.get(reverse("orders:import_detail", args=[job.pk])).content.decode()
    # htmx polling: a finished job asks the page to reload
    poll = client.get(reverse("orders:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert poll.status_code == 204 and poll["HX-Refresh"] == "true"
    # importing the same file again writes nothing new
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "orders", orders_sheet(east_customer, north_customer))
    again = OrderImportJob.objects.order_by("-id").first()
    assert again.existing_rows == 2
    assert 'data-testid="order-import-commit"' not in client.get(
        reverse("orders:import_detail", args=[again.pk])).content.decode()


def test_progress_counts_the_batches_committed_while_importing(org, east_customer, north_customer, tmp_path):
    job = OrderImportJob.objects.create(created_by=org.rep, kind="orders", file_name="o.xlsx", file_path="x.xlsx",
                                        file_size=1, state=ImportJobState.CHECKED, rows=4, valid_rows=4)
    from django.utils import timezone

    OrderImportJob.objects.filter(pk=job.pk).update(state=ImportJobState.IMPORTING, started_at=timezone.now())
    job.refresh_from_db()
    Order.objects.create(customer=east_customer, order_date="2026-03-01", product_line="PE", quantity=1,
                         amount=1, source="import", external_id="A", created_by=org.rep)
    assert import_jobs.job_progress(job) == {"done": 1, "total": 4, "percent": 25}


def test_payments_import_needs_payment_write(client, org, east_customer, north_customer,
                                             django_capture_on_commit_callbacks):
    sheet = xlsx([["回款单号", "客户名称", "应收日期", "回款日期", "金额"],
                  ["RC-1", east_customer.name, "2026-04-01", "2026-03-30", 5000]])
    client.force_login(org.rep)  # account manager: orders yes, payments no
    assert upload(client, "payments", sheet).status_code == 403
    client.force_login(org.finance)  # finance: payments only
    assert 'value="orders"' not in client.get(reverse("orders:import")).content.decode()
    assert upload(client, "orders", orders_sheet(east_customer, north_customer)).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, "payments", sheet, name="payments.xlsx")
    job = OrderImportJob.objects.get()
    assert response.status_code == 302 and (job.kind, job.valid_rows) == ("payments", 1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("orders:import_commit", args=[job.pk]))
    assert Payment.objects.get().external_id == "RC-1"


@pytest.mark.parametrize("role", ["agent", "analyst", "auditor"])
def test_import_page_is_refused_without_order_or_payment_write(client, org, role):
    client.force_login(getattr(org, role))
    assert client.get(reverse("orders:import")).status_code == 403
    assert client.get(reverse("orders:import_template", args=["orders", "xlsx"])).status_code == 403


def test_a_job_is_its_uploaders_only(client, org, east_customer, north_customer, django_capture_on_commit_callbacks):
    client.force_login(org.rep)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "orders", orders_sheet(east_customer, north_customer))
    job = OrderImportJob.objects.get()
    for user in (org.rep2, org.manager, org.admin):
        client.force_login(user)
        for name in ("orders:import_detail", "orders:import_progress", "orders:import_errors"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404
        assert client.post(reverse("orders:import_commit", args=[job.pk])).status_code == 404
    assert not Order.objects.exists()


def test_bad_files_are_reported(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.rep)
    response = client.post(reverse("orders:import"), {"kind": "orders"})
    assert response.status_code == 422 and not OrderImportJob.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "orders", xlsx([["名称", "备注"], ["x", "y"]]))
    job = OrderImportJob.objects.get()
    assert job.state == ImportJobState.FAILED and "product_line" in job.message
    assert 'data-testid="order-import-commit"' not in client.get(
        reverse("orders:import_detail", args=[job.pk])).content.decode()
    response = upload(client, "orders", b"not a spreadsheet at all", name="x.xlsx")
    assert response.status_code in (400, 422)


def test_templates_have_chinese_and_english_headers_the_importer_recognises(client, org, east_customer, tmp_path):
    client.force_login(org.rep)
    response = client.get(reverse("orders:import_template", args=["orders", "xlsx"]))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    wb = load_workbook(io.BytesIO(response.content))
    headers = [c.value for c in wb.worksheets[0][1]]
    assert headers[:2] == ["客户名称", "客户编号"] and "订单日期" in headers
    guide = [[c.value for c in row] for row in wb.worksheets[1].iter_rows(max_row=14)]
    assert ["订单日期", "order_date"] == guide[5][:2]
    english = load_workbook(io.BytesIO(client.get(
        reverse("orders:import_template", args=["orders", "xlsx"]) + "?lang=en").content)).worksheets[0]
    assert [c.value for c in english[1]][:2] == ["customer", "customer_id"]
    csv_text = client.get(reverse("orders:import_template", args=["orders", "csv"])).content.decode("utf-8-sig")
    assert csv_text.startswith("客户名称,客户编号")
    # the template, filled in, imports as it is (Chinese and English headers)
    from kehu.orders.imports import order_import

    for ws in (wb.worksheets[0], english):
        ws.append([east_customer.name, None, None, f"T-{ws.title[:2]}", "2026-03-01", None, "聚乙烯 PE", 5, "t", 100,
                   None, "直销", None])
        path = tmp_path / f"{ws.title[:2]}.xlsx"
        ws.parent.save(path)
        report = order_import(actor=org.rep, path=path, file_name=path.name)
        assert (report.valid, report.error_count) == (1, 0), report.errors
    assert client.get(reverse("orders:import_template", args=["refunds", "xlsx"])).status_code == 404


def test_customer_orders_page_links_to_the_import(client, org, east_customer):
    client.force_login(org.rep)
    page = client.get(reverse("orders:customer", args=[east_customer.pk])).content.decode()
    assert reverse("orders:import") in page


def api_upload(client, api_client, user, kind, content, name="orders.xlsx"):
    api_client.as_user(user)
    return client.post("/api/v1/order-imports", {"kind": kind, "file": SimpleUploadedFile(name, content, XLSX)},
                       **api_client._headers())


def test_api_upload_check_commit_and_refusals(client, api_client, org, east_customer, north_customer,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, api_client, org.rep, "orders", orders_sheet(east_customer, north_customer))
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    job = api_client.as_user(org.rep).get(f"/order-imports/{job_id}").json()
    assert (job["state"], job["valid_rows"], job["error_rows"]) == ("checked", 2, 2)
    assert [e["row"] for e in job["errors"]] == [4, 5]
    assert [j["id"] for j in api_client.as_user(org.rep).get("/order-imports").json()] == [job_id]
    assert api_client.as_user(org.rep2).get(f"/order-imports/{job_id}").status_code == 404
    assert api_client.as_user(org.rep2).post(f"/order-imports/{job_id}/commit").status_code == 404
    assert api_client.as_user(org.rep2).get("/order-imports").json() == []
    assert api_client.as_user(org.analyst).get("/order-imports").status_code == 403
    assert api_upload(client, api_client, org.rep, "payments", b"x").status_code == 403
    assert api_upload(client, api_client, org.agent, "orders", b"x").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.as_user(org.rep).post(f"/order-imports/{job_id}/commit")
    assert response.status_code == 202
    job = api_client.as_user(org.rep).get(f"/order-imports/{job_id}").json()
    assert (job["state"], job["written_rows"], job["progress"]["percent"]) == ("done", 2, 100)
    assert api_client.as_user(org.rep).post(f"/order-imports/{job_id}/commit").status_code == 409
    assert Order.objects.count() == 2
