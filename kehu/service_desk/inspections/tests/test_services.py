"""Scheduled inspections (巡检), REQUIREMENTS §5: cycle per customer importance, checklist content,
report; generated visits; overdue inspections flagged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.notifications.models import Notification
from kehu.service_desk.inspections import cycles, services
from kehu.service_desk.inspections.models import InspectionPlan, InspectionReport, InspectionVisit, VisitState
from kehu.service_desk.inspections.tests.conftest import ITEMS, answers

pytestmark = pytest.mark.django_db


def _plan(org, customer, checklist, **data):
    return services.plan_create(actor=org.admin, data={"customer": customer.pk, "checklist": checklist.pk,
                                                       "inspector": org.rep.pk, **data})


# ---------------------------------------------------------------- cycle by importance

@pytest.mark.parametrize(("importance", "days"), [("key", 30), ("important", 90), ("normal", 180)])
def test_default_cycle_follows_customer_importance(org, east_customer, checklist, importance, days):
    plan = _plan(org, east_customer, checklist, importance=importance)
    assert (plan.cycle_length, plan.cycle_unit) == (days, "day")
    assert plan.next_due == timezone.localdate() + dt.timedelta(days=days)


def test_cycle_table_is_a_setting_read_at_call_time(org, east_customer, checklist, settings):
    settings.KEHU_INSPECTION_CYCLE_DAYS = {"key": 7, "important": 60, "normal": 365}
    plan = _plan(org, east_customer, checklist, importance="key")
    assert plan.cycle_length == 7


def test_an_explicit_cycle_overrides_the_default(org, east_customer, checklist):
    plan = _plan(org, east_customer, checklist, importance="normal", cycle_length=2, cycle_unit="month")
    assert (plan.cycle_length, plan.cycle_unit) == (2, "month")


def test_changing_importance_takes_its_default_cycle(org, plan):
    plan = services.plan_update(actor=org.manager, plan_id=plan.pk, data={"importance": "important"})
    assert (plan.cycle_length, plan.cycle_unit) == (90, "day")
    assert AuditEntry.objects.filter(action="inspection.plan_update", object_id=str(plan.pk)).exists()


def test_month_cycle_keeps_the_end_of_month():
    assert cycles.advance(dt.date(2025, 1, 31), 1, "month") == dt.date(2025, 2, 28)
    assert cycles.advance(dt.date(2024, 11, 30), 3, "month") == dt.date(2025, 2, 28)
    assert cycles.advance(dt.date(2025, 3, 1), 2, "week") == dt.date(2025, 3, 15)


def test_one_active_plan_per_customer_and_checklist(org, plan, east_customer, checklist):
    with pytest.raises(Conflict):
        _plan(org, east_customer, checklist)


def test_plan_for_a_customer_outside_scope_is_not_found(org, north_customer, checklist):
    with pytest.raises(NotFound):
        services.plan_create(actor=org.manager, data={"customer": north_customer.pk, "checklist": checklist.pk,
                                                      "inspector": org.rep.pk})
    assert not InspectionPlan.objects.exists()


def test_only_inspection_managers_define_plans_and_checklists(org, east_customer, checklist):
    with pytest.raises(Forbidden):
        services.plan_create(actor=org.rep, data={"customer": east_customer.pk, "checklist": checklist.pk,
                                                  "inspector": org.rep.pk})
    with pytest.raises(Forbidden):
        services.checklist_create(actor=org.agent, data={"name": "x", "items": ["a"]})


def test_inspector_must_handle_service_work(org, east_customer, checklist):
    with pytest.raises(Invalid):
        _plan(org, east_customer, checklist, inspector=org.finance.pk)


# ---------------------------------------------------------------- generation

def _plan_on(org, customer, checklist, day: dt.date):
    """A plan whose next inspection falls on ``day`` (set directly: the service only takes dates
    near today, and these cases are fixed dates of the statutory calendar)."""
    plan = _plan(org, customer, checklist)
    InspectionPlan.objects.filter(pk=plan.pk).update(next_due=day)
    return plan


def test_generation_is_idempotent(org, plan):
    assert services.visits_generate() == 1
    assert services.visits_generate() == 0
    visit = InspectionVisit.objects.get()
    assert (visit.scheduled_date, visit.inspector, visit.customer_id) == (plan.next_due, org.rep, plan.customer_id)
    assert AuditEntry.objects.filter(action="inspection.visit_generate").count() == 1


def test_generation_only_within_the_horizon(org, east_customer, checklist, settings):
    today = timezone.localdate()
    _plan(org, east_customer, checklist, next_due=today + dt.timedelta(days=20))
    assert services.visits_generate(today=today) == 0  # default horizon 14 days
    settings.KEHU_INSPECTION_HORIZON_DAYS = 21
    assert services.visits_generate(today=today) == 1


def test_inactive_plans_generate_nothing(org, plan):
    services.plan_deactivate(actor=org.manager, plan_id=plan.pk, reason="合同到期")
    assert services.visits_generate() == 0


def test_generation_is_batched_with_bounded_queries(org, checklist, django_assert_max_num_queries):
    from kehu.customers.tests.factories import org_customer

    today = timezone.localdate()
    for n in range(30):
        c = org_customer(org.rep, f"宁波第{n}精密机械有限公司")
        _plan(org, c, checklist, next_due=today + dt.timedelta(days=n % 10))
    # 3 batches of 10 plans: a select, an insert and the audit segment (with savepoints) per batch —
    # about 8–9 queries per batch (PostgreSQL adds the audit lock), never per plan — plus the calendar
    # and the final empty select.
    with django_assert_max_num_queries(32):
        assert services.visits_generate(today=today, batch_size=10) == 30
    assert services.visits_generate(today=today, batch_size=10) == 0


def test_due_on_national_day_moves_to_the_previous_working_day(org, east_customer, checklist):
    """2025-10-03 is in the National Day holiday: the deadline is Tuesday 2025-09-30."""
    plan = _plan_on(org, east_customer, checklist, dt.date(2025, 10, 3))
    services.visits_generate(today=dt.date(2025, 9, 25))
    visit = InspectionVisit.objects.get(plan=plan)
    assert (visit.scheduled_date, visit.due_date) == (dt.date(2025, 10, 3), dt.date(2025, 9, 30))


def test_due_on_a_makeup_saturday_stays(org, east_customer, checklist):
    """Saturday 2025-10-11 is a make-up working day (调休): an inspection may fall due on it."""
    plan = _plan_on(org, east_customer, checklist, dt.date(2025, 10, 11))
    services.visits_generate(today=dt.date(2025, 10, 1))
    assert InspectionVisit.objects.get(plan=plan).due_date == dt.date(2025, 10, 11)


def test_due_on_a_sunday_moves_to_friday(org, east_customer, checklist):
    plan = _plan_on(org, east_customer, checklist, dt.date(2025, 6, 15))
    services.visits_generate(today=dt.date(2025, 6, 10))
    assert InspectionVisit.objects.get(plan=plan).due_date == dt.date(2025, 6, 13)


# ---------------------------------------------------------------- report

def _report(checklist, **extra):
    return {"results": answers(checklist), "findings": "设备运行正常，2号机组振动偏大", "suggestions": "建议下月更换轴承",
            "signed_by": "王工", **extra}


def test_report_advances_next_due_from_the_performed_date(org, plan, visit, checklist):
    performed = timezone.now() - dt.timedelta(days=2)
    report = services.visit_report(actor=org.rep, visit_id=visit.pk, data=_report(checklist, performed_at=performed))
    visit.refresh_from_db()
    plan.refresh_from_db()
    assert visit.state == VisitState.DONE and report.issue_count == 0
    assert plan.next_due == timezone.localdate(performed) + dt.timedelta(days=30)
    assert [r["label"] for r in report.results] == ITEMS
    assert AuditEntry.objects.filter(action="inspection.visit_report", object_id=str(visit.pk)).exists()
    # The next round is generated when it comes within the horizon.
    assert services.visits_generate(today=plan.next_due - dt.timedelta(days=3)) == 1


def test_report_counts_issues_and_keeps_notes(org, visit, checklist):
    results = answers(checklist)
    results[2] = {"item": results[2]["item"], "answer": "issue", "note": "配电柜接地线松动"}
    results[4]["answer"] = "na"
    report = services.visit_report(actor=org.rep, visit_id=visit.pk, data=_report(checklist, results=results))
    assert report.issue_count == 1 and report.results[2]["note"] == "配电柜接地线松动"


def test_report_with_every_item_normal_needs_no_findings(org, visit, checklist):
    """发现的问题 is required only when an item is not 正常: a clean round files without it."""
    results = answers(checklist)
    results[4]["answer"] = "na"
    report = services.visit_report(actor=org.rep, visit_id=visit.pk,
                                   data=_report(checklist, results=results, findings="  "))
    assert report.findings == "" and report.issue_count == 0


def test_report_with_an_issue_needs_findings(org, visit, checklist):
    results = answers(checklist)
    results[1].update(answer="issue", note="UPS 电池鼓包")
    with pytest.raises(Invalid) as err:
        services.visit_report(actor=org.rep, visit_id=visit.pk, data=_report(checklist, results=results, findings=""))
    assert list(err.value.fields) == ["findings"]
    _nothing_written(visit)


def _nothing_written(visit):
    visit.refresh_from_db()
    assert visit.state == VisitState.SCHEDULED
    assert not InspectionReport.objects.exists()
    assert not AuditEntry.objects.filter(action="inspection.visit_report").exists()


@pytest.mark.parametrize("case", ["unknown_item", "missing_answer", "issue_without_note", "bad_answer",
                                  "issue_without_findings", "future", "twice"])
def test_report_validation_refuses_and_writes_nothing(org, visit, checklist, case):
    data = _report(checklist)
    if case == "unknown_item":
        data["results"].append({"item": 999999, "answer": "ok"})
    elif case == "missing_answer":
        data["results"] = answers(checklist, skip=1)
    elif case == "issue_without_note":
        data["results"][0]["answer"] = "issue"
    elif case == "bad_answer":
        data["results"][0]["answer"] = "maybe"
    elif case == "issue_without_findings":
        data["results"][0].update(answer="issue", note="配电柜接地线松动")
        data["findings"] = "  "
    elif case == "future":
        data["performed_at"] = timezone.now() + dt.timedelta(days=1)
    elif case == "twice":
        data["results"].append(dict(data["results"][0]))
    with pytest.raises(Invalid) as err:
        services.visit_report(actor=org.rep, visit_id=visit.pk, data=data)
    assert err.value.fields
    _nothing_written(visit)


def test_report_by_a_service_agent_is_allowed(org, visit, checklist):
    services.visit_report(actor=org.agent, visit_id=visit.pk, data=_report(checklist))
    visit.refresh_from_db()
    assert visit.state == VisitState.DONE


def test_report_outside_scope_is_not_found(org, visit, checklist):
    with pytest.raises(NotFound):
        services.visit_report(actor=org.north_rep, visit_id=visit.pk, data=_report(checklist))
    with pytest.raises(NotFound):
        services.visit_report(actor=org.rep2, visit_id=visit.pk, data=_report(checklist))
    _nothing_written(visit)


def test_inspector_sees_and_reports_a_visit_of_another_owners_customer(org, north_customer, checklist):
    """张伟 (华东区) inspects a 华北区 customer: the visit is his to file though the customer is not his."""
    plan = services.plan_create(actor=org.admin, data={"customer": north_customer.pk, "checklist": checklist.pk,
                                                       "inspector": org.rep.pk,
                                                       "next_due": timezone.localdate()})
    visit = services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    services.visit_report(actor=org.rep, visit_id=visit.pk, data=_report(checklist))
    visit.refresh_from_db()
    assert visit.state == VisitState.DONE


def test_a_done_visit_takes_no_second_report(org, visit, checklist):
    services.visit_report(actor=org.rep, visit_id=visit.pk, data=_report(checklist))
    with pytest.raises(Conflict):
        services.visit_report(actor=org.rep, visit_id=visit.pk, data=_report(checklist))


def test_follow_up_notifies_the_customer_owner(org, visit, checklist, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_report(actor=org.agent, visit_id=visit.pk, data=_report(checklist, follow_up_needed=True))
    assert Notification.objects.filter(user=org.rep, title__contains="杭州华星化工").count() == 1


# ---------------------------------------------------------------- cancel / missed / deactivate

def test_cancel_needs_a_reason_and_moves_the_plan_on(org, plan, visit):
    with pytest.raises(Invalid):
        services.visit_cancel(actor=org.manager, visit_id=visit.pk, reason=" ")
    services.visit_cancel(actor=org.manager, visit_id=visit.pk, reason="客户停产检修，改期")
    visit.refresh_from_db()
    plan.refresh_from_db()
    assert visit.state == VisitState.CANCELLED and visit.closed_reason == "客户停产检修，改期"
    assert plan.next_due == visit.scheduled_date + dt.timedelta(days=30)
    with pytest.raises(Conflict):
        services.visit_cancel(actor=org.manager, visit_id=visit.pk, reason="again")


def test_missed_visit_is_recorded_as_missed(org, visit):
    services.visit_cancel(actor=org.manager, visit_id=visit.pk, reason="未能按期巡检", missed=True)
    visit.refresh_from_db()
    assert visit.state == VisitState.MISSED
    assert AuditEntry.objects.filter(action="inspection.visit_missed").exists()


def test_cancel_needs_inspection_management(org, visit):
    with pytest.raises(Forbidden):
        services.visit_cancel(actor=org.rep, visit_id=visit.pk, reason="x")


def test_deactivating_a_plan_cancels_its_open_visit(org, plan, visit):
    services.plan_deactivate(actor=org.manager, plan_id=plan.pk, reason="合同终止")
    visit.refresh_from_db()
    assert visit.state == VisitState.CANCELLED
    with pytest.raises(Conflict):
        services.plan_update(actor=org.manager, plan_id=plan.pk, data={"note": "x"})


def test_moving_the_plan_date_moves_the_open_visit(org, plan, visit):
    new = timezone.localdate() + dt.timedelta(days=40)
    services.plan_update(actor=org.manager, plan_id=plan.pk, data={"next_due": new, "inspector": org.agent.pk})
    visit.refresh_from_db()
    assert visit.scheduled_date == new and visit.inspector == org.agent
    assert visit.due_date == services.due_date_for(new)


# ---------------------------------------------------------------- overdue sweep

def test_overdue_is_flagged_once_and_notified_once(org, east_customer, checklist,
                                                   django_capture_on_commit_callbacks):
    today = timezone.localdate()
    plan = _plan(org, east_customer, checklist, next_due=today - dt.timedelta(days=10))
    visit = services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.visits_overdue_sweep() == {"flagged": 1}
    with django_capture_on_commit_callbacks(execute=True):
        assert services.visits_overdue_sweep() == {"flagged": 0}
    visit.refresh_from_db()
    assert visit.is_overdue
    # The inspector (张伟) and his manager (李经理, 华东区), each once.
    assert sorted(Notification.objects.values_list("user__username", flat=True)) == ["manager", "rep"]
    assert AuditEntry.objects.filter(action="inspection.visit_overdue").count() == 1


def test_a_visit_due_today_is_not_overdue(org, east_customer, checklist):
    plan = _plan(org, east_customer, checklist, next_due=timezone.localdate() + dt.timedelta(days=1))
    services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    InspectionVisit.objects.update(due_date=timezone.localdate())
    assert services.visits_overdue_sweep() == {"flagged": 0}


def test_a_done_visit_is_never_overdue(org, east_customer, checklist):
    plan = _plan(org, east_customer, checklist, next_due=timezone.localdate() - dt.timedelta(days=3))
    visit = services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    services.visit_report(actor=org.rep, visit_id=visit.pk, data=_report(checklist))
    assert services.visits_overdue_sweep() == {"flagged": 0}


def test_periodic_tasks_run_the_services(org, plan):
    from kehu.service_desk.inspections import tasks

    tasks.inspection_visits_generate.call_local()
    assert InspectionVisit.objects.count() == 1
    assert tasks.inspection_overdue_sweep.call_local() == {"flagged": 0}


# ---------------------------------------------------------------- checklists

def test_checklist_update_keeps_items_by_label(org, checklist):
    before = {i.label: i.pk for i in checklist.items.all()}
    services.checklist_update(actor=org.admin, checklist_id=checklist.pk,
                              data={"items": ["安全隐患", "设备运行状态", {"label": "消防设施", "hint": "灭火器有效期"}]})
    after = list(checklist.items.order_by("position"))
    assert [i.label for i in after] == ["安全隐患", "设备运行状态", "消防设施"]
    assert after[0].pk == before["安全隐患"] and after[1].pk == before["设备运行状态"]


def test_checklist_needs_unique_items_and_name(org, checklist):
    with pytest.raises(Invalid):
        services.checklist_create(actor=org.admin, data={"name": "网络巡检", "items": ["交换机", "交换机"]})
    with pytest.raises(Invalid):
        services.checklist_create(actor=org.admin, data={"name": "网络巡检", "items": []})
    with pytest.raises(Conflict):
        services.checklist_create(actor=org.admin, data={"name": "设备巡检", "items": ["a"]})


def test_an_inspector_sees_but_does_not_manage_a_plan_outside_their_scope(org, east_customer, checklist):
    """赵经理 (华北区) inspects a 华东区 customer: he sees the plan and its visit, but changing the plan
    or cancelling the visit is for those whose scope holds the customer."""
    from kehu.service_desk.inspections import selectors

    plan = _plan(org, east_customer, checklist, inspector=org.north_manager.pk,
                 next_due=timezone.localdate() + dt.timedelta(days=2))
    visit = services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    assert selectors.visit_get(actor=org.north_manager, visit_id=visit.pk) == visit
    assert selectors.plan_get(actor=org.north_manager, plan_id=plan.pk) == plan
    with pytest.raises(NotFound):
        services.plan_update(actor=org.north_manager, plan_id=plan.pk, data={"note": "x"})
    with pytest.raises(NotFound):
        services.visit_cancel(actor=org.north_manager, visit_id=visit.pk, reason="x")


def test_many_overdue_visits_make_one_notification_per_person(org, checklist, django_capture_on_commit_callbacks):
    from kehu.customers.tests.factories import org_customer

    for n in range(3):
        c = org_customer(org.rep, f"嘉兴第{n}纺织有限公司")
        plan = _plan(org, c, checklist, next_due=timezone.localdate() - dt.timedelta(days=5))
        services.visit_schedule_next(actor=org.admin, plan_id=plan.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.visits_overdue_sweep() == {"flagged": 3}
    notes = {n.user.username: n for n in Notification.objects.select_related("user")}
    assert sorted(notes) == ["manager", "rep"]
    assert notes["rep"].body.count("纺织有限公司") == 3 and "3" in notes["rep"].title
