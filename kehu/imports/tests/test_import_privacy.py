"""Personal data in imports (issue 16, "Clear personal data through imports", "NUL bytes", "Uploads fill the
disk"): previews and error reports masked by the archive's rules (reveal only by a role holding the level,
audited); stored files encrypted at rest, deleted after the commit and after the retention days; erasure of a
person reaches the import artefacts; control characters refused at the dry run; uploads stopped at the limit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tracemalloc

import openpyxl
import pytest
from django.utils import timezone

from kehu.access.roles import ROLES, Level, RoleSpec
from kehu.audit.models import AuditEntry
from kehu.customers.models import Customer
from kehu.customers.services import subject_erase
from kehu.imports import parsing, services, storage
from kehu.imports.models import ImportJob, ImportRowError, JobState
from kehu.imports.samples import csv_bytes

pytestmark = pytest.mark.django_db

HEADERS = ["客户名称", "客户类型", "手机", "身份证号", "法律依据", "处理目的", "身份证单独同意", "备用电话"]
MOBILE, ID_NUMBER, SPARE = "13987654321", "11010519491231002X", "13700001111"
MOBILE_MASK, ID_MASK = "139****4321", "110***********002X"


def person_rows():
    return [["李娜", "个人", MOBILE, ID_NUMBER, "同意", "理财产品推荐", "是", SPARE],
            ["赵敏", "个人", "1398765", "", "同意", "理财产品推荐", "", ""],  # a bad mobile: an error row
            ["周强", "个人", "13600002222", "", "同意", "理财产品推荐", "", ""]]


@pytest.fixture
def job(org, upload, api_client, django_capture_on_commit_callbacks):
    """The rep's file of three person customers, dry-run (one error row)."""
    r = upload(org.rep, "客户.csv", csv_bytes(person_rows(), headers=HEADERS))
    assert r.status_code == 201, r.json()
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.as_user(org.rep).post(f"/imports/{r.json()['id']}/dry-run", {})
    assert r.json()["state"] == "validated" and r.json()["error_rows"] == 1
    return ImportJob.objects.get(pk=r.json()["id"])


def _clear_in(text: str) -> bool:
    return MOBILE in text or ID_NUMBER in text or SPARE in text or "1398765" in text


# ---------------------------------------------------------------- masking by role

@pytest.mark.parametrize("role", ["rep", "manager", "executive", "admin"])
def test_import_preview_and_first_errors_are_masked_for_every_role_that_sees_the_job(org, job, api_client, role):
    """信息分级: the preview of the API, the job page and the first errors show mobiles and ID numbers masked,
    to the uploader as to the manager and the executive who see the job (issue 16)."""
    user = getattr(org, role)
    r = api_client.as_user(user).get(f"/imports/{job.pk}")
    assert r.status_code == 200
    body = r.content.decode()
    assert not _clear_in(body)
    preview = r.json()["preview"]
    assert preview[0][2] == MOBILE_MASK and preview[0][3] == ID_MASK and preview[0][7] == "137****1111"
    assert preview[0][0] == "李娜"  # the rest as it was
    assert r.json()["first_errors"][0]["row"] == 3
    from django.test import Client

    page = Client()
    page.force_login(user)
    html = page.get(f"/imports/{job.pk}/").content.decode()
    assert MOBILE_MASK in html and not _clear_in(html)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("role", ["rep", "executive"])
def test_error_report_downloads_are_masked_unless_revealed_by_a_role_holding_the_level(org, job, api_client,
                                                                                       fmt, role, client):
    """The error report (CSV/XLSX, API and page) is masked; reveal=true gives the clear values to a role that
    reads confidential fields, and the reveal is audited."""
    api_client.as_user(getattr(org, role))
    masked = api_client.get(f"/imports/{job.pk}/errors", {"format": fmt})
    assert masked.status_code == 200

    def cells(response):
        if fmt == "csv":
            return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        return [[str(c or "") for c in row] for row in
                openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
                .iter_rows(values_only=True)]

    table = cells(masked)
    assert len(table) == 2 and table[1][0] == "赵敏" and table[1][2] == "*******"
    before = AuditEntry.objects.filter(action="import.errors_reveal").count()
    clear = api_client.get(f"/imports/{job.pk}/errors", {"format": fmt, "reveal": "true"})
    assert clear.status_code == 200 and cells(clear)[1][2] == "1398765"
    assert AuditEntry.objects.filter(action="import.errors_reveal").count() == before + 1
    client.force_login(getattr(org, role))
    page = client.get(f"/imports/{job.pk}/errors/", {"format": fmt})
    assert page.status_code == 200 and cells(page)[1][2] == "*******"


