"""/api/v1/assessments/…: quarterly, half-yearly and yearly customer assessments (客户考评) per customer type, credit-term changes through approval, review reports. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kehu.qualification.assessments import report, selectors, services
from kehu.qualification.assessments.models import Assessment, AssessmentRun, TermsProposal

router = Router(tags=["assessments"])


class RunOut(Schema):
    id: int
    period_kind: str
    year: int
    number: int
    label: str
    period_start: dt.date
    period_end: dt.date
    state: str
    customers: int
    computed_at: dt.datetime | None
    finalized_at: dt.datetime | None


class RunPage(Schema):
    items: list[RunOut]
    next: str | None


class RunIn(Schema):
    period_kind: Literal["quarter", "half", "year"]
    year: int = Field(ge=2000, le=2100)
    number: int = Field(ge=1, le=4)


class RunFilters(Schema):
    period_kind: Literal["quarter", "half", "year"] | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int | None = None


class AssessmentOut(Schema):
    id: int
    run: int
    customer: int
    customer_name: str
    customer_type: str
    owner: str | None
    planned_t: Decimal
    ordered_t: Decimal
    months_with_orders: int
    due_amount: Decimal
    paid_on_time_amount: Decimal
    admission_score: Decimal | None
    plan_score: Decimal | None
    regularity_score: Decimal | None
    cooperation_score: Decimal | None
    cooperation_note: str
    credit_score: Decimal | None
    total: Decimal | None
    result: str
    terms_kind: str


class AssessmentPage(Schema):
    items: list[AssessmentOut]
    next: str | None


class RowFilters(Schema):
    result: Literal["excellent", "good", "qualified", "unqualified", "unrated"] | None = None
    customer_type: Literal["direct", "exclusive_agent", "dealer"] | None = None
    ordering: Literal["-total", "total", "customer_name", "-customer_name", "id", "-id"] = "-total"
    cursor: str | None = Field(default=None, max_length=200)
    limit: int | None = None


class CooperationIn(Schema):
    score: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2)
    note: str = Field(default="", max_length=500)


class TermsIn(Schema):
    kind: Literal["prepay", "credit"]
    credit_limit: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=2)
    credit_days: int | None = Field(default=None, ge=0, le=3650)
    reason: str = Field(max_length=4000)


class TermsOut(Schema):
    id: int
    customer: int
    assessment: int | None
    current: dict
    kind: str
    credit_limit: Decimal | None
    credit_days: int | None
    reason: str
    state: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None


class TermsPage(Schema):
    items: list[TermsOut]
    next: str | None


class TermsFilters(Schema):
    state: Literal["pending", "returned", "approved", "rejected", "cancelled"] | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int | None = None


class CountOut(Schema):
    result: str
    label: str
    customers: int


class ReportOut(Schema):
    run: RunOut
    customers: int
    average: Decimal | None
    unscored_cooperation: int
    by_result: list[CountOut]


def run_out(r: AssessmentRun) -> dict:
    return {f: getattr(r, f) for f in ("id", "period_kind", "year", "number", "label", "period_start", "period_end",
                                       "state", "customers", "computed_at", "finalized_at")}


def assessment_out(a: Assessment) -> dict:
    out = {f: getattr(a, f) for f in ("id", "customer_name", "customer_type", "planned_t", "ordered_t",
                                      "months_with_orders", "due_amount", "paid_on_time_amount", "admission_score",
                                      "plan_score", "regularity_score", "cooperation_score", "cooperation_note",
                                      "credit_score", "total", "result", "terms_kind")}
    return {**out, "run": a.run_id, "customer": a.customer_id, "owner": str(a.owner) if a.owner_id else None}


def terms_out(p: TermsProposal) -> dict:
    return {"id": p.pk, "customer": p.customer_id, "assessment": p.assessment_id, "current": p.current,
            "kind": p.kind, "credit_limit": p.credit_limit, "credit_days": p.credit_days, "reason": p.reason,
            "state": p.state, "requested_at": p.requested_at, "decided_at": p.decided_at}


@router.get("/assessments/runs", response=RunPage, summary="Assessment runs (one per period)")
def run_list(request, filters: Query[RunFilters]):
    page = selectors.run_list(actor=request.user, **filters.dict())
    return {"items": [run_out(r) for r in page.items], "next": page.next}


@router.post("/assessments/runs", response={201: RunOut},
             summary="Assess every customer for a quarter, half-year or year (recomputes a draft)")
def run_create(request, payload: RunIn):
    run = services.run_create(actor=request.user, period_kind=payload.period_kind, year=payload.year,
                              number=payload.number)
    return Status(201, run_out(run))


@router.get("/assessments/runs/{run_id}", response=ReportOut, summary="A run with its review report (in scope)")
def run_get(request, run_id: int):
    rep = selectors.run_report(actor=request.user, run_id=run_id)
    return {"run": run_out(rep["run"]), "customers": rep["n"], "average": rep["avg"],
            "unscored_cooperation": rep["unscored"],
            "by_result": [{"result": r, "label": str(label), "customers": n} for r, label, n in rep["by_result"]]}


@router.post("/assessments/runs/{run_id}/finalize", response=RunOut,
             summary="Make a run final: the scores go to grading")
def run_finalize(request, run_id: int):
    return run_out(services.run_finalize(actor=request.user, run_id=run_id))


@router.get("/assessments/runs/{run_id}/rows", response=AssessmentPage, summary="The customers of a run (in scope)")
def run_rows(request, run_id: int, filters: Query[RowFilters]):
    page = selectors.assessment_list(actor=request.user, run_id=run_id, **filters.dict())
    return {"items": [assessment_out(a) for a in page.items], "next": page.next}


@router.get("/assessments/runs/{run_id}/export", summary="The review report as XLSX (in scope)")
def run_export(request, run_id: int):
    name, body = report.workbook(actor=request.user, run_id=run_id)
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/assessments/rows/{assessment_id}", response=AssessmentOut)
def assessment_get(request, assessment_id: int):
    return assessment_out(selectors.assessment_get(actor=request.user, assessment_id=assessment_id))


@router.post("/assessments/rows/{assessment_id}/cooperation", response=AssessmentOut,
             summary="Score cooperation (配合度) by hand, 0–100")
def cooperation(request, assessment_id: int, payload: CooperationIn):
    a = services.cooperation_score_set(actor=request.user, assessment_id=assessment_id, score=payload.score,
                                       note=payload.note)
    return assessment_out(a)


@router.post("/assessments/rows/{assessment_id}/terms", response={201: TermsOut},
             summary="Propose changed payment terms (the line manager, finance, then the general manager approve)")
def terms_propose(request, assessment_id: int, payload: TermsIn):
    p = services.terms_propose(actor=request.user, assessment_id=assessment_id, kind=payload.kind,
                               credit_limit=payload.credit_limit, credit_days=payload.credit_days,
                               reason=payload.reason)
    return Status(201, terms_out(p))


@router.get("/assessments/terms", response=TermsPage, summary="Payment-term proposals in scope")
def terms_list(request, filters: Query[TermsFilters]):
    page = selectors.proposal_list(actor=request.user, **filters.dict())
    return {"items": [terms_out(p) for p in page.items], "next": page.next}
