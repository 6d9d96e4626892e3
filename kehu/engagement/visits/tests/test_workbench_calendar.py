"""Visits on the workbench (my visits due, the authorisations awaiting a leader, suggestions to answer, the
year's completion and overdue figures) and on the personal calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.engagement.calendar import calendar_providers
from kehu.engagement.visits import services, workbench
from kehu.engagement.visits.models import ScheduledVisit
from kehu.engagement.visits.tests.conftest import report_data

pytestmark = pytest.mark.django_db


def test_workbench_todos_and_figures(org, book, plan):
    now = timezone.now()
    today = dt.date(2026, 3, 10)
    key = services.visit_add(actor=org.rep, plan_id=plan.pk, data={
        "customer": book["huaxing"].pk, "planned_on": "2026-03-12", "is_return_visit": True})
    todos = workbench.visit_todos(org.rep, today=today, now=now, limit=50)
    assert todos and all(t.kind == "visit" for t in todos)
    assert any(t.url.endswith(f"/visits/scheduled/{key.pk}/") for t in todos)
    mgr = workbench.visit_todos(org.manager, today=today, now=now, limit=50)
    assert [t.kind for t in mgr] == ["visit_authorisation"]
    assert workbench.visit_todos(org.north_manager, today=today, now=now, limit=50) == []
    assert workbench.visit_todos(org.finance, today=today, now=now, limit=50) == []
    first = ScheduledVisit.objects.filter(plan=plan, customer=book["dongfang"]).order_by("planned_on").first()
    services.report_file(actor=org.rep, visit_id=first.pk, data=report_data(
        suggestions=[{"topic": "delivery", "text": "希望缩短交货期"}]))
    s = workbench.suggestion_todos(org.manager, today=today, now=now, limit=10)
    assert [t.kind for t in s] == ["visit_suggestion"]
    assert workbench.suggestion_todos(org.rep, today=today, now=now, limit=10) == []
    due = ScheduledVisit.objects.filter(owner=org.rep, planned_on__lte=today).exclude(state="cancelled").count()
    overdue = ScheduledVisit.objects.filter(owner=org.rep, planned_on__lt=today, state="scheduled").count()
    figure = workbench.visit_completion(org.rep, today=today, now=now)
    assert figure.value == round(100.0 / due, 1) and figure.unit == "%"
    assert workbench.overdue_visits(org.rep, today=today, now=now).value == overdue
    assert workbench.visit_completion(org.finance, today=today, now=now) is None


def test_calendar_shows_my_scheduled_visits_as_all_day_events(org, book, plan):
    provider = next(p for p in calendar_providers() if p.key == "visit")
    events = provider.fn(org.rep, start=dt.date(2026, 1, 1), end=dt.date(2026, 4, 1))
    expected = ScheduledVisit.objects.filter(owner=org.rep, planned_on__lt=dt.date(2026, 4, 1)).count()
    assert len(events) == expected and all(isinstance(e.start, dt.date) and e.kind == "visit" for e in events)
    assert len({e.uid for e in events}) == expected
    assert provider.fn(org.rep2, start=dt.date(2026, 1, 1), end=dt.date(2026, 4, 1)) == []
    assert provider.fn(org.finance, start=dt.date(2026, 1, 1), end=dt.date(2026, 4, 1)) == []
