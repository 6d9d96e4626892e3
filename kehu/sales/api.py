"""/api/v1/sales/…: prospects (潜在客户) and their sources, development plans (开发计划), opportunities (商机) through stages, deals with deposits (小定/大定), subscription and signing, instalments, dunning (催款通知) and breach cases, deal statistics. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema, Status

from kehu.sales import selectors, services
from kehu.sales.models import BreachCase, Deal, DevelopmentPlan, DunningNotice, Opportunity

router = Router(tags=["sales"])


# ---------------------------------------------------------------- shapes

class Named(Schema):
    id: int
    code: str = ""
    name: str


class StageOut(Schema):
    id: int
    code: str
    name: str
    position: int
    probability: int
    is_won: bool
    is_lost: bool


class CatalogueOut(Schema):
    sources: list[Named]
    stages: list[StageOut]
    lost_reasons: list[Named]
    competitors: list[Named]


class ProspectOut(Schema):
    id: int
    name: str
    source: str
    owner: int
    owner_name: str
    updated_at: dt.datetime


class ProspectPage(Schema):
    items: list[ProspectOut]
    next: str | None
    by_source: list[dict] = []


class PlanOut(Schema):
    id: int
    title: str
    owner: int
    owner_name: str
    department: str | None
    starts_on: dt.date
    deadline: dt.date
    target_prospects: int
    target_opportunities: int
    target_deals: int
    target_amount: Decimal
    budget: Decimal
    support_needed: str
    state: str
    approval_request: int | None
    approved_at: dt.datetime | None


class PlanPage(Schema):
    items: list[PlanOut]
    next: str | None


class Figures(Schema):
    prospects: int
    opportunities: int
    won: int
    lost: int
    deals: int
    amount: Decimal


class ProgressOut(Schema):
    plan: int
    period: str
    label: str
    start: dt.date
    end: dt.date
    current: Figures
    to_date: Figures
    targets: dict
    reached: dict
    time_elapsed: float | None


class OpportunityOut(Schema):
    id: int
    customer: int
    customer_name: str
    title: str
    stage: int
    stage_name: str
    probability: int
    outcome: str
    amount: Decimal
    weighted: Decimal
    currency: str
    expected_close: str
    source: str
    owner: int
    owner_name: str
    lost_reason: str | None
    competitor: str | None
    lost_note: str
    closed_on: dt.date | None


class OpportunityPage(Schema):
    items: list[OpportunityOut]
    next: str | None


class ForecastRow(Schema):
    month: str
    open: int
    pipeline: Decimal
    weighted: Decimal
    won: int
    won_amount: Decimal


class LostRow(Schema):
    name: str | None
    count: int
    amount: Decimal
    share: float | None


class LostOut(Schema):
    total: int
    by_reason: list[LostRow]
    by_competitor: list[LostRow]


class ObjectOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    list_price: Decimal
    status: str


class PaymentOut(Schema):
    id: int
    kind: str
    amount: Decimal
    received_on: dt.date
    method: str
    receipt_no: str
    instalment: int | None
    recorded_by: str


class InstalmentOut(Schema):
    id: int
    seq: int
    due_on: dt.date
    amount: Decimal
    paid_amount: Decimal
    paid_on: dt.date | None
    overdue: bool


class DealOut(Schema):
    id: int
    customer: int
    customer_name: str
    title: str
    object_code: str
    sale_object: int | None
    amount: Decimal
    currency: str
    stage: str
    rep: int
    rep_name: str
    source: str
    opportunity: int | None
    signed_on: dt.date | None
    cancelled_on: dt.date | None
    paid: Decimal | None = None


class DealDetail(DealOut):
    payments: list[PaymentOut]
    instalments: list[InstalmentOut]
    next_stages: list[str]


class DealPage(Schema):
    items: list[DealOut]
    next: str | None


class DunningOut(Schema):
    id: int
    deal: int
    deal_title: str
    customer_name: str
    instalment: int
    seq: int
    due_on: dt.date
    issued_on: dt.date
    days_overdue: int
    amount_due: Decimal
    rep_name: str


class DunningPage(Schema):
    items: list[DunningOut]
    next: str | None


class BreachOut(Schema):
    id: int
    deal: int
    deal_title: str
    customer_name: str
    instalment: int
    due_on: dt.date
    opened_on: dt.date
    amount_due: Decimal
    state: str
    resolution: str
    rep_name: str


class BreachPage(Schema):
    items: list[BreachOut]
    next: str | None


class OverdueOut(Schema):
    id: int
    deal: int
    deal_title: str
    customer_name: str
    seq: int
    due_on: dt.date
    outstanding: Decimal
    rep_name: str


class OverduePage(Schema):
    items: list[OverdueOut]
    next: str | None


class StatsRow(Schema):
    id: int | None = None
    source: str | None = None
    name: str
    count: int
    amount: Decimal


class TrendRow(Schema):
    label: str
    count: int
    amount: Decimal


class StatsOut(Schema):
    period: str
    label: str
    start: dt.date
    end: dt.date
    count: int
    amount: Decimal
    by_rep: list[StatsRow]
    by_source: list[StatsRow]
    opportunities_won: int
    opportunities_lost: int
    conversion: float | None
    deals_from_opportunities: int
    trend: list[TrendRow]


def plan_out(p: DevelopmentPlan) -> dict:
    return {"id": p.pk, "title": p.title, "owner": p.owner_id, "owner_name": str(p.owner),
            "department": p.department.name if p.department_id else None, "starts_on": p.starts_on,
            "deadline": p.deadline, "target_prospects": p.target_prospects,
            "target_opportunities": p.target_opportunities, "target_deals": p.target_deals,
            "target_amount": p.target_amount, "budget": p.budget, "support_needed": p.support_needed,
            "state": p.state, "approval_request": p.approval_request_id, "approved_at": p.approved_at}


def opportunity_out(o: Opportunity) -> dict:
    from kehu.sales.rules import weighted

    return {"id": o.pk, "customer": o.customer_id, "customer_name": o.customer.name, "title": o.title,
            "stage": o.stage_id, "stage_name": o.stage.name, "probability": o.stage.probability, "outcome": o.outcome,
            "amount": o.amount, "weighted": weighted(o.amount, o.stage.probability) if o.outcome == "open" else
            (o.amount if o.outcome == "won" else Decimal("0.00")), "currency": o.currency,
            "expected_close": f"{o.expected_close:%Y-%m}", "source": o.source, "owner": o.owner_id,
            "owner_name": str(o.owner), "lost_reason": o.lost_reason.name if o.lost_reason_id else None,
            "competitor": o.competitor.name if o.competitor_id else None, "lost_note": o.lost_note,
            "closed_on": o.closed_on}


def deal_out(d: Deal) -> dict:
    return {"id": d.pk, "customer": d.customer_id, "customer_name": d.customer.name, "title": d.title,
            "object_code": d.object_code, "sale_object": d.sale_object_id, "amount": d.amount, "currency": d.currency,
            "stage": d.stage, "rep": d.rep_id, "rep_name": str(d.rep), "source": d.source,
            "opportunity": d.opportunity_id, "signed_on": d.signed_on, "cancelled_on": d.cancelled_on,
            "paid": None if getattr(d, "paid", None) is None else Decimal(d.paid).quantize(Decimal("0.01"))}


def deal_detail(request, deal_id: int) -> dict:
    from django.utils import timezone

    from kehu.sales.rules import DEAL_TRANSITIONS

    deal = selectors.deal_get(actor=request.user, deal_id=deal_id)
    payments = selectors.deal_payments(deal=deal)
    today = timezone.localdate()
    out = deal_out(deal)
    out["paid"] = sum((p.amount for p in payments), Decimal("0.00"))
    out["payments"] = [{"id": p.pk, "kind": p.kind, "amount": p.amount, "received_on": p.received_on,
                        "method": p.method, "receipt_no": p.receipt_no, "instalment": p.instalment_id,
                        "recorded_by": str(p.recorded_by)} for p in payments]
    out["instalments"] = [{"id": i.pk, "seq": i.seq, "due_on": i.due_on, "amount": i.amount,
                           "paid_amount": i.paid_amount, "paid_on": i.paid_on,
                           "overdue": i.paid_on is None and i.due_on < today}
                          for i in selectors.deal_instalments(deal=deal)]
    out["next_stages"] = sorted(DEAL_TRANSITIONS.get(deal.stage, ()))
    return out


def dunning_out(n: DunningNotice) -> dict:
    inst = n.instalment
    return {"id": n.pk, "deal": inst.deal_id, "deal_title": inst.deal.title, "customer_name": inst.deal.customer.name,
            "instalment": inst.pk, "seq": inst.seq, "due_on": inst.due_on, "issued_on": n.issued_on,
            "days_overdue": n.days_overdue, "amount_due": n.amount_due, "rep_name": str(n.rep)}


def breach_out(c: BreachCase) -> dict:
    return {"id": c.pk, "deal": c.deal_id, "deal_title": c.deal.title, "customer_name": c.deal.customer.name,
            "instalment": c.instalment_id, "due_on": c.instalment.due_on, "opened_on": c.opened_on,
            "amount_due": c.amount_due, "state": c.state, "resolution": c.resolution, "rep_name": str(c.rep)}


# ---------------------------------------------------------------- catalogue and prospects

@router.get("/sales/catalogue", response=CatalogueOut, summary="Prospect sources, opportunity stages, lost reasons, competitors")
def catalogue(request):
    selectors.require_deals(request.user)
    return {"sources": [{"id": s.pk, "code": s.code, "name": s.name} for s in selectors.sources()],
            "stages": [{"id": s.pk, "code": s.code, "name": s.name, "position": s.position,
                        "probability": s.probability, "is_won": s.is_won, "is_lost": s.is_lost}
                       for s in selectors.stages()],
            "lost_reasons": [{"id": r.pk, "name": r.name} for r in selectors.lost_reasons()],
            "competitors": [{"id": c.pk, "name": c.name} for c in selectors.competitors()]}


class SourceIn(Schema):
    code: str
    name: str
    position: int = 0
    active: bool = True


@router.post("/sales/sources", response={201: Named}, summary="Add or rename a prospect source")
def source_save(request, payload: SourceIn):
    row = services.source_save(actor=request.user, data=payload.dict())
    return Status(201, {"id": row.pk, "code": row.code, "name": row.name})


class ProspectFilters(Schema):
    source: str | None = None
    q: str | None = None
    limit: int | None = None
    cursor: str | None = None


@router.get("/sales/prospects", response=ProspectPage, summary="Prospects (潜在客户) in my scope, by source")
def prospect_list(request, filters: Query[ProspectFilters]):
    page = selectors.prospect_list(actor=request.user, **filters.dict())
    return {"items": [{"id": c.pk, "name": c.name, "source": c.source, "owner": c.owner_id, "owner_name": str(c.owner),
                       "updated_at": c.updated_at} for c in page.items], "next": page.next,
            "by_source": selectors.prospect_counts(actor=request.user)}


class OpportunityIn(Schema):
    customer: int | None = None
    title: str
    amount: Decimal
    expected_close: str
    stage: int | None = None


@router.post("/sales/prospects/{customer_id}/convert", response={201: OpportunityOut},
             summary="Convert a prospect into an opportunity")
def prospect_convert(request, customer_id: int, payload: OpportunityIn):
    opp = services.prospect_convert(actor=request.user, customer_id=customer_id, data=payload.dict())
    return Status(201, opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opp.pk)))


# ---------------------------------------------------------------- development plans

class PlanFilters(Schema):
    state: str | None = None
    owner: int | None = None
    limit: int | None = None
    cursor: str | None = None


class PlanIn(Schema):
    title: str
    starts_on: dt.date
    deadline: dt.date
    target_prospects: int = 0
    target_opportunities: int = 0
    target_deals: int = 0
    target_amount: Decimal = Decimal("0")
    budget: Decimal = Decimal("0")
    support_needed: str = ""
    support_departments: list[int] | None = None


class PlanPatch(Schema):
    title: str | None = None
    starts_on: dt.date | None = None
    deadline: dt.date | None = None
    target_prospects: int | None = None
    target_opportunities: int | None = None
    target_deals: int | None = None
    target_amount: Decimal | None = None
    budget: Decimal | None = None
    support_needed: str | None = None
    support_departments: list[int] | None = None


@router.get("/sales/plans", response=PlanPage, summary="Development plans (开发计划) in my scope")
def plan_list(request, filters: Query[PlanFilters]):
    page = selectors.plan_list(actor=request.user, **filters.dict())
    return {"items": [plan_out(p) for p in page.items], "next": page.next}


@router.post("/sales/plans", response={201: PlanOut}, summary="Write a development plan")
def plan_create(request, payload: PlanIn):
    plan = services.plan_create(actor=request.user, data=payload.dict())
    return Status(201, plan_out(selectors.plan_get(actor=request.user, plan_id=plan.pk)))


@router.get("/sales/plans/{plan_id}", response=PlanOut)
def plan_get(request, plan_id: int):
    return plan_out(selectors.plan_get(actor=request.user, plan_id=plan_id))


@router.patch("/sales/plans/{plan_id}", response=PlanOut, summary="Change a draft plan")
def plan_update(request, plan_id: int, payload: PlanPatch):
    services.plan_update(actor=request.user, plan_id=plan_id, data=payload.dict(exclude_none=True))
    return plan_out(selectors.plan_get(actor=request.user, plan_id=plan_id))


@router.post("/sales/plans/{plan_id}/submit", response=PlanOut,
             summary="Submit the plan: department head, then the managers' meeting")
def plan_submit(request, plan_id: int):
    services.plan_submit(actor=request.user, plan_id=plan_id)
    return plan_out(selectors.plan_get(actor=request.user, plan_id=plan_id))


class ProgressFilters(Schema):
    period: str = "week"
    day: dt.date | None = None


@router.get("/sales/plans/{plan_id}/progress", response=ProgressOut,
            summary="Weekly summary (周总结) or monthly report (月汇报) of a plan, computed from the data")
def plan_progress(request, plan_id: int, filters: Query[ProgressFilters]):
    out = selectors.plan_progress(actor=request.user, plan_id=plan_id, period=filters.period, day=filters.day)
    out["plan"] = out["plan"].pk
    out["targets"] = {k: str(v) for k, v in out["targets"].items()}
    return out


# ---------------------------------------------------------------- opportunities

class OpportunityFilters(Schema):
    outcome: str | None = None
    stage: int | None = None
    owner: int | None = None
    customer: int | None = None
    source: str | None = None
    ordering: str = "-id"
    limit: int | None = None
    cursor: str | None = None


class MoveIn(Schema):
    stage: int | None = None
    amount: Decimal | None = None
    expected_close: str | None = None
    lost_reason: int | None = None
    competitor: int | None = None
    note: str = ""


@router.get("/sales/opportunities", response=OpportunityPage, summary="Opportunities (商机) in my scope")
def opportunity_list(request, filters: Query[OpportunityFilters]):
    page = selectors.opportunity_list(actor=request.user, **filters.dict())
    return {"items": [opportunity_out(o) for o in page.items], "next": page.next}


@router.post("/sales/opportunities", response={201: OpportunityOut}, summary="Open an opportunity")
def opportunity_create(request, payload: OpportunityIn):
    opp = services.opportunity_create(actor=request.user, data=payload.dict())
    return Status(201, opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opp.pk)))


@router.get("/sales/opportunities/{opportunity_id}", response=OpportunityOut)
def opportunity_get(request, opportunity_id: int):
    return opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id))


@router.post("/sales/opportunities/{opportunity_id}/move", response=OpportunityOut,
             summary="Move to another stage; a won or lost stage closes it (lost: with the reason)")
def opportunity_move(request, opportunity_id: int, payload: MoveIn):
    services.opportunity_move(actor=request.user, opportunity_id=opportunity_id, data=payload.dict())
    return opportunity_out(selectors.opportunity_get(actor=request.user, opportunity_id=opportunity_id))


class ForecastFilters(Schema):
    months: int = 6
    start: dt.date | None = None


@router.get("/sales/forecast", response=list[ForecastRow], summary="Weighted forecast by expected close month")
def forecast(request, filters: Query[ForecastFilters]):
    return selectors.forecast(actor=request.user, months=filters.months, start=filters.start)


class PeriodFilters(Schema):
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@router.get("/sales/lost-analysis", response=LostOut, summary="Lost opportunities by reason and competitor")
def lost_analysis(request, filters: Query[PeriodFilters]):
    return selectors.lost_analysis(actor=request.user, **filters.dict())


# ---------------------------------------------------------------- objects and deals

class ObjectFilters(Schema):
    status: str | None = None
    q: str | None = None


class ObjectIn(Schema):
    code: str
    name: str
    kind: str = "unit"
    list_price: Decimal = Decimal("0")


def object_out(o) -> dict:
    return {"id": o.pk, "code": o.code, "name": o.name, "kind": o.kind, "list_price": o.list_price, "status": o.status}


@router.get("/sales/objects", response=list[ObjectOut], summary="The products and units deals sell, with their status")
def object_list(request, filters: Query[ObjectFilters]):
    return [object_out(o) for o in selectors.object_list(actor=request.user, **filters.dict())]


@router.post("/sales/objects", response={201: ObjectOut}, summary="Add a product or unit")
def object_create(request, payload: ObjectIn):
    return Status(201, object_out(services.object_create(actor=request.user, data=payload.dict())))


class DealFilters(Schema):
    stage: str | None = None
    rep: int | None = None
    customer: int | None = None
    limit: int | None = None
    cursor: str | None = None


class DealIn(Schema):
    customer: int
    title: str
    amount: Decimal
    sale_object: int | None = None
    object_code: str = ""
    opportunity: int | None = None


class DepositIn(Schema):
    kind: str
    amount: Decimal
    received_on: dt.date | None = None
    method: str = ""
    receipt_no: str = ""


class InstalmentIn(Schema):
    due_on: dt.date
    amount: Decimal


class DealMoveIn(Schema):
    to: str
    signed_on: dt.date | None = None
    instalments: list[InstalmentIn] = []
    note: str = ""


class PaymentIn(Schema):
    amount: Decimal
    received_on: dt.date | None = None
    method: str = ""
    receipt_no: str = ""


@router.get("/sales/deals", response=DealPage, summary="Deals in my scope, with what has been paid")
def deal_list(request, filters: Query[DealFilters]):
    page = selectors.deal_list(actor=request.user, **filters.dict())
    return {"items": [deal_out(d) for d in page.items], "next": page.next}


@router.post("/sales/deals", response={201: DealDetail}, summary="Open a deal (its object must be available)")
def deal_create(request, payload: DealIn):
    deal = services.deal_create(actor=request.user, data=payload.dict())
    return Status(201, deal_detail(request, deal.pk))


@router.get("/sales/deals/{deal_id}", response=DealDetail)
def deal_get(request, deal_id: int):
    return deal_detail(request, deal_id)


@router.post("/sales/deals/{deal_id}/deposits", response={201: DealDetail},
             summary="Record a small or large deposit (finance only)")
def deposit_record(request, deal_id: int, payload: DepositIn):
    services.deposit_record(actor=request.user, deal_id=deal_id, data=payload.dict())
    return Status(201, deal_detail(request, deal_id))


@router.post("/sales/deals/{deal_id}/move", response=DealDetail, summary="Subscribe, sign (with instalments) or cancel")
def deal_move(request, deal_id: int, payload: DealMoveIn):
    services.deal_move(actor=request.user, deal_id=deal_id, data=payload.dict())
    return deal_detail(request, deal_id)


@router.post("/sales/instalments/{instalment_id}/payments", response={201: DealDetail},
             summary="Record a payment of a contract instalment (finance only)")
def instalment_payment(request, instalment_id: int, payload: PaymentIn):
    payment = services.instalment_payment_record(actor=request.user, instalment_id=instalment_id, data=payload.dict())
    return Status(201, deal_detail(request, payment.deal_id))


class PageFilters(Schema):
    limit: int | None = None
    cursor: str | None = None


@router.get("/sales/instalments/overdue", response=OverduePage, summary="Overdue contract instalments in my scope")
def overdue(request, filters: Query[PageFilters]):
    page = selectors.overdue_instalments(actor=request.user, **filters.dict())
    return {"items": [{"id": i.pk, "deal": i.deal_id, "deal_title": i.deal.title, "customer_name": i.deal.customer.name,
                       "seq": i.seq, "due_on": i.due_on, "outstanding": i.outstanding, "rep_name": str(i.rep)}
                      for i in page.items], "next": page.next}


@router.get("/sales/dunning", response=DunningPage, summary="Dunning notices (催款通知) in my scope")
def dunning_list(request, filters: Query[PageFilters]):
    page = selectors.dunning_list(actor=request.user, **filters.dict())
    return {"items": [dunning_out(n) for n in page.items], "next": page.next}


@router.get("/sales/dunning/{notice_id}", response=DunningOut)
def dunning_get(request, notice_id: int):
    return dunning_out(selectors.dunning_get(actor=request.user, notice_id=notice_id))


class BreachFilters(Schema):
    state: str | None = None
    limit: int | None = None
    cursor: str | None = None


class CloseIn(Schema):
    resolution: str


@router.get("/sales/breach-cases", response=BreachPage, summary="Breach cases (违约) in my scope")
def breach_list(request, filters: Query[BreachFilters]):
    page = selectors.breach_list(actor=request.user, **filters.dict())
    return {"items": [breach_out(c) for c in page.items], "next": page.next}


@router.post("/sales/breach-cases/{case_id}/close", response=BreachOut, summary="Close a breach case with a resolution")
def breach_close(request, case_id: int, payload: CloseIn):
    services.breach_close(actor=request.user, case_id=case_id, resolution=payload.resolution)
    return breach_out(selectors.breach_get(actor=request.user, case_id=case_id))


# ---------------------------------------------------------------- statistics

class StatsFilters(Schema):
    period: str = "month"
    day: dt.date | None = None


@router.get("/sales/stats", response=StatsOut, summary="Weekly or monthly deal analysis (周/月成交分析)")
def deal_stats(request, filters: Query[StatsFilters]):
    out = selectors.deal_stats(actor=request.user, period=filters.period, day=filters.day)
    out["trend"] = selectors.deal_trend(actor=request.user, period=filters.period, day=filters.day)
    return out


# ---------------------------------------------------------------- configurable rows (a manager)

class StageIn(Schema):
    code: str
    name: str
    position: int = 0
    probability: int
    is_won: bool = False
    is_lost: bool = False
    active: bool = True


class NameIn(Schema):
    name: str
    active: bool = True


class PolicyOut(Schema):
    dunning_grace_days: int
    dunning_repeat_days: int
    breach_after_months: int


class PolicyIn(Schema):
    dunning_grace_days: int | None = None
    dunning_repeat_days: int | None = None
    breach_after_months: int | None = None


@router.post("/sales/stages", response={201: StageOut}, summary="Add or change an opportunity stage")
def stage_save(request, payload: StageIn):
    s = services.stage_save(actor=request.user, data=payload.dict())
    return Status(201, {"id": s.pk, "code": s.code, "name": s.name, "position": s.position,
                        "probability": s.probability, "is_won": s.is_won, "is_lost": s.is_lost})


@router.post("/sales/lost-reasons", response={201: Named}, summary="Add or (de)activate a lost reason")
def lost_reason_save(request, payload: NameIn):
    r = services.lost_reason_save(actor=request.user, name=payload.name, active=payload.active)
    return Status(201, {"id": r.pk, "name": r.name})


@router.post("/sales/competitors", response={201: Named}, summary="Add or (de)activate a competitor")
def competitor_save(request, payload: NameIn):
    c = services.competitor_save(actor=request.user, name=payload.name, active=payload.active)
    return Status(201, {"id": c.pk, "name": c.name})


def _policy(p) -> dict:
    return {"dunning_grace_days": p.dunning_grace_days, "dunning_repeat_days": p.dunning_repeat_days,
            "breach_after_months": p.breach_after_months}


@router.get("/sales/policy", response=PolicyOut, summary="The business figures of arrears (dunning, breach)")
def policy_get(request):
    selectors.require_deals(request.user)
    return _policy(selectors.policy())


@router.patch("/sales/policy", response=PolicyOut, summary="Change the business figures of arrears")
def policy_update(request, payload: PolicyIn):
    return _policy(services.policy_update(actor=request.user, data=payload.dict()))
