"""Demo commissions: the split of every signed demo deal. When the pipeline's demo deals are absent, a dozen
believable supply contracts of the demo account managers' customers are signed last month and this month
(through demo_deal_sign, which announces the win like the pipeline's signing service), two of them declared
company customers (70/30 and 30/70 with the pool); product rates for PE and PP; one adjustment approved
(a 50/50 dispute settled by the manager and the sales director: the deal has two split versions) and one
awaiting the manager's approval."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from kehu.sales.commissions import services
from kehu.sales.commissions.models import Adjustment, DealSplit

REPS = ("rep", "rep2", "north_rep", "south_rep")
PRODUCTS = [("PE-100", "PE100级管材专用料", Decimal("9800")), ("PE-LL", "线性低密度聚乙烯 7042", Decimal("8650")),
            ("PP-T30S", "聚丙烯拉丝料 T30S", Decimal("7900")), ("PP-K8003", "抗冲共聚聚丙烯 K8003", Decimal("8300"))]


def _sign_demo_deals(users, rng, today) -> list:
    from kehu.customers.models import Customer
    from kehu.sales.models import Deal

    first = today.replace(day=1)
    last_month = (first - dt.timedelta(days=1)).replace(day=1)
    deals = []
    for key in REPS:
        rep = users.get(key)
        if rep is None:
            continue
        customers = list(Customer.objects.filter(owner=rep, status="active", deleted_at__isnull=True)
                         .order_by("id")[:3])
        for i, customer in enumerate(customers):
            code, product, price = PRODUCTS[rng.randrange(len(PRODUCTS))]
            tonnes = rng.choice([200, 300, 500, 800, 1000, 1500])
            amount = (price * tonnes).quantize(Decimal("0.01"))
            month = last_month if i == 0 else first
            latest = today if month == first else first - dt.timedelta(days=1)
            signed = min(latest, month + dt.timedelta(days=rng.randint(2, 26)))
            deal = Deal.objects.create(customer=customer, title=f"{product} {tonnes}吨年度供货合同",
                                       object_code=f"{code}-{tonnes}T", amount=amount, rep=rep,
                                       department_id=rep.department_id, created_by=rep)
            deals.append((deal, signed))
    return deals


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    from kehu.sales.models import Deal, DealStage

    if Adjustment.objects.exists():
        return "commissions: demo splits already there"
    today = today or timezone.localdate()
    manager, admin = users["manager"], users["admin"]
    with transaction.atomic():
        services.rate_set(actor=admin, prefix="PE-", name="聚乙烯（PE）", rate_percent="0.800")
        services.rate_set(actor=admin, prefix="PP-", name="聚丙烯（PP）", rate_percent="0.600")
        # the pipeline's demo deals are split by the hook when signed; any signed before are split here
        signed = list(Deal.objects.filter(stage=DealStage.SIGNED).select_related("rep").order_by("pk")[:500])
        for deal in signed:
            services.split_deal(deal, actor=deal.rep)
        created = [] if signed else _sign_demo_deals(users, rng, today)
        east = [(d, on) for d, on in created if d.rep_id in (users["rep"].pk, users["rep2"].pk)]
        if len(east) >= 3:
            services.company_customer_declare(actor=manager, deal_id=east[1][0].pk,
                                              note="集团公司总经理介绍，销售员全程跟进")
            services.company_customer_declare(actor=manager, deal_id=east[2][0].pk, arranged_by_company=True,
                                              note="公司直接安排成交，销售员负责售后跟进")
        for deal, on in created:
            services.demo_deal_sign(actor=deal.rep, deal=deal, signed_on=on)
        adjusted = 0
        # the adjustments go to whichever of 华东区's two reps has closed two deals or more this time
        rep, rep2 = users["rep"], users["rep2"]
        mine = list(DealSplit.objects.filter(current=True, rep=rep).order_by("signed_on", "pk")
                    .values_list("deal_id", flat=True))
        if len(mine) < 2:
            rep, rep2 = rep2, rep
            mine = list(DealSplit.objects.filter(current=True, rep=rep).order_by("signed_on", "pk")
                        .values_list("deal_id", flat=True))
        if len(mine) >= 2:
            from kehu.approvals.models import ApprovalRequest
            from kehu.approvals.services import approval_decide

            adj = services.adjustment_request(
                actor=rep, deal_id=mine[0], reason=f"客户此前由{rep2}接待并登记（建档有效期内），经项目经理协调五五分成",
                lines=[{"user": rep.pk, "share": "50"}, {"user": rep2.pk, "share": "50"}])
            req = ApprovalRequest.objects.get(object_id=str(adj.pk), chain__code=services.ADJUSTMENT_CHAIN)
            for who in (manager, users["ceo"]):
                approval_decide(actor=who, request_id=req.pk, decision="approve", comment="同意")
            services.adjustment_request(
                actor=rep, deal_id=mine[-1], reason="售后手续由客服部跟进较多，申请部分转为公佣",
                lines=[{"user": rep.pk, "share": "80"}, {"user": None, "share": "20"}])
            adjusted = 1
    n = DealSplit.objects.filter(current=True).count()
    return (f"commissions: {n} deals split ({len(created)} demo deals signed), {adjusted} adjustment approved, "
            f"{adjusted} awaiting approval")
