"""The import pages: list and upload, mapping step with preview, dry-run result, commit, progress poll."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from kehu.customers.models import Customer
from kehu.imports.models import ImportJob, JobState
from kehu.imports.samples import csv_bytes, sheet_rows


def test_the_list_page_is_empty_then_upload_leads_to_the_mapping_step(org, client):
    client.force_login(org.rep)
    r = client.get("/imports/")
    assert r.status_code == 200 and "data-testid=\"upload-form\"" in r.content.decode()
    r = client.post("/imports/upload/", {"file": SimpleUploadedFile("客户.csv", csv_bytes(sheet_rows(6), encoding="gbk"))})
    job = ImportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/imports/{job.pk}/"
    page = client.get(r["Location"]).content.decode()
    assert "mapping-table" in page and "统一社会信用代码" in page
    assert page.count("<tr><td class=\"text-nowrap small\">") == 5  # the first five rows previewed


def test_dry_run_commit_and_progress_through_the_pages(org, client, django_capture_on_commit_callbacks):
    client.force_login(org.rep)
    client.post("/imports/upload/", {"file": SimpleUploadedFile("a.csv", csv_bytes(sheet_rows(4)))})
    job = ImportJob.objects.get()
    cols = {f"col{i}": c for i, c in enumerate(job.columns)}
    r = client.post(f"/imports/{job.pk}/dry-run/", {**cols, "save_mapping_as": "标准模板"})
    assert r.status_code == 302
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-testid="commit-valid"' in page and 'data-testid="count-valid">4<' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/commit/", {"mode": "all"})
    assert ImportJob.objects.get().state == JobState.DONE and Customer.objects.count() == 4
    r = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert r.status_code == 204 and r["HX-Refresh"] == "true"  # finished: the page reloads to its result


def test_the_progress_bar_polls_every_second_while_importing(org, client):
    client.force_login(org.rep)
    client.post("/imports/upload/", {"file": SimpleUploadedFile("a.csv", csv_bytes(sheet_rows(2)))})
    from django.utils import timezone

    ImportJob.objects.update(state=JobState.IMPORTING, total_rows=10, done_rows=4, heartbeat_at=timezone.now(),
                             mode="valid")
    job = ImportJob.objects.get()
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and 'data-testid="cancel-button"' in page
    fragment = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert "4 / 10" in fragment and "every 1s" in fragment


def test_errors_are_shown_with_download_links_and_a_bad_upload_is_a_message(org, client):
    client.force_login(org.rep)
    rows = list(sheet_rows(3))
    rows[0][2] = "91330106MA27Y00000"
    client.post("/imports/upload/", {"file": SimpleUploadedFile("a.csv", csv_bytes(rows))})
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/dry-run/", {f"col{i}": c for i, c in enumerate(job.columns)})
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-testid="error-table"' in page and 'data-testid="errors-xlsx"' in page
    r = client.get(f"/imports/{job.pk}/errors/?format=xlsx")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    r = client.post("/imports/upload/", {"file": SimpleUploadedFile("b.xlsx", b"PK\x03\x04broken")}, follow=True)
    assert ImportJob.objects.count() == 1 and "XLSX" in r.content.decode()


def test_pages_need_the_permission_and_the_scope(org, client):
    client.post("/imports/upload/")
    assert client.get("/imports/").status_code == 302  # anonymous: to the login page
    client.force_login(org.rep)
    client.post("/imports/upload/", {"file": SimpleUploadedFile("a.csv", csv_bytes(sheet_rows(1)))})
    job = ImportJob.objects.get()
    client.force_login(org.agent)
    assert client.get("/imports/").status_code == 403
    client.force_login(org.rep2)
    assert client.get(f"/imports/{job.pk}/").status_code == 404
    assert client.post(f"/imports/{job.pk}/commit/", {"mode": "valid"}).status_code == 404
    assert client.get(f"/imports/{job.pk}/errors/").status_code == 404
