"""A month's book of agents and dealers: 华东区's (张伟's) two exclusive agents and a dealer, 华北区's (陈静's)
dealer; plans for 2026-08 … 2026-10 with orders against them, and plans for 2026-11 to allocate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.grading.allocation import services

LINE = "聚乙烯 PE"
MONTH = "2026-11"
PAST = ("2026-08", "2026-09", "2026-10")


def order(actor, customer, day: str, tonnes: str):
    from kehu.orders.services import order_create

    return order_create(actor=actor, customer_id=customer.pk, data={
        "order_date": day, "product_line": LINE, "quantity": tonnes, "unit": "t",
        "amount": str(Decimal(tonnes) * 8000), "channel": "agent"}).order


@pytest.fixture
def book(org):
    c = {
        "华东化工": org_customer(org.rep, "浙江华东化工贸易有限公司", serial=11),
        "甬兴塑料": org_customer(org.rep, "宁波甬兴塑料有限公司", serial=12),
        "苏南经销": org_customer(org.rep2, "苏州苏南化工经销有限公司", serial=13),
        "津北经销": org_customer(org.north_rep, "天津津北石化经销有限公司", serial=14),
    }
    types = {"华东化工": "exclusive_agent", "甬兴塑料": "exclusive_agent", "苏南经销": "dealer", "津北经销": "dealer"}
    past_plan = {"华东化工": "1000", "甬兴塑料": "800", "苏南经销": "500", "津北经销": "400"}
    for month in PAST:
        for key, customer in c.items():
            services.plan_create(actor=org.admin, data={"customer": customer.pk, "month": month, "product_line": LINE,
                                                        "participant_type": types[key], "quantity_t": past_plan[key]})
    # 华东化工 picks up every week (regular, 100 %); 甬兴塑料 once a month (lumpy, 50 %); 苏南经销 twice (80 %);
    # 津北经销 nothing.
    start = dt.date(2026, 8, 3)
    for week in range(13):
        order(org.rep, c["华东化工"], (start + dt.timedelta(days=7 * week)).isoformat(), "230.769")
    for day in ("2026-08-10", "2026-09-10", "2026-10-12"):
        order(org.rep, c["甬兴塑料"], day, "400")
    for day in ("2026-08-05", "2026-09-07", "2026-10-09"):
        order(org.rep2, c["苏南经销"], day, "400")
    plans = {}
    for key, quantity, capacity in (("华东化工", "1200", None), ("甬兴塑料", "1000", "900"),
                                    ("苏南经销", "600", None), ("津北经销", "500", None)):
        plans[key] = services.plan_create(actor=org.admin, data={
            "customer": c[key].pk, "month": MONTH, "product_line": LINE, "participant_type": types[key],
            "quantity_t": quantity, "capacity_t": capacity, "pickup_note": "每周二"})
    return {"customers": c, "plans": plans}
