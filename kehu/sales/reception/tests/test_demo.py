"""The reception demo: a month of roster for 华东区's office, walk-ins and calls from believable sources,
rotation turns and their exceptions, a refusal waiting for the manager today; loading twice changes
nothing."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from kehu.sales.reception.demo import demo_load
from kehu.sales.reception.models import DutyDay, RegisterEntry

DAYS = 6  # the command loads a month; a week tells the same in the suite's budget

pytestmark = pytest.mark.django_db


def test_demo_loads_a_month_of_reception_and_is_idempotent(org):
    users = {k: getattr(org, k) for k in ("admin", "manager", "rep", "rep2")}
    out = demo_load(users=users, rng=random.Random(31), days=DAYS)
    assert out.startswith(f"reception: {DAYS + 1} days of roster for 4 reps")
    today = timezone.localdate()
    assert DutyDay.objects.filter(department=org.manager.department).count() == DAYS + 1
    entries = RegisterEntry.objects.all()
    assert entries.filter(kind="walk_in", counted=True).count() > DAYS * 2
    assert entries.filter(kind="call").exists() and entries.filter(assignment="designated").exists()
    assert entries.filter(day=today, refusal="pending").exists()
    assert entries.values("source").distinct().count() >= 5
    assert demo_load(users=users, rng=random.Random(31), days=DAYS).endswith("already there")
