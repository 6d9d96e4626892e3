"""Annual visit plans (年度客户走访计划, 004 第十一条(一)): generated from the grade's visit frequency (or the
default), on working days, editable (move, add, cancel with a reason), submitted and approved by a manager."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.audit.models import AuditEntry
from kehu.engagement.visits import rules, selectors, services
from kehu.engagement.visits.models import PlanEvent, PlanState, ScheduledVisit, VisitState
from kehu.engagement.visits.tests.conftest import START, YEAR
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.workdays.selectors import calendar_get

pytestmark = pytest.mark.django_db


def _counts(plan):
    out = {}
    for v in ScheduledVisit.objects.filter(plan=plan).select_related("customer"):
        out[v.customer.name] = out.get(v.customer.name, 0) + 1
    return out


def test_grade_a_visited_12_times_a_year_ungraded_by_the_default_and_c_by_the_settings_table(org, book, plan):
    assert _counts(plan) == {"浙江华星石化有限公司": 12, "上海东方贸易有限公司": 4, "杭州平常化工有限公司": 4}
    assert plan.state == PlanState.DRAFT and plan.owner == org.rep and plan.department == org.depts["east"]
    assert AuditEntry.objects.filter(action="visit_plan.generate", object_id=str(plan.pk)).count() == 1


def test_every_generated_visit_falls_on_a_working_day_of_the_year(org, book, plan):
    cal = calendar_get()
    days = list(ScheduledVisit.objects.filter(plan=plan).values_list("planned_on", flat=True))
    assert days and all(cal.is_working_day(d) and d.year == YEAR for d in days)
    # 国庆 and 春节 are statutory holidays: no visit there.
    assert not any(dt.date(2026, 10, 1) <= d <= dt.date(2026, 10, 7) for d in days)


def test_a_customers_visits_are_evenly_apart(org, book, plan):
    days = sorted(ScheduledVisit.objects.filter(plan=plan, customer=book["huaxing"]).values_list("planned_on",
                                                                                                  flat=True))
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
    assert all(20 <= g <= 45 for g in gaps), gaps


def test_settings_frequency_by_grade_and_default_are_used(org, book, settings):
    settings.KEHU_VISITS = {**settings.KEHU_VISITS, "default_per_year": 2, "frequency_by_grade": {"C": 6}}
    plan = services.plan_generate(actor=org.rep, year=YEAR, start=START)
    assert _counts(plan) == {"浙江华星石化有限公司": 12, "上海东方贸易有限公司": 2, "杭州平常化工有限公司": 6}


def test_visits_per_year_rule():
    class Level:
        def __init__(self, every, grade="X"):
            self.visit_every_days, self.grade = every, grade

    conf = rules.config()
    assert rules.visits_per_year(Level(30), conf) == 12
    assert rules.visits_per_year(Level(14), conf) == 26
    assert rules.visits_per_year(Level(90), conf) == 4
    assert rules.visits_per_year(Level(None, "A"), conf) == conf["frequency_by_grade"]["A"]
    assert rules.visits_per_year(None, conf) == conf["default_per_year"]
    assert rules.visits_per_year(Level(1), conf) == conf["max_visits_per_customer"]


def test_generating_mid_year_plans_from_the_start_only(org, book):
    plan = services.plan_generate(actor=org.rep, year=YEAR, start=dt.date(2026, 7, 1))
    assert ScheduledVisit.objects.filter(plan=plan, planned_on__lt=dt.date(2026, 7, 1)).count() == 0
    assert _counts(plan)["浙江华星石化有限公司"] == 12


def test_regenerating_a_draft_keeps_done_and_added_visits(org, book, plan):
    first = ScheduledVisit.objects.filter(plan=plan).order_by("planned_on").first()
    ScheduledVisit.objects.filter(pk=first.pk).update(state=VisitState.DONE, done_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    services.visit_add(actor=org.rep, plan_id=plan.pk, data={"customer": book["dongfang"].pk,
                                                             "planned_on": "2026-06-15", "purpose": "新品介绍"})
    services.plan_generate(actor=org.rep, year=YEAR, start=START)
    assert ScheduledVisit.objects.filter(pk=first.pk, state=VisitState.DONE).exists()
    assert ScheduledVisit.objects.filter(plan=plan, source="added").count() == 1
    # the done visit's (customer, day) is not planned twice
    assert ScheduledVisit.objects.filter(plan=plan, customer=first.customer, planned_on=first.planned_on).count() == 1


def test_a_rep_generates_only_their_own_plan_a_manager_for_reps_in_scope(org, book):
    with pytest.raises(NotFound):  # another rep is outside an account manager's scope
        services.plan_generate(actor=org.rep, year=YEAR, owner_id=org.rep2.pk, start=START)
    with pytest.raises(NotFound):
        services.plan_generate(actor=org.manager, year=YEAR, owner_id=org.north_rep.pk, start=START)
    plan = services.plan_generate(actor=org.manager, year=YEAR, owner_id=org.rep2.pk, start=START)
    assert plan.owner == org.rep2 and _counts(plan) == {"宁波甬兴塑料有限公司": 4}
    with pytest.raises(Forbidden):
        services.plan_generate(actor=org.finance, year=YEAR, start=START)


def test_bad_year_is_refused_and_nothing_written(org, book):
    with pytest.raises(Invalid):
        services.plan_generate(actor=org.rep, year=1999)
    assert not ScheduledVisit.objects.exists()


def test_plan_state_machine_submit_approve_return_with_history(org, book, plan):
    services.plan_submit(actor=org.rep, plan_id=plan.pk)
    with pytest.raises(Conflict):  # waiting for approval: no edits
        services.visit_add(actor=org.rep, plan_id=plan.pk, data={"customer": book["dongfang"].pk,
                                                                 "planned_on": "2026-06-15"})
    with pytest.raises(Forbidden):
        services.plan_approve(actor=org.rep, plan_id=plan.pk)
    with pytest.raises(NotFound):  # 华北区's manager does not see 华东区's plan
        services.plan_approve(actor=org.north_manager, plan_id=plan.pk)
    plan = services.plan_approve(actor=org.manager, plan_id=plan.pk)
    assert plan.state == PlanState.APPROVED and plan.approved_by == org.manager
    with pytest.raises(Conflict):
        services.plan_approve(actor=org.manager, plan_id=plan.pk)
    with pytest.raises(Invalid):
        services.plan_return(actor=org.manager, plan_id=plan.pk, note="")
    plan = services.plan_return(actor=org.manager, plan_id=plan.pk, note="请补充重点客户回访")
    assert plan.state == PlanState.DRAFT and plan.approved_at is None
    assert list(PlanEvent.objects.filter(plan=plan).order_by("id").values_list("action", flat=True)) == [
        "create", "generate", "submit", "approve", "return"]


def test_move_add_and_cancel_with_reason(org, book, plan):
    visit = ScheduledVisit.objects.filter(plan=plan).order_by("planned_on").first()
    with pytest.raises(Invalid):  # a Saturday
        services.visit_move(actor=org.rep, visit_id=visit.pk, planned_on="2026-03-07")
    with pytest.raises(Invalid):  # another year
        services.visit_move(actor=org.rep, visit_id=visit.pk, planned_on="2027-03-08")
    moved = services.visit_move(actor=org.rep, visit_id=visit.pk, planned_on="2026-03-09", reason="客户出差")
    assert moved.planned_on == dt.date(2026, 3, 9)
    with pytest.raises(Invalid):
        services.visit_cancel(actor=org.rep, visit_id=visit.pk, reason="  ")
    assert ScheduledVisit.objects.get(pk=visit.pk).state == VisitState.SCHEDULED
    cancelled = services.visit_cancel(actor=org.rep, visit_id=visit.pk, reason="客户停产检修")
    assert cancelled.state == VisitState.CANCELLED and cancelled.cancel_reason == "客户停产检修"
    with pytest.raises(Conflict):
        services.visit_move(actor=org.rep, visit_id=visit.pk, planned_on="2026-03-10")
    with pytest.raises(Invalid):  # a customer outside the rep's scope
        services.visit_add(actor=org.rep, plan_id=plan.pk, data={"customer": book["north"].pk,
                                                                 "planned_on": "2026-06-15"})
    with pytest.raises(NotFound):  # another rep's visit does not exist for 刘洋
        services.visit_move(actor=org.rep2, visit_id=visit.pk, planned_on="2026-03-10")


def test_overdue_is_a_scheduled_visit_whose_day_has_passed(org, book, plan, settings):
    today = dt.date(2026, 3, 10)
    overdue = set(selectors.visit_list(actor=org.rep, overdue=True, today=today, limit=200).items)
    assert overdue and all(v.planned_on < today and v.state == "scheduled" for v in overdue)
    expected = ScheduledVisit.objects.filter(plan=plan, planned_on__lt=today).count()
    assert len(overdue) == expected
    done = next(iter(overdue))
    ScheduledVisit.objects.filter(pk=done.pk).update(state="done", done_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    assert len(selectors.visit_list(actor=org.rep, overdue=True, today=today, limit=200).items) == expected - 1
    # a grace of working days: a visit planned yesterday is not overdue yet
    settings.KEHU_VISITS = {**settings.KEHU_VISITS, "overdue_grace_working_days": 2}
    assert selectors.overdue_cutoff(today) == calendar_get().add_working_days(today, -2)
    late = selectors.visit_list(actor=org.rep, overdue=True, today=today, limit=200).items
    assert all(v.planned_on < selectors.overdue_cutoff(today) for v in late)


def test_completion_per_rep_and_department(org, book, plan):
    services.plan_generate(actor=org.manager, year=YEAR, owner_id=org.rep2.pk, start=START)
    today = dt.date(2026, 6, 30)
    due = list(ScheduledVisit.objects.filter(plan=plan, planned_on__lte=today).order_by("planned_on"))
    for v in due[:5]:
        ScheduledVisit.objects.filter(pk=v.pk).update(state="done", done_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    rows = {r["name"]: r for r in selectors.completion(actor=org.manager, year=YEAR, today=today, by="owner")}
    assert rows["张伟"]["done"] == 5 and rows["张伟"]["due"] == len(due)
    assert rows["张伟"]["rate"] == round(500 / len(due), 1)
    assert rows["刘洋"]["done"] == 0
    depts = selectors.completion(actor=org.manager, year=YEAR, today=today, by="department")
    assert [d["name"] for d in depts] == ["华东区"] and depts[0]["done"] == 5
    # the rep sees only their own row
    assert [r["name"] for r in selectors.completion(actor=org.rep, year=YEAR, today=today)] == ["张伟"]


def test_reminders_once_per_visit_before_its_day(org, book, plan, django_capture_on_commit_callbacks):
    from kehu.notifications.models import Notification

    first = ScheduledVisit.objects.filter(plan=plan).order_by("planned_on").first()
    day_before = calendar_get().add_working_days(first.planned_on, -1)
    with django_capture_on_commit_callbacks(execute=True):
        n = services.visits_remind(today=day_before)
    assert n >= 1
    assert ScheduledVisit.objects.get(pk=first.pk).reminded_at is not None
    assert services.visits_remind(today=day_before) == 0
    assert Notification.objects.filter(user=org.rep).count() >= 1


def test_a_manager_generates_the_plans_of_every_rep_in_scope_at_once(org, book):
    plans = services.plans_generate_company(actor=org.manager, year=YEAR, start=START,
                                            owner_ids=[org.rep.pk, org.rep2.pk, org.north_rep.pk])
    assert sorted(p.owner.username for p in plans) == ["rep", "rep2"]  # 华北区 is outside 李经理's scope
    assert ScheduledVisit.objects.filter(owner=org.rep).count() == 20
    assert ScheduledVisit.objects.filter(owner=org.rep2).count() == 4
    assert AuditEntry.objects.filter(action="visit_plan.generate").count() == 2
    with pytest.raises(Forbidden):
        services.plans_generate_company(actor=org.rep, year=YEAR, owner_ids=[org.rep.pk])
    # again: the drafts are regenerated, not doubled
    services.plans_generate_company(actor=org.manager, year=YEAR, start=START, owner_ids=[org.rep.pk])
    assert ScheduledVisit.objects.filter(owner=org.rep).count() == 20
