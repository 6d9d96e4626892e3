"""An inspection in a real browser, on a phone: the engineer sees the overdue inspection in red,
opens it, answers each checklist item with a tap, files the report, and the visit shows it."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("KEHU_SCREENSHOTS")  # a folder: save what the phone showed


def log_in(page, org, username):
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:not(.kehu-lang) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    # the workbench fetches its badges and charts after load: let them finish (the in-memory test
    # database locks a table while another request writes the session)
    page.wait_for_load_state("networkidle")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_engineer_files_an_overdue_inspection_on_a_phone(org, new_page):
    from playwright.sync_api import expect

    from kehu.customers.tests.factories import org_customer
    from kehu.service_desk.inspections import services
    from kehu.service_desk.inspections.models import InspectionVisit

    customer = org_customer(org.rep, "杭州华星化工有限公司")
    checklist = services.checklist_create(actor=org.admin, data={
        "name": "设备巡检", "items": ["设备运行状态", "系统稳定性", "安全隐患", "备件库存", "操作人员培训"]})
    from django.utils import timezone

    plan = services.plan_create(actor=org.admin, data={
        "customer": customer.pk, "checklist": checklist.pk, "importance": "key", "inspector": org.rep.pk,
        "next_due": timezone.localdate() - dt.timedelta(days=4)})
    visit = services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    services.visits_overdue_sweep()

    page = new_page(width=390, height=844)
    log_in(page, org, "rep")
    page.goto("/inspections/")
    row = page.locator(f'[data-testid=visit-row][data-visit="{visit.pk}"]')
    expect(row).to_have_attribute("data-overdue", "yes")
    shot(page, "inspections-list")
    row.get_by_role("link", name="杭州华星化工有限公司").click()
    page.get_by_test_id("file-report").click()
    items = page.get_by_test_id("report-item")
    expect(items).to_have_count(5)
    for i in range(5):
        items.nth(i).locator("label.btn-outline-success").click()
    items.nth(0).locator("label.btn-outline-danger").click()
    items.nth(0).locator("input[type=text]").fill("2号机组振动偏大")
    page.fill("textarea[name=findings]", "2号机组振动偏大，其余正常")
    page.fill("textarea[name=suggestions]", "建议下月更换轴承")
    page.fill("input[name=signed_by]", "王工")
    shot(page, "inspections-report-form")
    page.get_by_role("button", name=re.compile("填写巡检报告|File the report")).click()
    expect(page.get_by_test_id("visit-state")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("findings")).to_contain_text("2号机组振动偏大")
    shot(page, "inspections-visit-done")
    assert InspectionVisit.objects.get(pk=visit.pk).report.issue_count == 1
