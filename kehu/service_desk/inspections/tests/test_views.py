"""The inspection pages: the same permissions and scope as the API; the report form an engineer
fills in on a phone; overdue visits in red."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.service_desk.inspections import services
from kehu.service_desk.inspections.models import (
    InspectionChecklist,
    InspectionPlan,
    InspectionVisit,
    VisitState,
)

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def test_pages_need_a_login(client, visit):
    for url in ("/inspections/", "/inspections/plans/", "/inspections/checklists/",
                f"/inspections/visits/{visit.pk}/", f"/inspections/visits/{visit.pk}/report/"):
        r = client.get(url)
        assert r.status_code == 302 and "/login/" in r["Location"], url


def test_pages_refuse_users_without_service_work(client, org, visit):
    _login(client, org.finance)
    for url in ("/inspections/", "/inspections/plans/", "/inspections/checklists/",
                f"/inspections/visits/{visit.pk}/", f"/inspections/visits/{visit.pk}/report/"):
        assert client.get(url).status_code == 403, url


def test_pages_outside_scope_are_404(client, org, visit, plan):
    _login(client, org.north_rep)
    assert client.get(f"/inspections/visits/{visit.pk}/").status_code == 404
    assert client.get(f"/inspections/visits/{visit.pk}/report/").status_code == 404
    _login(client, org.north_manager)
    assert client.get(f"/inspections/plans/{plan.pk}/edit/").status_code == 404
    assert client.post(f"/inspections/visits/{visit.pk}/cancel/", {"reason": "x"}).status_code == 404


def test_overdue_visits_are_red_in_the_list(client, org, east_customer, checklist, django_assert_max_num_queries):
    plan = services.plan_create(actor=org.admin, data={
        "customer": east_customer.pk, "checklist": checklist.pk, "inspector": org.rep.pk,
        "next_due": timezone.localdate() - dt.timedelta(days=5)})
    visit = services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    services.visits_overdue_sweep()
    _login(client, org.rep)
    with django_assert_max_num_queries(10):
        r = client.get("/inspections/")
    html = r.content.decode()
    assert r.status_code == 200 and f'data-visit="{visit.pk}" data-overdue="yes"' in html and "table-danger" in html


def test_file_the_report_from_the_form(client, org, visit, checklist):
    _login(client, org.rep)
    r = client.get(f"/inspections/visits/{visit.pk}/report/")
    assert r.status_code == 200 and r.content.decode().count('data-testid="report-item"') == 5
    items = list(checklist.items.order_by("position"))
    data = {"performed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "findings": "2号机组振动偏大",
            "suggestions": "建议下月更换轴承", "signed_by": "王工"}
    for i in items:
        data[f"item_{i.pk}"] = "ok"
    data[f"item_{items[0].pk}"] = "issue"
    r = client.post(f"/inspections/visits/{visit.pk}/report/", data)  # the issue has no note
    assert r.status_code == 422
    assert r.context["form"].errors[f"note_{items[0].pk}"]
    assert InspectionVisit.objects.get(pk=visit.pk).state == VisitState.SCHEDULED
    data[f"note_{items[0].pk}"] = "振动值 7.1 mm/s"
    r = client.post(f"/inspections/visits/{visit.pk}/report/", data)
    assert r.status_code == 302
    visit.refresh_from_db()
    assert visit.state == VisitState.DONE and visit.report.issue_count == 1
    page = client.get(f"/inspections/visits/{visit.pk}/").content.decode()
    assert "2号机组振动偏大" in page and "振动值 7.1 mm/s" in page


def test_findings_are_required_on_the_form_only_when_an_item_has_an_issue(client, org, visit, checklist):
    _login(client, org.rep)
    items = list(checklist.items.order_by("position"))
    data = {"performed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "findings": ""}
    for i in items:
        data[f"item_{i.pk}"] = "ok"
    data[f"item_{items[0].pk}"], data[f"note_{items[0].pk}"] = "issue", "振动值 7.1 mm/s"
    r = client.post(f"/inspections/visits/{visit.pk}/report/", data)
    assert r.status_code == 400 and list(r.context["form"].errors) == ["findings"]
    assert "发现问题" in r.content.decode() or "Issue found" in r.content.decode()
    data[f"item_{items[0].pk}"] = "ok"
    r = client.post(f"/inspections/visits/{visit.pk}/report/", data)
    assert r.status_code == 302
    visit.refresh_from_db()
    assert visit.state == VisitState.DONE and visit.report.findings == ""


def test_missing_answers_come_back_on_the_form(client, org, visit):
    _login(client, org.rep)
    r = client.post(f"/inspections/visits/{visit.pk}/report/", {
        "performed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "findings": "正常"})
    assert r.status_code == 422
    assert InspectionVisit.objects.get(pk=visit.pk).state == VisitState.SCHEDULED


def test_cancel_from_the_page(client, org, visit):
    _login(client, org.manager)
    assert 'data-testid="cancel-form"' in client.get(f"/inspections/visits/{visit.pk}/").content.decode()
    assert client.post(f"/inspections/visits/{visit.pk}/cancel/", {"reason": ""}).status_code == 400
    r = client.post(f"/inspections/visits/{visit.pk}/cancel/", {"reason": "客户停产检修"})
    assert r.status_code == 302
    assert InspectionVisit.objects.get(pk=visit.pk).state == VisitState.CANCELLED


def test_plan_create_edit_and_stop_from_the_pages(client, org, east_customer, checklist):
    _login(client, org.manager)
    r = client.get("/inspections/plans/new/", {"q": "华星"})
    assert r.status_code == 200 and "杭州华星化工有限公司" in r.content.decode()
    r = client.post(f"/inspections/plans/new/?customer={east_customer.pk}", {
        "checklist": checklist.pk, "importance": "key", "cycle_unit": "day", "inspector": org.rep.pk})
    assert r.status_code == 302, r.content.decode()[:2000]
    plan = InspectionPlan.objects.get()
    assert plan.cycle_length == 30
    assert "杭州华星化工有限公司" in client.get("/inspections/plans/", {"customer": east_customer.pk}).content.decode()
    r = client.post(f"/inspections/plans/{plan.pk}/edit/", {
        "checklist": checklist.pk, "importance": "key", "cycle_length": 2, "cycle_unit": "week",
        "inspector": org.agent.pk})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert (plan.cycle_length, plan.cycle_unit, plan.inspector) == (2, "week", org.agent)
    assert client.post(f"/inspections/plans/{plan.pk}/deactivate/", {"reason": "合同到期"}).status_code == 302
    plan.refresh_from_db()
    assert not plan.active


def test_plan_pages_need_inspection_management(client, org, plan):
    _login(client, org.rep)
    assert client.get("/inspections/plans/").status_code == 200
    assert client.get("/inspections/plans/new/").status_code == 403
    assert client.get(f"/inspections/plans/{plan.pk}/edit/").status_code == 403


def test_checklist_management_page(client, org, checklist):
    _login(client, org.admin)
    r = client.post("/inspections/checklists/", {"name": "信息系统巡检", "items": "服务器运行状态\n数据备份 | 最近一次恢复演练",
                                                 "active": "on"})
    assert r.status_code == 302
    new = InspectionChecklist.objects.get(name="信息系统巡检")
    assert [(i.label, i.hint) for i in new.items.all()] == [("服务器运行状态", ""), ("数据备份", "最近一次恢复演练")]
    r = client.post(f"/inspections/checklists/{new.pk}/", {"name": "信息系统巡检", "items": "数据备份\n机房环境"})
    assert r.status_code == 302
    assert [i.label for i in new.items.all()] == ["数据备份", "机房环境"] and not InspectionChecklist.objects.get(
        pk=new.pk).active
    _login(client, org.agent)
    page = client.get("/inspections/checklists/").content.decode()
    assert "信息系统巡检" in page and 'data-testid="checklist-form"' not in page
    assert client.post("/inspections/checklists/", {"name": "x", "items": "a"}).status_code == 403


def test_plan_edit_form_shows_the_next_inspection_date_in_iso_for_the_date_input(client, org, plan):
    """An <input type=date> shows only a yyyy-MM-dd value; the zh-Hans default 2026/11/28 left it blank."""
    InspectionPlan.objects.filter(pk=plan.pk).update(next_due=dt.date(2026, 11, 28))
    _login(client, org.manager)
    html = client.get(f"/inspections/plans/{plan.pk}/edit/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in html.lower() or "巡检" in html
    assert 'type="date"' in html and 'value="2026-11-28"' in html and "2026/11/28" not in html


def test_report_form_performed_at_renders_for_datetime_local(client, org, visit):
    _login(client, org.rep)
    html = client.get(f"/inspections/visits/{visit.pk}/report/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    today = timezone.localdate().isoformat()
    assert 'type="datetime-local"' in html and f'value="{today}T' in html
