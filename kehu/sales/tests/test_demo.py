"""The pipeline demo: a sales office's month — opportunities won and lost, deals whose deposits finance recorded,
contracts signed, an overdue instalment with its dunning notice and a breach case; loading twice changes nothing."""

from __future__ import annotations

import random

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.sales.demo import demo_load
from kehu.sales.models import BreachCase, Deal, DealPayment, DevelopmentPlan, DunningNotice, Opportunity

pytestmark = pytest.mark.django_db


def test_demo_loads_a_sales_offices_month_and_is_idempotent(org):
    for i, key in enumerate(("rep", "rep2", "north_rep") * 4):
        org_customer(getattr(org, key), f"演示客户{i}贸易有限公司", serial=100 + i)
    users = {k: getattr(org, k) for k in ("admin", "executive", "manager", "rep", "rep2", "north_rep", "finance")}
    out = demo_load(users=users, rng=random.Random(30))
    assert out.startswith("sales: 2 development plans, 30 opportunities (3 won, 6 lost)")
    assert Opportunity.objects.filter(outcome="lost", lost_reason__isnull=False).count() == 6
    assert Deal.objects.filter(stage="signed").count() == 3
    assert set(DealPayment.objects.values_list("recorded_by__username", flat=True)) == {"finance"}
    assert DunningNotice.objects.filter(rep__isnull=False).count() >= 1
    assert BreachCase.objects.filter(state="open").count() == 1
    assert DevelopmentPlan.objects.filter(state="submitted").count() == 1
    assert demo_load(users=users, rng=random.Random(30)).endswith("already there")
