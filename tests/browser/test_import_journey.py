"""The import journey in a real browser: a rep uploads a GBK CSV exported from an old system, sees the
columns recognised with a preview, adjusts one, runs the dry run, downloads the error report and
imports the valid rows; the customers are then in the archive."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:not(.kehu-lang) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    # the workbench fetches its badges and charts after load: let them finish (the in-memory test
    # database locks a table while another request writes the session)
    page.wait_for_load_state("networkidle")


def test_import_journey_upload_map_dry_run_error_report_commit(new_page, org, transactional_db, tmp_path, settings):
    from playwright.sync_api import expect

    from kehu.customers.models import Customer
    from kehu.imports.samples import HEADERS, csv_bytes, sheet_rows

    settings.VAR_DIR = tmp_path
    rows = list(sheet_rows(8))
    rows[2][HEADERS.index("手机")] = "12345"
    rows[2][HEADERS.index("联系人")] = rows[2][HEADERS.index("联系人")] or "王五"
    headers = [*HEADERS[:-1], "备注"]  # an unknown header: ignored unless mapped
    path = tmp_path / "老系统导出.csv"
    path.write_bytes(csv_bytes(rows, headers=headers, encoding="gbk"))

    page = new_page(width=1280, height=900)
    log_in(page, org, "rep")
    page.goto("/imports/")
    expect(page.get_by_test_id("no-jobs")).to_be_visible()
    page.set_input_files("#import-file", str(path))
    page.get_by_test_id("upload-button").click()
    expect(page.get_by_test_id("mapping-table")).to_be_visible()
    expect(page.get_by_test_id("mapping-table").locator("tbody tr")).to_have_count(5)
    assert page.locator("select[name=col0]").input_value() == "name"
    assert page.locator(f"select[name=col{len(headers) - 1}]").input_value() == ""
    page.select_option(f"select[name=col{len(headers) - 1}]", "contact_birthday")
    page.fill("input[name=save_mapping_as]", "老系统")
    page.screenshot(path=str(tmp_path / "mapping.png"), full_page=True)
    page.get_by_test_id("dry-run-button").click()
    expect(page.get_by_test_id("count-errors")).to_have_text("1")
    expect(page.get_by_test_id("count-valid")).to_have_text("7")
    expect(page.get_by_test_id("error-table")).to_contain_text("4")  # the row; its mobile is not repeated
    expect(page.get_by_test_id("error-table")).not_to_contain_text("12345")
    with page.expect_download() as download:
        page.get_by_test_id("errors-csv").click()
    assert download.value.suggested_filename == "老系统导出-errors.csv"
    expect(page.get_by_test_id("commit-all")).to_be_disabled()
    page.screenshot(path=str(tmp_path / "dry-run.png"), full_page=True)
    page.get_by_test_id("commit-valid").click()
    expect(page.get_by_test_id("job-state")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("count-imported")).to_have_text("7")
    page.screenshot(path=str(tmp_path / "done.png"), full_page=True)
    assert Customer.objects.count() == 7
    page.goto("/imports/")
    expect(page.get_by_test_id("job-row")).to_have_count(1)
