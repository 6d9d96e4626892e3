"""Demo data of the sales pipeline — a sales office's month: the demo's customer sources as prospect-source rows,
the inventory of a residential project (units and parking spaces), competitors, a development plan per region
(华东's approved by the department head and waiting for the managers' meeting), about thirty opportunities through
the funnel (some won, some lost to a competitor), deals with their small and large deposits recorded by finance
(user ``finance``), two contracts signed this month, one signed in the summer whose instalment is overdue (a
dunning notice for 张伟) and one more than two months overdue (a breach case for the manager)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.customers.models import Customer
from kehu.sales import rules, services
from kehu.sales.models import Deal, LostReason, Opportunity, OpportunityStage, SaleObject

REPS = ("rep", "rep2", "north_rep", "south_rep")
DEMO_SOURCES = ["老客户介绍", "展会", "官网咨询", "电话营销", "招投标", "行业协会", "合作伙伴推荐", "上门拜访"]
COMPETITORS = ["绿城中国", "万科杭州公司", "滨江集团"]
PROJECTS = ["年度框架采购", "新厂区配套", "产线改造", "仓储扩容", "办公楼置业", "员工公寓团购", "研发中心租售"]


def _units() -> list[SaleObject]:
    return list(SaleObject.objects.filter(status="available").order_by("code"))


def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if Deal.objects.exists() or Opportunity.objects.exists():
        return "sales: demo pipeline already there"
    today = today or timezone.localdate()
    manager = users["manager"]
    for i, name in enumerate(DEMO_SOURCES):
        services.source_save(actor=manager, data={"code": name, "name": name, "position": 20 + i})
    for building in (1, 2, 3):
        for floor in (8, 12, 16, 18):
            for room in (1, 2):
                code = f"{building}-{floor}0{room}"
                services.object_create(actor=manager, data={
                    "code": code, "name": f"滨江府 {building} 幢 {floor}0{room} 室", "kind": "unit",
                    "list_price": str(rng.randrange(230, 420) * 10000)})
    for n in range(1, 7):
        services.object_create(actor=manager, data={"code": f"P-B0{n:02d}", "name": f"地下车位 B0{n:02d}",
                                                    "kind": "product", "list_price": "180000"})
    competitors = [services.competitor_save(actor=manager, name=c) for c in COMPETITORS]

    plans = _plans(users, today)
    reps = [users[k] for k in REPS if k in users]
    customers = {r.pk: list(Customer.objects.filter(owner=r, status="active", deleted_at__isnull=True)
                            .order_by("id")[:12]) for r in reps}
    open_stages = list(OpportunityStage.objects.filter(is_won=False, is_lost=False, active=True).order_by("position"))
    won = OpportunityStage.objects.filter(is_won=True).first()
    lost = OpportunityStage.objects.filter(is_lost=True).first()
    reasons = list(LostReason.objects.filter(active=True))
    opps = []
    for i in range(30):
        rep = reps[i % len(reps)]
        pool = customers.get(rep.pk) or []
        if not pool:
            continue
        customer = pool[i // len(reps) % len(pool)]
        opp = services.opportunity_create(actor=rep, data={
            "customer": customer.pk, "title": f"{customer.name[:12]}{rng.choice(PROJECTS)}",
            "amount": str(rng.randrange(20, 400) * 10000), "expected_close": rules.add_months(today, rng.randrange(0, 4)),
            "stage": rng.choice(open_stages).pk})
        opps.append(opp)
    n_won = n_lost = 0
    for opp in opps[:6]:
        services.opportunity_move(actor=opp.owner, opportunity_id=opp.pk, data={
            "stage": lost.pk, "lost_reason": rng.choice(reasons).pk,
            "competitor": rng.choice(competitors).pk if rng.random() < 0.7 else None, "note": "客户选择了对方方案"})
        n_lost += 1
    for opp in opps[6:9]:
        services.opportunity_move(actor=opp.owner, opportunity_id=opp.pk, data={"stage": won.pk})
        n_won += 1
    deals = _deals(users, opps[9:17], rng, today)
    registered = _register_walk_ins(users, rng, today)
    office = _walk_in_deals(users, rng, today)
    result = services.arrears_sweep(today=today)
    return (f"sales: {len(plans)} development plans, {len(opps)} opportunities ({n_won} won, {n_lost} lost), "
            f"{len(deals)} deals, {result['notices']} dunning notices, {result['breach_cases']} breach cases; "
            f"sales office: {registered} walk-ins registered by their reps, {office['deals']} deals on them "
            f"({office['signed']} signed this month)")


def _plans(users: dict, today: dt.date) -> list:
    from kehu.approvals.services import approval_decide

    out = []
    start = today.replace(day=1)
    for key, title in (("rep", "华东区滨江板块客户开发计划"), ("north_rep", "华北区重点企业客户开发计划")):
        owner = users.get(key)
        if owner is None:
            continue
        plan = services.plan_create(actor=owner, data={
            "title": f"{today:%Y年%m月}{title}", "starts_on": start, "deadline": rules.add_months(start, 3),
            "target_prospects": 40, "target_opportunities": 15, "target_deals": 5, "target_amount": "12000000",
            "budget": "60000", "support_needed": "市场部：周末暖场活动与渠道投放；财务部：按揭与分期方案测算"})
        out.append(plan)
    if out:
        plan = services.plan_submit(actor=out[0].owner, plan_id=out[0].pk)
        manager = users.get("manager")
        if manager is not None:
            approval_decide(actor=manager, request_id=plan.approval_request_id, decision="approve",
                            comment="同意，提交经理办公会")
    return out


def _deals(users: dict, opps: list, rng: random.Random, today: dt.date) -> list:
    finance = users["finance"]
    units = _units()
    deals = []
    for i, opp in enumerate(opps):
        if not units:
            break
        unit = units.pop(rng.randrange(len(units)))
        deal = services.deal_create(actor=opp.owner, data={
            "customer": opp.customer_id, "title": f"{unit.name} 认购", "amount": str(unit.list_price),
            "sale_object": unit.pk, "opportunity": opp.pk})
        deals.append(deal)
        if i % 4 == 3:
            continue  # just opened: finance has not taken the deposit yet
        services.deposit_record(actor=finance, deal_id=deal.pk, data={
            "kind": "small_deposit", "amount": "20000", "method": rng.choice(["微信转账", "银行转账", "POS刷卡"]),
            "receipt_no": f"XD{today:%Y%m}{deal.pk:04d}"})
        if i % 4 == 1:
            services.deposit_record(actor=finance, deal_id=deal.pk, data={
                "kind": "large_deposit", "amount": "200000", "method": "银行转账",
                "receipt_no": f"DD{today:%Y%m}{deal.pk:04d}"})
    signable = [d for d in deals if d.payments.exists()]
    # Two contracts signed this month, with their instalments ahead.
    for deal in signable[:2]:
        services.deal_move(actor=deal.rep, deal_id=deal.pk, data={"to": "subscribed"})
        paid = sum(p.amount for p in deal.payments.all())
        first = (deal.amount * 3 / 10).quantize(deal.amount)
        plan = [{"due_on": today + dt.timedelta(days=30), "amount": first}]
        if deal.amount - first - paid > 0:
            plan.append({"due_on": today + dt.timedelta(days=120), "amount": deal.amount - first - paid})
        services.deal_move(actor=deal.rep, deal_id=deal.pk, data={"to": "signed", "signed_on": today,
                                                                  "instalments": plan})
    # One signed in the summer: an instalment 20 days overdue (dunning), another 75 days overdue (breach case).
    if len(signable) > 2:
        deal = signable[2]
        services.deal_move(actor=deal.rep, deal_id=deal.pk, data={"to": "subscribed"})
        services.deal_move(actor=deal.rep, deal_id=deal.pk, data={
            "to": "signed", "signed_on": today - dt.timedelta(days=120), "instalments": [
                {"due_on": today - dt.timedelta(days=75), "amount": (deal.amount / 4).quantize(deal.amount)},
                {"due_on": today - dt.timedelta(days=20), "amount": (deal.amount / 4).quantize(deal.amount)}]})
    # And one the customer withdrew from (退定): the unit is available again.
    if len(signable) > 3:
        services.deal_move(actor=signable[3].rep, deal_id=signable[3].pk, data={"to": "cancelled",
                                                                               "note": "客户资金安排变化，退定"})
    return deals


# ---------------------------------------------------------------- the sales office: walk-ins → registrations → deals

WALK_IN_REGISTRATIONS = 150
WALK_IN_DEALS = 9


def _register_walk_ins(users: dict, rng: random.Random, today: dt.date) -> int:
    """The walk-ins the desk marked as registered (or as a deposit taken) become the receiving reps' customers,
    each registered by that rep from the entry a little after the visit (reception.services.entry_register: first
    registration wins). Done here, after the ownership demo, because that demo loads only on an empty register.
    One couple: a wife who came alone is noted as her husband's spouse and registered separately by another rep."""
    from kehu.errors import DomainError
    from kehu.sales.reception import services as reception
    from kehu.sales.reception.models import RegisterEntry

    entries = list(RegisterEntry.objects.filter(kind="walk_in", customer__isnull=True, outcome__in=(
        "registered", "deposit")).exclude(day=today).select_related("rep").order_by("-at", "-id")[:WALK_IN_REGISTRATIONS])
    entries.reverse()  # the month's latest visitors (whose deals fall in this month), registered in time order
    done = 0
    for entry in entries:
        outcome = entry.outcome
        try:
            reception.entry_register(actor=entry.rep, entry_id=entry.pk, kind="person",
                                     phone_consent=bool(entry.visitor_phone) and rng.random() < 0.7,
                                     now=entry.at + dt.timedelta(minutes=rng.randint(20, 90)))
        except DomainError:
            continue
        if outcome == "deposit":
            reception.entry_outcome_set(actor=entry.rep, entry_id=entry.pk, outcome="deposit")
        done += 1
    husband = (RegisterEntry.objects.filter(kind="walk_in", outcome="registered", customer__kind="person",
                                            day__lt=today - dt.timedelta(days=3)).select_related("customer", "rep")
               .order_by("-day", "id").first())
    other = next((e.rep for e in RegisterEntry.objects.filter(day=today, kind="walk_in")
                  .exclude(rep=husband.rep_id).select_related("rep")[:1]), None) if husband else None
    if husband is not None and other is None:  # early in the day nobody else has received a visitor yet
        from kehu.sales.reception.models import DutyShift

        other = next((s.rep for s in DutyShift.objects.filter(duty_day__day=today, rep__is_active=True)
                      .exclude(rep=husband.rep_id).select_related("rep").order_by("id")[:1]), None)
    if husband is not None and other is not None:
        when = timezone.now()  # she is here now: the register lists entries as the desk writes them
        surname = husband.customer.name[0]
        wife = reception.entry_create(actor=other, data={
            "source": husband.source_id, "visitor_name": f"{surname}太太", "designated_rep": other.pk,
            "spouse_of": husband.customer_id, "intention": "丈夫前几天来看过，今天自己再来看样板间"}, now=when)
        reception.entry_register(actor=other, entry_id=wife.pk, kind="person", now=when + dt.timedelta(minutes=40))
        done += 1
    return done