def test_a_role_below_the_confidential_level_may_not_reveal_an_error_report(org, job, api_client, monkeypatch,
                                                                             client):
    """A deployment that lowers a role's level (KEHU role table) keeps the masks and gets 403 on reveal."""
    spec = ROLES["executive"]
    monkeypatch.setitem(ROLES, "executive", RoleSpec(spec.label, spec.scope, Level.INTERNAL, spec.perms))
    r = api_client.as_user(org.executive).get(f"/imports/{job.pk}/errors", {"reveal": "true"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert api_client.get(f"/imports/{job.pk}/errors").status_code == 200
    client.force_login(org.executive)
    assert client.get(f"/imports/{job.pk}/errors/", {"reveal": "1"}).status_code == 403
    assert not AuditEntry.objects.filter(action="import.errors_reveal").exists()


def test_outside_scope_the_import_and_its_report_are_not_found(org, job, api_client):
    assert api_client.as_user(org.rep2).get(f"/imports/{job.pk}/errors").status_code == 404
    assert api_client.as_user(org.north_manager).get(f"/imports/{job.pk}").status_code == 404
    assert api_client.as_user(None).get(f"/imports/{job.pk}/errors").status_code == 401


# ---------------------------------------------------------------- encrypted at rest, deleted when done

def test_stored_upload_is_encrypted_at_rest_and_read_back_transparently(org, job, import_dir):
    """The file under var/imports holds no clear personal data; the dry run read it (it is validated)."""
    path = services.job_path(job)
    raw = path.read_bytes()
    assert raw.startswith(storage.MAGIC)
    assert MOBILE.encode() not in raw and "李娜".encode() not in raw
    rows = list(parsing.iter_data_rows(path, services.job_info(job)))
    assert rows[0][1][2] == MOBILE and len(rows) == 3
    assert [p.name for p in import_dir.iterdir()] == [path.name]  # no plaintext temp file left


def test_encrypted_xlsx_upload_is_read_through_the_seekable_stream(org, upload, api_client):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for row in person_rows():
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(org.rep, "客户.xlsx", buf.getvalue())
    assert r.status_code == 201 and r.json()["file_format"] == "xlsx"
    job = ImportJob.objects.get(pk=r.json()["id"])
    assert services.job_path(job).read_bytes().startswith(storage.MAGIC)
    assert r.json()["preview"][0][2] == MOBILE_MASK


def test_stored_file_is_deleted_after_commit_and_the_report_keeps_the_errors(org, job, api_client, import_dir,
                                                                             django_capture_on_commit_callbacks):
    path = services.job_path(job)
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.as_user(org.rep).post(f"/imports/{job.pk}/commit", {"mode": "valid"})
    assert r.status_code == 202
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.imported_rows == 2 and job.file_path == ""
    assert not path.exists()
    table = list(csv.reader(io.StringIO(api_client.get(f"/imports/{job.pk}/errors").content.decode("utf-8-sig"))))
    assert len(table) == 2 and table[1][len(HEADERS)] == "3"


def test_cancelled_job_file_is_deleted_and_a_file_shared_with_a_live_job_is_kept(org, upload, api_client, job,
                                                                                  django_capture_on_commit_callbacks):
    again = upload(org.rep, "再传.csv", csv_bytes(person_rows(), headers=HEADERS)).json()  # same bytes, one file
    path = services.job_path(job)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.as_user(org.rep).post(f"/imports/{job.pk}/cancel")
    assert path.exists()  # the second job still needs it
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(f"/imports/{again['id']}/cancel")
    assert not path.exists()


def test_files_of_jobs_not_committed_are_deleted_after_the_retention_days(org, job, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.KEHU_IMPORT_FILE_RETENTION_DAYS = 3
    path = services.job_path(job)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.import_files_sweep(now=timezone.now() + dt.timedelta(days=2)) == {"jobs": 0, "files": 0}
    assert path.exists()
    stray = path.with_name("orders-" + "0" * 64 + ".csv")
    stray.write_bytes(b"x")
    old = (timezone.now() - dt.timedelta(days=4)).timestamp()
    os.utime(stray, (old, old))
    with django_capture_on_commit_callbacks(execute=True):
        result = services.import_files_sweep(now=timezone.now() + dt.timedelta(days=4))
    assert result["jobs"] == 1 and not path.exists() and not stray.exists()
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.file_path == ""
    assert AuditEntry.objects.filter(action="import.file_deleted", object_id=str(job.pk)).exists()


def test_reading_a_50_mb_encrypted_upload_streams_in_bounded_memory(tmp_path, settings):
    """The worker streams rows from the encrypted file: one 1 MiB frame in memory, never the file."""
    settings.VAR_DIR = tmp_path
    line = ("华星科技有限公司,企业,13812345678,上海市浦东新区张江路" + "甲" * 40 + "\r\n").encode()
    n = 50 * 1024 * 1024 // len(line) + 1
    header = ",".join(["客户名称", "客户类型", "手机", "地址"]).encode() + b"\r\n"

    def chunks():
        yield header
        block = line * 4096
        for _ in range(n // 4096 + 1):
            yield block

    settings.KEHU_IMPORT_MAX_BYTES = 80 * 1024 * 1024
    path, _sha, size, info = services.store_upload("big.csv", chunks(), preview_rows=2)
    assert size > 50 * 1024 * 1024 and path.stat().st_size > size
    tracemalloc.start()
    count = sum(1 for _ in parsing.iter_data_rows(path, info))
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count >= n
    assert peak < 8 * 1024 * 1024, peak


# ---------------------------------------------------------------- erasure

def test_erasure_of_a_person_reaches_previews_stored_files_and_error_rows(org, job, upload, api_client,
                                                                          django_capture_on_commit_callbacks):
    """PIPL 47: erasing the person customer imported from row 2 also deletes the stored files and redacts the
    previews of every import that holds the person's mobile or ID number; other people's rows stay."""
    with django_capture_on_commit_callbacks(execute=True):
        api_client.as_user(org.rep).post(f"/imports/{job.pk}/commit", {"mode": "valid"})
    person = Customer.objects.get(name="李娜")
    # A second upload with the same person (formatted differently), not committed: its file is kept meanwhile.
    rows = [["李娜（复）", "个人", "+86 139-8765-4321", "", "同意", "理财产品推荐", "", ""],
            ["吴刚", "个人", "13500003333", "", "同意", "理财产品推荐", "", ""]]
    pending = ImportJob.objects.get(pk=upload(org.rep, "第二批.csv", csv_bytes(rows, headers=HEADERS)).json()["id"])
    other = ImportJob.objects.get(pk=upload(org.rep, "其他.csv", csv_bytes(rows[1:], headers=HEADERS)).json()["id"])
    ImportRowError.objects.create(job=pending, row_number=2, errors=["x"])
    pending_path, other_path = services.job_path(pending), services.job_path(other)
    with django_capture_on_commit_callbacks(execute=True):
        subject_erase(actor=org.admin, customer_id=person.pk)
    job.refresh_from_db()
    pending.refresh_from_db()
    other.refresh_from_db()
    assert job.preview[0] == ["—"] * len(HEADERS) and job.preview[1][0] == "赵敏"
    assert pending.preview[0] == ["—"] * len(HEADERS) and pending.preview[1][0] == "吴刚"
    assert not pending_path.exists() and pending.file_path == "" and pending.state == JobState.CANCELLED
    assert not ImportRowError.objects.filter(job=pending).exists()
    assert other_path.exists() and other.state == JobState.UPLOADED  # nothing of the person in it
    assert AuditEntry.objects.filter(action="import.file_deleted", object_id=str(pending.pk)).exists()


# ---------------------------------------------------------------- control characters

def test_nul_and_control_characters_in_cells_are_row_errors_of_the_dry_run(org, upload, api_client,
                                                                          django_capture_on_commit_callbacks):
    """Like the API (which refuses NUL with 400): a cell holding NUL (or another C0 control) is a row error, the
    dry run ends validated, and a valid-only commit imports the other rows — on SQLite and PostgreSQL alike
    (PostgreSQL left the job interrupted for good; SQLite stored the NUL)."""
    rows = [["华星\x00科技有限公司", "企业", "", "", "", "", "", ""],
            ["东方\x07机械有限公司", "企业", "", "", "", "", "", ""],
            ["正常贸易有限公司", "企业", "", "", "", "", "", ""]]
    r = upload(org.rep, "nul.csv", csv_bytes(rows, headers=HEADERS))
    assert r.status_code == 201 and "\x00" not in r.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.as_user(org.rep).post(f"/imports/{r.json()['id']}/dry-run", {})
    body = r.json()
    assert (body["state"], body["error_rows"], body["valid_rows"]) == ("validated", 2, 1)
    assert [e["row"] for e in body["first_errors"]] == [2, 3]
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.post(f"/imports/{body['id']}/commit", {"mode": "valid"})
    job = ImportJob.objects.get(pk=body["id"])
    assert job.state == JobState.DONE and job.imported_rows == 1
    assert not Customer.objects.filter(name__contains="\x07").exists()
    assert Customer.objects.filter(name="正常贸易有限公司").exists()
    report = api_client.get(f"/imports/{job.pk}/errors", {"format": "xlsx"})
    assert report.status_code == 200


# ---------------------------------------------------------------- upload size

def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "kehuboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    return head + b"a" * size + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _dir_bytes(path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", ["/api/v1/imports", "/imports/upload/"])
def test_upload_over_the_limit_is_refused_by_content_length_before_the_body_is_read(org, client, api_client,
                                                                                   settings, tmp_path, path):
    """A body declared larger than the limit: 413 at once (JSON under /api/, a page elsewhere), nothing
    spooled to the upload temp dir nor stored."""
    temp = tmp_path / "spool"
    temp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR, settings.FILE_UPLOAD_MAX_MEMORY_SIZE = str(temp), 0
    settings.KEHU_IMPORT_MAX_BYTES, settings.KEHU_UPLOAD_FORM_OVERHEAD_BYTES = 1024 * 1024, 1024
    body, content_type = _multipart(3 * 1024 * 1024)
    client.force_login(org.rep)
    r = client.generic("POST", path, body, content_type=content_type, **api_client.as_user(org.rep)._headers())
    assert r.status_code == 413
    if path.startswith("/api/"):
        assert r.json()["error"]["code"] == "too_large"
    assert _dir_bytes(temp) == 0 and not ImportJob.objects.exists()


def test_upload_that_grows_over_the_limit_while_streamed_stops_at_the_limit(org, client, settings, tmp_path,
                                                                           api_client):
    """A file over the limit inside a body the Content-Length check lets through (the form's allowance): the
    handler stops reading at the limit — the spool never holds more than the limit — and answers 413."""
    temp = tmp_path / "spool"
    temp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR, settings.FILE_UPLOAD_MAX_MEMORY_SIZE = str(temp), 0
    settings.KEHU_IMPORT_MAX_BYTES, settings.KEHU_UPLOAD_FORM_OVERHEAD_BYTES = 1024 * 1024, 1024 * 1024
    body, content_type = _multipart(1024 * 1024 + 300 * 1024)
    seen: list[int] = []
    real_write = __import__("django.core.files.uploadedfile", fromlist=["x"]).TemporaryUploadedFile

    class Spy(real_write):
        def close(self):
            seen.append(_dir_bytes(temp))
            return super().close()

    from unittest import mock

    with mock.patch("django.core.files.uploadhandler.TemporaryUploadedFile", Spy):
        r = client.generic("POST", "/api/v1/imports", body, content_type=content_type,
                           **api_client.as_user(org.rep)._headers())
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert seen and max(seen) <= 1024 * 1024
    assert _dir_bytes(temp) == 0 and not ImportJob.objects.exists()


def test_withdrawing_the_only_basis_also_reaches_the_import_artefacts(org, job, django_capture_on_commit_callbacks):
    """PIPL 15/47: when a withdrawn consent erases a person's mobile and ID number from the archive, the import
    files and previews holding them go too."""
    from kehu.customers import services as customer_services
    from kehu.customers.models import Consent
    from kehu.customers.tests.factories import ID_CONSENT

    c = customer_services.customer_create(actor=org.rep2, data={
        "name": "李娜", "kind": "person", "mobile": MOBILE, "id_number": ID_NUMBER,
        "basis": {"basis": "consent", "purpose": "理财产品推荐", "channel": "App 勾选"},
        "id_number_consent": ID_CONSENT})
    path = services.job_path(job)
    with django_capture_on_commit_callbacks(execute=True):
        for consent in Consent.objects.filter(customer=c).order_by("id"):
            customer_services.consent_withdraw(actor=org.rep2, consent_id=consent.pk)
    job.refresh_from_db()
    assert job.preview[0] == ["—"] * len(HEADERS) and not path.exists() and job.state == JobState.CANCELLED


def test_a_malformed_multipart_body_is_a_400_in_the_error_format_not_a_page(org, client):
    """A multipart body without a boundary (a broken client) answers 400 in the API's JSON format."""
    from kehu.access.services import token_create

    token = token_create(actor=org.rep, name="t")[1]
    r = client.post("/api/v1/tags", data=b"--x\r\n", content_type="multipart/form-data",
                    HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"
