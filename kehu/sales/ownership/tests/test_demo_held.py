"""The ownership demo inside a company whose reps already hold the most they may (make run's 2,000 customers
give each demo rep about 400 against the default maximum of 300): it must still load, the lapsed customer
claimed by the rep with room in their book."""

from __future__ import annotations

import random

import pytest

from kehu.customers.models import Customer
from kehu.customers.tests.factories import org_customer
from kehu.sales.ownership.models import PoolMove

pytestmark = pytest.mark.django_db


def test_demo_claims_with_the_smallest_book_when_the_others_are_full(org, policy, settings):
    from kehu.sales.ownership.demo import demo_load

    for i in range(6):
        org_customer(org.rep, f"杭州演示客户{i}号有限公司")
    for i in range(3):
        org_customer(org.rep2, f"宁波满额客户{i}号有限公司")
    full = Customer.objects.filter(owner=org.rep2, deleted_at__isnull=True).count()
    settings.KEHU_OWNERSHIP = {**settings.KEHU_OWNERSHIP, "max_held": full}  # 刘洋 holds the maximum
    users = {"admin": org.admin, "manager": org.manager, "north_manager": org.north_manager, "rep": org.rep,
             "rep2": org.rep2, "north_rep": org.north_rep}
    summary = demo_load(users=users, rng=random.Random(31))
    assert "1 claimed" in summary, summary
    claim = PoolMove.objects.get(kind="claim")
    assert claim.rep_id != org.rep2.pk