def _walk_in_deals(users: dict, rng: random.Random, today: dt.date) -> dict:
    """Deals of the month on the office's registered walk-ins: the rep opens the deal on a unit, finance takes the
    small deposit (and for some the large one), most are subscribed and signed this month — each signing splits
    the commission on the facts reception and ownership recorded (a company channel's customer, a spouse
    registered by another rep …): the spouses first, then the company's visitors, then those who left a deposit."""
    from kehu.sales.reception.models import RegisterEntry

    finance = users["finance"]
    rows = list(RegisterEntry.objects.filter(kind="walk_in", outcome__in=("registered", "deposit"),
                                             customer__status="active", customer__kind="person")
                .select_related("customer", "customer__owner", "source").order_by("-day", "id")[:300])
    seen, picked = set(), []

    def rank(e):
        return (e.spouse_of_id is None, not e.source.company, e.outcome != "deposit", -e.day.toordinal())

    for e in sorted(rows, key=rank):
        if e.customer_id in seen or not e.customer.owner.is_active:
            continue
        seen.add(e.customer_id)
        picked.append(e)
        if len(picked) == WALK_IN_DEALS:
            break
    units = _units()
    first = today.replace(day=1)
    made = signed = 0
    for i, e in enumerate(picked):
        if not units:
            break
        unit = units.pop(rng.randrange(len(units)))
        rep = e.customer.owner
        deal = services.deal_create(actor=rep, data={"customer": e.customer_id, "title": f"{unit.name} 认购",
                                                     "amount": str(unit.list_price), "sale_object": unit.pk})
        made += 1
        if i == len(picked) - 1:
            continue  # opened today: the deposit is still to be taken by finance
        received = max(e.day, first) if e.day <= today else today
        services.deposit_record(actor=finance, deal_id=deal.pk, data={
            "kind": "small_deposit", "amount": rng.choice(["20000", "30000", "50000"]),
            "received_on": received.isoformat(), "method": rng.choice(["微信转账", "POS刷卡", "银行转账"]),
            "receipt_no": f"XD{today:%Y%m}{deal.pk:04d}"})
        if i % 3 == 0:
            services.deposit_record(actor=finance, deal_id=deal.pk, data={
                "kind": "large_deposit", "amount": "200000", "received_on": received.isoformat(),
                "method": "银行转账", "receipt_no": f"DD{today:%Y%m}{deal.pk:04d}"})
        if i >= len(picked) - 3:
            continue  # waiting for the subscription
        services.deal_move(actor=rep, deal_id=deal.pk, data={"to": "subscribed"})
        on = received + dt.timedelta(days=rng.randint(0, max(0, (today - received).days)))
        down = (unit.list_price * 3 / 10).quantize(unit.list_price)
        services.deal_move(actor=rep, deal_id=deal.pk, data={
            "to": "signed", "signed_on": on.isoformat(), "instalments": [
                {"due_on": (on + dt.timedelta(days=30)).isoformat(), "amount": str(down)}]})
        signed += 1
    return {"deals": made, "signed": signed}
