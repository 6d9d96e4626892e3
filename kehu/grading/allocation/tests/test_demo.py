"""The allocation demo plans for the demo company's polyolefin buyers by the channel of their orders and
confirms last month's round."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from kehu.customers.tests.factories import org_customer
from kehu.grading.allocation import demo
from kehu.grading.allocation.models import AllocationRound, AllocationShare, SalesPlan


def test_demo_plans_and_confirms_last_month(org):
    from kehu.orders.services import order_create

    buyers = {"agent": org_customer(org.rep, "杭州临平化工代理有限公司", serial=21),
              "dealer": org_customer(org.rep, "绍兴柯桥塑料经销部", serial=22),
              "direct": org_customer(org.rep, "嘉兴港区薄膜制品有限公司", serial=23)}
    for channel, customer in buyers.items():
        for day in ("2026-08-06", "2026-09-08", "2026-10-07"):
            order_create(actor=org.rep, customer_id=customer.pk, data={
                "order_date": day, "product_line": demo.LINE, "quantity": "300", "unit": "t",
                "amount": "2400000", "channel": channel})
    message = demo.demo_load(users={"admin": org.admin}, rng=random.Random(3), today=dt.date(2026, 11, 15))
    assert "3 participants" in message
    assert dict(SalesPlan.objects.filter(month="2026-11-01").values_list("customer__name", "participant_type")) == {
        "杭州临平化工代理有限公司": "exclusive_agent", "绍兴柯桥塑料经销部": "dealer", "嘉兴港区薄膜制品有限公司": "direct"}
    confirmed = AllocationRound.objects.get(state="confirmed")
    assert confirmed.month == dt.date(2026, 10, 1)
    assert confirmed.total_allocated_t < confirmed.total_plan_t
    dealer = AllocationShare.objects.get(round=confirmed, participant_type="dealer")
    assert dealer.allocated_t < dealer.plan_t  # the dealers share what the others left
    assert AllocationRound.objects.get(state="draft").computed_at is not None
    assert demo.demo_load(users={"admin": org.admin}, rng=random.Random(3)) == "allocation: demo plans already there"
    assert SalesPlan.objects.count() == 15  # 3 participants × (4 months before + this month)
    assert Decimal(0) < confirmed.available_t
