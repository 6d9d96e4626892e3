"""Demo data of resource allocation, loaded after the orders and grading demos: a few of the demo company's
polyolefin buyers act as exclusive agents (独家代理), dealers (经销商) and direct customers (直销) of 聚乙烯 PE
— chosen by the channel of their orders —, with monthly plans near what they actually took over the last
four months and for this month; last month's round is confirmed with supply short of the plans (so the
dealers share what the agents left), and this month's round is a computed draft to look at."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from kehu.grading.allocation import services
from kehu.grading.allocation.inputs import month_add
from kehu.grading.allocation.models import AllocationRound, SalesPlan
from kehu.orders.models import Order

LINE = "聚乙烯 PE"
PICK = {"agent": ("exclusive_agent", 5), "dealer": ("dealer", 6), "direct": ("direct", 2)}
SHORT = Decimal("0.85")  # last month's supply as a share of the plans


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if SalesPlan.objects.exists():
        return "allocation: demo plans already there"
    today = today or timezone.localdate()
    admin = users["admin"]
    this_month = today.replace(day=1)
    months = [month_add(this_month, -k) for k in (4, 3, 2, 1)]
    rows = (Order.objects.filter(product_line=LINE, order_date__gte=months[0], order_date__lt=this_month,
                                 customer__deleted_at__isnull=True, quantity_t__isnull=False)
            .values("customer_id", "channel").annotate(t=Sum("quantity_t")).order_by("-t", "customer_id"))
    chosen: dict[int, tuple[str, Decimal]] = {}
    counts = dict.fromkeys(PICK, 0)
    for row in rows:
        kind = PICK.get(row["channel"])
        if kind is None or row["customer_id"] in chosen or counts[row["channel"]] >= kind[1]:
            continue
        counts[row["channel"]] += 1
        chosen[row["customer_id"]] = (kind[0], Decimal(row["t"]) / len(months))
    if not chosen:
        return "allocation: no polyolefin buyers to plan for"
    plans = 0
    for month in (*months, this_month):
        for cid, (ptype, monthly) in chosen.items():
            quantity = (monthly * Decimal(str(rng.uniform(0.95, 1.35)))).quantize(Decimal("10"))
            capacity = (quantity * Decimal("0.9")).quantize(Decimal("10")) if rng.random() < 0.2 else None
            services.plan_create(actor=admin, data={
                "customer": cid, "month": month, "product_line": LINE, "participant_type": ptype,
                "quantity_t": max(quantity, Decimal("10")), "capacity_t": capacity,
                "pickup_note": rng.choice(["每周二、周五", "每周一", "月初、月中各一次", "按周均衡提货"])})
            plans += 1
    last = months[-1]
    planned = sum(SalesPlan.objects.filter(month=last, product_line=LINE).values_list("quantity_t", flat=True))
    rnd = services.round_create(actor=admin, data={
        "month": last, "product_line": LINE, "available_t": (planned * SHORT).quantize(Decimal("1")),
        "note": "演示：本月资源量少于计划，先保直销、独家代理，经销商按评分分配"})
    services.round_compute(actor=admin, round_id=rnd.pk)
    services.round_confirm(actor=admin, round_id=rnd.pk)
    planned_now = sum(SalesPlan.objects.filter(month=this_month, product_line=LINE).values_list("quantity_t",
                                                                                                flat=True))
    draft = services.round_create(actor=admin, data={
        "month": this_month, "product_line": LINE, "available_t": (planned_now * Decimal("0.95")).quantize(
            Decimal("1")), "note": "演示：草稿，可调整资源量和权重后重新计算"})
    services.round_compute(actor=admin, round_id=draft.pk)
    return (f"allocation: {plans} monthly plans of {len(chosen)} participants, "
            f"{AllocationRound.objects.count()} rounds (last month confirmed)")
