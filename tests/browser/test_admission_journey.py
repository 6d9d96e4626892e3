"""Admission in a real browser (issue 14): the account manager files the papers and applies for account opening
(开户审批); the sales manager, finance and the general manager approve in turn and the customer becomes active;
then its 危险化学品经营许可证 expires (the nightly sweep run with a frozen "today"), the customer is suspended
(暂停业务往来) and an order is refused naming the licence; a renewal is filed and verified by finance and the
customer is active again. Screenshots in /tmp/shots/admission/."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/admission")
PDF = b"%PDF-1.4\n% business licence scan\n" + b"0" * 512
USCC = "91330106MA27XH0T1X"


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def file_document(page, kind, **fields):
    form = page.get_by_test_id("document-form")
    form.locator("select[name=kind]").select_option(kind)
    for name, value in fields.items():
        if name == "file":
            form.locator("input[name=file]").set_input_files(str(value))
        else:
            form.locator(f"input[name={name}]").fill(value)
    form.get_by_test_id("document-submit").click()
    page.wait_for_load_state("networkidle")


def approve(new_page, org, username, request_id):
    page = new_page()
    log_in(page, org, username)
    page.goto(f"/approvals/requests/{request_id}/")
    page.get_by_test_id("decide-form").get_by_test_id("approve").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"approved-by-{username}.png"), full_page=True)
    page.context.close()


def test_open_an_account_then_a_licence_expires_and_is_renewed(new_page, org, tmp_path, settings):
    from playwright.sync_api import expect

    from kehu.customers.services import customer_create
    from kehu.qualification.models import AccountOpening, Document
    from kehu.qualification.services import expiry_sweep

    settings.VAR_DIR = tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    scan = tmp_path / "营业执照.pdf"
    scan.write_bytes(PDF)
    customer = customer_create(actor=org.rep, data={"name": "杭州恒源化工有限公司", "kind": "organization"})
    assert customer.status == "pending"

    # 1. the account manager files the papers and applies
    page = new_page()
    log_in(page, org, "rep")
    page.goto(f"/qualification/customers/{customer.pk}/")
    expect(page.get_by_test_id("customer-status")).to_have_attribute("data-status", "pending")
    file_document(page, "business_licence", number=USCC, issuer="杭州市市场监督管理局", file=scan)
    file_document(page, "invoicing", bank="中国工商银行杭州分行", account_number="1202021109900012345",
                  invoice_address="杭州市西湖区文三路90号", invoice_phone="0571-88886666")
    file_document(page, "product_licence", title="危险化学品经营许可证", number="浙杭安经字〔2024〕0815",
                  issuer="杭州市应急管理局", valid_from="2024-01-01", valid_to="2026-11-30")
    expect(page.get_by_test_id("document")).to_have_count(3)
    form = page.get_by_test_id("application-form")
    form.locator("input[name=legal_representative]").fill("王建国")
    form.locator("input[name=main_products]").fill("聚丙烯、聚乙烯")
    form.get_by_test_id("apply").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / "applied.png"), full_page=True)
    app = AccountOpening.objects.get(customer=customer)
    assert app.status == "submitted"

    # 2. sales manager → finance → general manager
    approve(new_page, org, "manager", app.request_id)
    approve(new_page, org, "finance", app.request_id)
    customer.refresh_from_db()
    assert customer.status == "pending"
    approve(new_page, org, "executive", app.request_id)
    customer.refresh_from_db()
    assert customer.status == "active"

    # finance verifies the papers (资质审查)
    fin = new_page()
    log_in(fin, org, "finance")
    fin.goto(f"/qualification/customers/{customer.pk}/")
    for _ in range(3):
        fin.get_by_test_id("verify").first.click()
        fin.wait_for_load_state("networkidle")
    assert Document.objects.filter(customer=customer, current=True).count() == 3

    # 3. the licence expires: the nightly sweep on 2026-12-01 (Shanghai) suspends the customer
    assert expiry_sweep(today=dt.date(2026, 12, 1), remind=False)["suspended"] == 1
    page.goto(f"/qualification/customers/{customer.pk}/")
    expect(page.get_by_test_id("customer-status")).to_have_attribute("data-status", "suspended")
    page.goto(f"/customers/{customer.pk}/orders/")
    order = page.get_by_test_id("order-form")
    order.locator("input[name=o-order_date]").fill("2026-12-02")
    order.locator("input[name=o-product_line]").fill("聚丙烯")
    order.locator("input[name=o-quantity]").fill("20")
    order.locator("input[name=o-amount]").fill("160000")
    order.locator("button[type=submit]").click()
    expect(page.get_by_test_id("order-form")).to_contain_text("浙杭安经字〔2024〕0815")
    expect(page.get_by_test_id("order-form")).to_contain_text("2026-11-30")
    page.screenshot(path=str(SHOTS / "order-refused.png"), full_page=True)

    # 4. the renewal is filed by the rep and verified by finance: active again
    page.goto(f"/qualification/customers/{customer.pk}/")
    file_document(page, "product_licence", title="危险化学品经营许可证", number="浙杭安经字〔2026〕1201",
                  issuer="杭州市应急管理局", valid_from="2026-12-01", valid_to="2029-11-30", file=scan)
    fin.goto(f"/qualification/customers/{customer.pk}/")
    fin.get_by_test_id("verify").first.click()
    fin.wait_for_load_state("networkidle")
    page.goto(f"/qualification/customers/{customer.pk}/")
    expect(page.get_by_test_id("customer-status")).to_have_attribute("data-status", "active")
    page.screenshot(path=str(SHOTS / "reinstated.png"), full_page=True)
