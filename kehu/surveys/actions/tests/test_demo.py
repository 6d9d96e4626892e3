"""The survey demo: last year's survey closed with its results, a report and an action plan (two items done,
one cancelled, the home visits overdue on the account manager's workbench); this year's compared with it."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from kehu.customers.tests.factories import contact, org_customer
from kehu.surveys.actions.models import FollowUp, SurveyReport
from kehu.surveys.demo import demo_load
from kehu.surveys.models import Campaign
from kehu.surveys.tests.conftest import consent

pytestmark = pytest.mark.django_db


def test_demo_has_last_years_report_and_action_plan(org):
    from kehu.surveys.actions.workbench import survey_action_todos

    for i, key in enumerate(("rep", "rep2") * 4):
        c = org_customer(getattr(org, key), f"演示满意度客户{i}化工有限公司", serial=200 + i)
        consent(getattr(org, key), c, contact(getattr(org, key), c, f"联系人{i}"))
    users = {"ceo": org.executive, "manager": org.manager, "rep": org.rep}
    out = demo_load(users=users, rng=random.Random(7))
    assert "a report and an action plan of 4 items" in out
    last = Campaign.objects.get(stage="closed")
    report = SurveyReport.objects.get(campaign=last)
    assert report.figures["responded"] == 8 and report.figures["nps"]["n"] == 8
    assert report.generated_at < timezone.now() - dt.timedelta(days=300)
    assert sorted(last.action_items.values_list("status", flat=True)) == [
        "cancelled",
        "done",
        "done",
        "in_progress",
    ]
    assert not FollowUp.objects.filter(campaign=last, status="open").exists()
    this = Campaign.objects.get(previous=last)
    assert this.stage == "fieldwork"
    todos = survey_action_todos(org.rep, today=timezone.localdate(), now=timezone.now(), limit=10)
    assert [t.state for t in todos] == ["overdue"] and "回访" in todos[0].title
