"""The commissions demo: demo deals signed through the hook and split (company customers with the pool),
an adjustment approved (two versions) and one awaiting approval; loading twice changes nothing."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.sales.commissions.demo import demo_load
from kehu.sales.commissions.models import Adjustment, DealSplit, SplitLine

pytestmark = pytest.mark.django_db


def test_demo_signs_deals_splits_them_and_is_idempotent(org):
    for i, key in enumerate(("rep", "rep", "rep", "rep2", "north_rep")):
        org_customer(getattr(org, key), f"浙江示范化工有限公司{i}", serial=40 + i)
    users = {k: getattr(org, k) for k in ("admin", "manager", "rep", "rep2", "north_rep")}
    users["ceo"] = org.executive
    out = demo_load(users=users, rng=random.Random(33), today=dt.date(2026, 12, 7))
    assert out.startswith("commissions: 5 deals split (5 demo deals signed), 1 adjustment approved")
    rules = list(DealSplit.objects.filter(current=True).values_list("rule", flat=True))
    assert "company_customer" in rules and "company_arranged" in rules and "adjusted" in rules
    assert DealSplit.objects.filter(current=False).count() == 1
    assert Adjustment.objects.filter(status="pending").count() == 1
    for split in DealSplit.objects.all():
        assert sum(ln.amount for ln in SplitLine.objects.filter(split=split)) == split.base
        assert split.base > Decimal("0")
    assert demo_load(users=users, rng=random.Random(33)).endswith("already there")
