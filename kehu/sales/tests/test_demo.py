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


def test_demo_office_month_walk_ins_registered_then_deals_deposits_by_finance_and_splits(org):
    """With the desk's month loaded first (reception demo), the walk-ins marked registered become their receiving
    reps' customers through the registration, some of them get deals whose deposits finance records, the signed
    ones are split — a couple registered separately by two reps shares the commission."""
    from kehu.sales.commissions.models import DealSplit
    from kehu.sales.ownership.models import Registration
    from kehu.sales.reception.demo import demo_load as reception_demo
    from kehu.sales.reception.models import RegisterEntry

    for i, key in enumerate(("rep", "rep2", "north_rep") * 4):
        org_customer(getattr(org, key), f"演示客户{i}贸易有限公司", serial=100 + i)
    users = {k: getattr(org, k) for k in ("admin", "executive", "manager", "rep", "rep2", "north_rep", "finance")}
    reception_demo(users=users, rng=random.Random(32), days=8)
    out = demo_load(users=users, rng=random.Random(30))
    assert "walk-ins registered by their reps" in out
    registered = RegisterEntry.objects.filter(kind="walk_in", outcome__in=("registered", "deposit"),
                                              customer__isnull=False)
    assert registered.count() >= 5
    for entry in registered.select_related("customer"):
        assert entry.customer.owner_id == entry.rep_id or Registration.objects.filter(
            customer=entry.customer, rep=entry.rep).exists()
    office = Deal.objects.filter(customer__kind="person")
    assert office.count() >= 4
    assert set(DealPayment.objects.filter(deal__in=office).values_list("recorded_by__username", flat=True)) == {
        "finance"}
    signed = office.filter(stage="signed")
    assert signed.exists() and DealSplit.objects.filter(deal__in=signed, current=True).count() == signed.count()
    assert DealSplit.objects.filter(deal__in=signed, rule="spouses").count() == 1
