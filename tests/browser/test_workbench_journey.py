"""Each role's first minute (issue 9, 工作台): log in, land on one's own workbench (not the customer
list), see the headline figures and follow one to-do to its page — on a PC (1366 px) and on a phone
(375 px), with no console error (the favicon included). Screenshots go to KEHU_SCREENSHOTS (default
var/screenshots/) to be looked at."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("KEHU_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
VIEWPORTS = {"pc": (1366, 800), "phone": (375, 740)}


def _customer(owner, name):
    from kehu.customers import services
    from kehu.qualification.testing import admit

    # an established (admitted) customer, as in kehu/workbench/tests: a pending company is a to-do of its own
    return admit(services.customer_create(actor=owner, data={"name": name}))


def _complaint(actor, days_ago=3):
    from kehu.service_desk import services

    return services.complaint_record(actor=actor, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone", "subject": "发货延迟",
        "description": "订单已延迟五天未发货。", "received_at": timezone.now() - dt.timedelta(days=days_ago)})


def _approval_for(org, approver):
    from kehu.approvals.services import approval_chain_define, approval_request

    target = _customer(org.rep, "浙江华星石化有限公司")
    approval_chain_define(actor=org.admin, code="test.workbench", name="信用额度审批",
                          steps=[{"kind": "users", "users": [approver.pk], "mode": "any"}])
    req = approval_request(actor=org.rep, chain_code="test.workbench", target=target, title="信用额度调整")
    return f"/approvals/requests/{req.pk}/"


def _visit_for(org, inspector):
    from kehu.service_desk.inspections import services
    from kehu.service_desk.inspections.models import InspectionVisit

    cust = _customer(org.rep, "杭州华星化工有限公司")
    checklist = services.checklist_create(actor=org.admin, data={"name": "设备巡检", "items": ["设备运行状态"]})
    plan = services.plan_create(actor=org.manager, data={
        "customer": cust.pk, "checklist": checklist.pk, "importance": "key", "inspector": inspector.pk,
        "next_due": timezone.localdate() + dt.timedelta(days=1)})
    services.visits_generate()
    return f"/inspections/visits/{InspectionVisit.objects.get(plan=plan).pk}/"


def _reports_notice(org, user):
    from kehu.notifications.models import Notification

    Notification.objects.create(user=user, title="十一月投诉报表已可查看", link="/complaints/reports/")
    return "/complaints/reports/"


def _sensitive_access(org, user):
    from kehu.audit.services import audit_record

    cust = _customer(org.rep, "浙江华星石化有限公司")
    audit_record(actor=org.rep, action="customer.reveal", obj=cust)
    return "/audit/"


# role → (user key in the org fixture, what waits for them, where it leads; the element to follow)
JOURNEYS = {
    "admin": ("admin", lambda org: _approval_for(org, org.admin), "todo"),
    "executive": ("executive", lambda org: f"/complaints/{_complaint(org.executive).pk}/", "todo"),
    "manager": ("manager", lambda org: f"/complaints/{_complaint(org.rep).pk}/", "todo"),
    "account_manager": ("rep", lambda org: _visit_for(org, org.rep), "todo"),
    "service_agent": ("agent", lambda org: f"/complaints/{_complaint(org.agent).pk}/", "todo"),
    "finance": ("finance", lambda org: _approval_for(org, org.finance), "todo"),
    "analyst": ("analyst", lambda org: _reports_notice(org, org.analyst), "todo"),
    "auditor": ("auditor", lambda org: _sensitive_access(org, org.auditor), "panel-row"),
}


@pytest.mark.parametrize("device", list(VIEWPORTS))
@pytest.mark.parametrize("role", list(JOURNEYS))
def test_each_role_lands_on_its_workbench_and_follows_a_todo(new_page, org, role, device):
    from playwright.sync_api import expect

    username, seed, testid = JOURNEYS[role]
    target = seed(org)
    width, height = VIEWPORTS[device]
    page = new_page(width=width, height=height)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", org.password)
    page.locator("form:not(.kehu-lang) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/workbench/$"))
    expect(page.get_by_test_id("workbench-figures")).to_be_visible()
    expect(page.get_by_test_id("figure").first).to_be_visible()
    if page.get_by_test_id("chart").count():  # ECharts drew from the JSON endpoint
        expect(page.locator("[data-chart][data-drawn=true]").first).to_be_attached()
        expect(page.get_by_test_id("chart-table").first).to_be_attached()
    item = page.locator(f'[data-testid="{testid}"][href^="{target}"]').first
    expect(item).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"workbench-{role}-{device}.png"), full_page=True)

    # the phone header keeps the bell and its badge inside the viewport
    bell = page.get_by_test_id("notification-bell").bounding_box()
    assert bell and bell["x"] + bell["width"] <= width
    if role == "analyst":  # has an unread notification: its badge is whole, not clipped by the header
        badge = page.get_by_test_id("notification-count")
        expect(badge).to_be_visible()
        box = badge.bounding_box()
        assert box["y"] >= 0 and box["x"] + box["width"] <= width

    item.click()
    page.wait_for_url(re.compile(re.escape(target)))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / f"workbench-{role}-{device}-followed.png"))
    assert problems == []
