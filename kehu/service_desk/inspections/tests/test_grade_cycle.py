"""The inspection cycle from the customer's grade (客户分级 → 差异化服务, 000 2.2; REQUIREMENTS §5 巡检 "cycle per
customer importance"): the grade's service policy sets the default cycle, the hand-set importance is the
fallback of an ungraded customer, a plan without an explicit cycle follows the grade when it changes (from
its next inspection), and the pages say where a cycle comes from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.service_desk.inspections import services
from kehu.service_desk.inspections.models import InspectionVisit
from kehu.service_desk.inspections.tests.conftest import answers
from kehu.service_desk.tests.grading import grade, service

pytestmark = pytest.mark.django_db


def _plan(org, customer, checklist, **data):
    return services.plan_create(actor=org.admin, data={"customer": customer.pk, "checklist": checklist.pk,
                                                       "inspector": org.rep.pk, "importance": "normal", **data})


@pytest.fixture
def core(east_customer):
    grade(east_customer, "核心")
    service("核心", inspection_cycle_days=30, response_priority=1)
    service("重点", inspection_cycle_days=60, response_priority=2)
    return east_customer


def test_the_grade_sets_the_default_cycle_and_importance_is_the_fallback(org, core, north_customer, checklist):
    graded = _plan(org, core, checklist)
    assert (graded.cycle_length, graded.cycle_unit, graded.cycle_source) == (30, "day", "grade")
    ungraded = services.plan_create(actor=org.admin, data={
        "customer": north_customer.pk, "checklist": checklist.pk, "inspector": org.north_rep.pk,
        "importance": "important"})
    assert (ungraded.cycle_length, ungraded.cycle_source) == (90, "importance")


def test_a_grade_without_an_inspection_cycle_leaves_the_importance_default(org, east_customer, checklist):
    grade(east_customer, "普通")
    service("普通", complaint_sla_working_days=2)
    plan = _plan(org, east_customer, checklist, importance="key")
    assert (plan.cycle_length, plan.cycle_source) == (30, "importance")


def test_an_explicit_cycle_is_kept_when_the_grade_changes(org, core, checklist):
    plan = _plan(org, core, checklist, cycle_length=2, cycle_unit="week")
    assert plan.cycle_source == "set"
    grade(core, "重点")
    plan = services.plan_update(actor=org.admin, plan_id=plan.pk, data={"note": "换人"})
    assert (plan.cycle_length, plan.cycle_unit, plan.cycle_source) == (2, "week", "set")


def test_a_plan_following_the_grade_takes_the_new_cycle_at_its_next_inspection(org, core, checklist):
    plan = _plan(org, core, checklist, next_due=timezone.localdate() + dt.timedelta(days=3))
    grade(core, "重点")  # regraded: 60 days from now on
    plan.refresh_from_db()
    assert plan.cycle_length == 30  # the date already planned is not moved
    listed = services.with_default_cycles([plan])[0]
    assert listed.cycle_changes and listed.default_cycle.length == 60 and listed.default_cycle.grade == "重点"
    services.visits_generate()
    visit = InspectionVisit.objects.get(plan=plan)
    performed = timezone.now()
    services.visit_report(actor=org.rep, visit_id=visit.pk, data={
        "results": answers(plan.checklist), "findings": "正常", "signed_by": "王工", "performed_at": performed})
    plan.refresh_from_db()
    assert (plan.cycle_length, plan.cycle_source) == (60, "grade")
    assert plan.next_due == timezone.localdate(performed) + dt.timedelta(days=60)
    entry = AuditEntry.objects.get(action="inspection.visit_report", object_id=str(visit.pk))
    assert entry.changes["plan_cycle"] == ["30 day", "60 day"]


def test_a_plan_following_the_importance_takes_the_grade_once_the_customer_is_graded(org, east_customer,
                                                                                      checklist):
    plan = _plan(org, east_customer, checklist, importance="important")
    assert (plan.cycle_length, plan.cycle_source) == (90, "importance")
    grade(east_customer, "核心")
    service("核心", inspection_cycle_days=30)
    plan = services.plan_update(actor=org.admin, plan_id=plan.pk, data={"inspector": org.rep2.pk})
    assert (plan.cycle_length, plan.cycle_source) == (30, "grade")


def test_changing_importance_of_an_ungraded_plan_keeps_the_old_rule(org, plan):
    """Without a grade the importance still chooses the cycle (the behaviour before grading)."""
    plan = services.plan_update(actor=org.manager, plan_id=plan.pk, data={"importance": "important"})
    assert (plan.cycle_length, plan.cycle_source) == (90, "importance")


def test_a_hand_set_plan_can_follow_the_default_again(org, core, checklist):
    plan = _plan(org, core, checklist, cycle_length=10)
    plan = services.plan_update(actor=org.admin, plan_id=plan.pk, data={"cycle_default": True})
    assert (plan.cycle_length, plan.cycle_source) == (30, "grade")


def test_plan_pages_say_where_the_cycle_comes_from(org, core, checklist, client):
    plan = _plan(org, core, checklist)
    client.force_login(org.admin)
    body = client.get("/inspections/plans/", {"customer": core.pk}).content.decode()
    assert 'data-source="grade"' in body and "核心" in body
    grade(core, "重点")
    body = client.get("/inspections/plans/", {"customer": core.pk}).content.decode()
    assert 'data-testid="cycle-next"' in body and "60" in body
    body = client.get(f"/inspections/plans/{plan.pk}/edit/").content.decode()
    assert 'data-testid="grade-cycle"' in body and 'name="cycle_length"' in body
    body = client.get("/inspections/plans/new/", {"customer": core.pk}).content.decode()
    assert 'data-testid="grade-cycle"' in body and "60" in body
    # saving the edit form with "Every" empty keeps following the grade: now 60 days
    r = client.post(f"/inspections/plans/{plan.pk}/edit/", {
        "checklist": checklist.pk, "importance": "normal", "cycle_unit": "day", "inspector": org.rep.pk,
        "next_due": plan.next_due.isoformat()})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert (plan.cycle_length, plan.cycle_source) == (60, "grade")


def test_api_plan_shows_its_cycle_source(org, core, checklist, api_client):
    r = api_client.as_user(org.admin).post("/inspection-plans", {
        "customer": core.pk, "checklist": checklist.pk, "inspector": org.rep.pk})
    assert r.status_code == 201, r.content
    assert (r.json()["cycle_length"], r.json()["cycle_source"]) == (30, "grade")
