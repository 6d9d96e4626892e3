"""The import page shows an uploaded file's mobiles and ID numbers masked (desktop and phone), and an upload
over the limit answers the 413 page at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_import_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots/privacy")


def test_import_page_masks_the_preview_and_an_oversized_upload_gets_the_413_page(new_page, org, transactional_db,
                                                                                 tmp_path, settings):
    from playwright.sync_api import expect

    from kehu.imports.samples import csv_bytes

    settings.VAR_DIR = tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    headers = ["客户名称", "客户类型", "手机", "身份证号", "法律依据", "处理目的", "身份证单独同意"]
    rows = [["李娜", "个人", "13987654321", "11010519491231002X", "同意", "理财产品推荐", "是"],
            ["周强", "个人", "13600002222", "", "同意", "理财产品推荐", ""]]
    path = tmp_path / "个人客户.csv"
    path.write_bytes(csv_bytes(rows, headers=headers))
    for width, height, name in ((1280, 900, "desktop"), (375, 800, "phone")):
        page = new_page(width=width, height=height)
        log_in(page, org, "rep")
        page.goto("/imports/")
        page.set_input_files("#import-file", str(path))
        page.get_by_test_id("upload-button").click()
        expect(page.get_by_test_id("mapping-table")).to_be_visible()
        content = page.content()
        assert "139****4321" in content and "110***********002X" in content
        assert "13987654321" not in content and "11010519491231002X" not in content
        page.screenshot(path=str(SHOTS / f"import-masked-{name}.png"), full_page=True)
    settings.KEHU_IMPORT_MAX_BYTES = 1024
    big = tmp_path / "大文件.csv"
    big.write_bytes(csv_bytes(rows * 200, headers=headers))
    page.goto("/imports/")
    page.set_input_files("#import-file", str(big))
    page.get_by_test_id("upload-button").click()
    expect(page.locator("[data-status='413']")).to_be_visible()
    page.screenshot(path=str(SHOTS / "upload-413-phone.png"), full_page=True)
