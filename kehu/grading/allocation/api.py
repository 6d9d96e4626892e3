"""/api/v1/allocation/…: monthly plans (月度计划) and allocation rounds (资源量分配) with their shares.
Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.grading.allocation import selectors, services
from kehu.grading.allocation.models import AllocationRound, AllocationShare, SalesPlan

router = Router(tags=["allocation"])


class PlanIn(Schema):
    customer: int
    month: str
    product_line: str
    participant_type: str | None = None  # none: the type declared at account opening
    quantity_t: Decimal
    capacity_t: Decimal | None = None
    pickup_note: str = ""


class PlanPatch(Schema):
    month: str | None = None
    product_line: str | None = None
    participant_type: str | None = None
    quantity_t: Decimal | None = None
    capacity_t: Decimal | None = None
    pickup_note: str | None = None


class PlanOut(Schema):
    id: int
    customer: int
    customer_name: str
    month: str
    product_line: str
    participant_type: str
    quantity_t: Decimal
    capacity_t: Decimal | None
    pickup_note: str
    submitted_by: str | None
    submitted_at: dt.datetime


class PlanPage(Schema):
    items: list[PlanOut]
    next: str | None


class ImportOut(Schema):
    rows: int
    created: int
    updated: int
    dry_run: bool


def plan_out(plan: SalesPlan) -> dict:
    return {"id": plan.pk, "customer": plan.customer_id, "customer_name": plan.customer.name,
            "month": plan.month.strftime("%Y-%m"), "product_line": plan.product_line,
            "participant_type": plan.participant_type, "quantity_t": plan.quantity_t, "capacity_t": plan.capacity_t,
            "pickup_note": plan.pickup_note,
            "submitted_by": plan.submitted_by.display_name if plan.submitted_by else None,
            "submitted_at": plan.submitted_at}


class PlanFilters(Schema):
    month: str | None = None
    product_line: str | None = None
    participant_type: str | None = None
    customer: int | None = None
    ordering: str = "-month"
    limit: int | None = None
    cursor: str | None = None


def _month_filter(value: str | None):
    if not value:
        return None
    month = services.parse_month(value)
    if month is None:
        from django.utils.translation import gettext as _

        from kehu.errors import Invalid
        raise Invalid(_("Enter a month as YYYY-MM."), fields={"month": [_("Enter a month as YYYY-MM.")]})
    return month


@router.get("/allocation/plans", response=PlanPage, summary="Monthly plans of the customers in my scope")
def plan_list(request, filters: Query[PlanFilters]):
    data = filters.dict()
    data["month"] = _month_filter(data["month"])
    page = selectors.plan_list(actor=request.user, **data)
    return {"items": [plan_out(p) for p in page.items], "next": page.next}


@router.post("/allocation/plans", response={201: PlanOut}, summary="Enter a participant's monthly plan")
def plan_create(request, payload: PlanIn):
    plan = services.plan_create(actor=request.user, data=payload.dict())
    return Status(201, plan_out(selectors.plan_get(actor=request.user, plan_id=plan.pk)))


@router.post("/allocation/plans/import", response=ImportOut,
             summary="Import plans from CSV/XLSX (all rows or none; dry_run only validates)")
def plan_import(request, file: File[UploadedFile], dry_run: Form[bool] = False):
    return services.plan_import(actor=request.user, file_name=file.name or "plans.csv", content=file.read(),
                                dry_run=dry_run)


@router.get("/allocation/plans/{plan_id}", response=PlanOut)
def plan_get(request, plan_id: int):
    return plan_out(selectors.plan_get(actor=request.user, plan_id=plan_id))


@router.patch("/allocation/plans/{plan_id}", response=PlanOut)
def plan_update(request, plan_id: int, payload: PlanPatch):
    data = {k: v for k, v in payload.dict().items() if k in payload.model_fields_set}
    services.plan_update(actor=request.user, plan_id=plan_id, data=data)
    return plan_out(selectors.plan_get(actor=request.user, plan_id=plan_id))


@router.delete("/allocation/plans/{plan_id}", response={204: None})
def plan_delete(request, plan_id: int):
    services.plan_delete(actor=request.user, plan_id=plan_id)
    return Status(204, None)


class RoundIn(Schema):
    month: str
    product_line: str
    available_t: Decimal
    weight_review: Decimal | None = None
    weight_completion: Decimal | None = None
    weight_regularity: Decimal | None = None
    lookback_months: int | None = None
    note: str = ""


class RoundPatch(Schema):
    available_t: Decimal | None = None
    weight_review: Decimal | None = None
    weight_completion: Decimal | None = None
    weight_regularity: Decimal | None = None
    lookback_months: int | None = None
    note: str | None = None


class ShareOut(Schema):
    id: int
    customer: int
    customer_name: str
    plan: int
    participant_type: str
    plan_t: Decimal
    capacity_t: Decimal | None
    review_score: Decimal | None
    completion_rate: Decimal | None
    regularity: Decimal | None
    score: Decimal
    allocated_t: Decimal
    rule: str
    explanation: dict


class TotalsOut(Schema):
    available_t: Decimal
    total_plan_t: Decimal
    total_allocated_t: Decimal
    summary: dict


class RoundOut(Schema):
    id: int
    month: str
    product_line: str
    state: str
    weights: dict
    lookback_months: int
    class_order: list[str]
    note: str
    computed_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    confirmed_by: str | None
    created_by: str | None
    totals: TotalsOut | None = None


class RoundDetailOut(RoundOut):
    shares: list[ShareOut]


class RoundPage(Schema):
    items: list[RoundOut]
    next: str | None


class ChartOut(Schema):
    categories: list[str]
    plan_t: list[Decimal]
    allocated_t: list[Decimal]


def share_out(share: AllocationShare) -> dict:
    return {"id": share.pk, "customer": share.customer_id, "customer_name": share.customer.name, "plan": share.plan_id,
            "participant_type": share.participant_type, "plan_t": share.plan_t, "capacity_t": share.capacity_t,
            "review_score": share.review_score, "completion_rate": share.completion_rate,
            "regularity": share.regularity, "score": share.score, "allocated_t": share.allocated_t,
            "rule": share.rule, "explanation": share.explanation}


def round_out(request, rnd: AllocationRound, *, shares: bool = False) -> dict:
    out = {"id": rnd.pk, "month": rnd.month.strftime("%Y-%m"), "product_line": rnd.product_line, "state": rnd.state,
           "weights": {"review": rnd.weight_review, "completion": rnd.weight_completion,
                       "regularity": rnd.weight_regularity},
           "lookback_months": rnd.lookback_months, "class_order": rnd.class_order, "note": rnd.note,
           "computed_at": rnd.computed_at, "confirmed_at": rnd.confirmed_at,
           "confirmed_by": rnd.confirmed_by.display_name if rnd.confirmed_by else None,
           "created_by": rnd.created_by.display_name if rnd.created_by else None,
           "totals": selectors.round_totals(actor=request.user, rnd=rnd)}
    if shares:
        out["shares"] = [share_out(s) for s in selectors.share_list(actor=request.user, rnd=rnd)]
    return out


class RoundFilters(Schema):
    month: str | None = None
    product_line: str | None = None
    state: str | None = None
    ordering: str = "-month"
    limit: int | None = None
    cursor: str | None = None


@router.get("/allocation/rounds", response=RoundPage, summary="Allocation rounds (totals for allocation managers)")
def round_list(request, filters: Query[RoundFilters]):
    data = filters.dict()
    data["month"] = _month_filter(data["month"])
    page = selectors.round_list(actor=request.user, **data)
    return {"items": [round_out(request, r) for r in page.items], "next": page.next}


@router.post("/allocation/rounds", response={201: RoundDetailOut}, summary="Create a draft allocation round")
def round_create(request, payload: RoundIn):
    rnd = services.round_create(actor=request.user, data=payload.dict())
    return Status(201, round_out(request, selectors.round_get(actor=request.user, round_id=rnd.pk), shares=True))


@router.get("/allocation/rounds/{round_id}", response=RoundDetailOut,
            summary="A round with the shares of the customers in my scope and their explanation")
def round_get(request, round_id: int):
    return round_out(request, selectors.round_get(actor=request.user, round_id=round_id), shares=True)


@router.get("/allocation/rounds/{round_id}/chart", response=ChartOut,
            summary="Plan vs allocation per share in my scope (the chart beside the table)")
def round_chart(request, round_id: int):
    rnd = selectors.round_get(actor=request.user, round_id=round_id)
    shares = selectors.share_list(actor=request.user, rnd=rnd)
    return {"categories": [s.customer.name for s in shares], "plan_t": [s.plan_t for s in shares],
            "allocated_t": [s.allocated_t for s in shares]}


@router.patch("/allocation/rounds/{round_id}", response=RoundDetailOut, summary="Change a draft (clears its preview)")
def round_update(request, round_id: int, payload: RoundPatch):
    data = {k: v for k, v in payload.dict().items() if k in payload.model_fields_set}
    services.round_update(actor=request.user, round_id=round_id, data=data)
    return round_out(request, selectors.round_get(actor=request.user, round_id=round_id), shares=True)


@router.delete("/allocation/rounds/{round_id}", response={204: None})
def round_delete(request, round_id: int):
    services.round_delete(actor=request.user, round_id=round_id)
    return Status(204, None)


@router.post("/allocation/rounds/{round_id}/compute", response=RoundDetailOut,
             summary="Compute the shares (a preview while the round is a draft)")
def round_compute(request, round_id: int):
    services.round_compute(actor=request.user, round_id=round_id)
    return round_out(request, selectors.round_get(actor=request.user, round_id=round_id), shares=True)


@router.post("/allocation/rounds/{round_id}/confirm", response=RoundDetailOut,
             summary="Confirm the computed shares (the round becomes immutable)")
def round_confirm(request, round_id: int):
    services.round_confirm(actor=request.user, round_id=round_id)
    return round_out(request, selectors.round_get(actor=request.user, round_id=round_id), shares=True)


@router.get("/allocation/customers/{customer_id}/shares", response=list[ShareOut],
            summary="A customer's shares in confirmed rounds")
def customer_shares(request, customer_id: int):
    return [share_out(s) for s in selectors.customer_shares(actor=request.user, customer_id=customer_id)]
