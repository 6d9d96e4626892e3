"""The visits demo: this year's plans of the demo reps, visits done through the year with a few overdue,
reports with their suggestions, executive visits; loading twice changes nothing."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from kehu.engagement.visits.demo import demo_load
from kehu.engagement.visits.models import ExecutiveVisit, ScheduledVisit, VisitPlan, VisitReport

pytestmark = pytest.mark.django_db


def test_demo_loads_a_year_of_visits_and_is_idempotent(org, book):
    users = {k: getattr(org, k) for k in ("admin", "executive", "manager", "rep", "rep2", "north_rep")}
    out = demo_load(users=users, rng=random.Random(7))
    assert out.startswith("visits: 3 plans")
    today = timezone.localdate()
    assert set(VisitPlan.objects.values_list("year", flat=True)) == {today.year}
    past = ScheduledVisit.objects.filter(planned_on__lt=today)
    assert past.filter(state="done").count() > past.filter(state="scheduled").count()
    assert VisitReport.objects.exists() and ExecutiveVisit.objects.exists()
    assert dict(VisitPlan.objects.values_list("owner__username", "state"))["rep"] == "approved"
    assert demo_load(users=users, rng=random.Random(7)).endswith("already there")
