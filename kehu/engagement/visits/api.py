"""/api/v1/visits/…: annual visit plans (年度客户走访计划), scheduled visits, scored visit reports (客户走访报告单) with their suggestions, executive mutual visits (高层互访). Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kehu.engagement.visits import selectors, services
from kehu.engagement.visits.models import ExecutiveVisit, ScheduledVisit, Suggestion, VisitPlan, VisitReport

router = Router(tags=["visits"])


# ---------------------------------------------------------------- shapes

class PlanOut(Schema):
    id: int
    owner: int
    owner_name: str
    department: str | None
    year: int
    state: str
    note: str
    visits: int | None = None
    done: int | None = None
    generated_at: dt.datetime | None
    submitted_at: dt.datetime | None
    approved_by: str | None
    approved_at: dt.datetime | None


class PlanEventOut(Schema):
    at: dt.datetime
    actor: str | None
    action: str
    from_state: str
    to_state: str
    note: str


class PlanDetail(PlanOut):
    events: list[PlanEventOut]


class PlanPage(Schema):
    items: list[PlanOut]
    next: str | None


class VisitOut(Schema):
    id: int
    plan: int
    customer: int
    customer_name: str
    owner: int
    owner_name: str
    planned_on: dt.date
    state: str
    source: str
    purpose: str
    is_return_visit: bool
    needs_authorisation: bool
    authorised_at: dt.datetime | None
    cancel_reason: str
    interaction: int | None
    done_at: dt.datetime | None
    report: int | None
    overdue: bool


class VisitPage(Schema):
    items: list[VisitOut]
    next: str | None


class ScaleChoice(Schema):
    id: int
    label: str
    points: int


class ScalesOut(Schema):
    version: int | None
    quality: list[ScaleChoice]
    service: list[ScaleChoice]
    reputation: list[ScaleChoice]


class SuggestionOut(Schema):
    id: int
    report: int
    customer_name: str
    topic: str
    text: str
    addressee: int | None
    addressee_name: str | None
    departments: list[str]
    state: str
    due_on: dt.date
    overdue: bool
    answer: str
    answered_by: str | None
    answered_at: dt.datetime | None


class SuggestionPage(Schema):
    items: list[SuggestionOut]
    next: str | None


class ReportOut(Schema):
    id: int
    visit: int
    customer: int
    customer_name: str
    customer_address: str
    legal_representative: str
    owner_name: str
    visited_on: dt.date
    quality: ScaleChoice
    service: ScaleChoice
    reputation: ScaleChoice
    score: Decimal
    product_info: str
    market_info: str
    needs: str
    other_suggestions: str
    principal_name: str
    principal_title: str
    principal_phone: str
    principal_mobile: str
    handler_name: str
    handler_title: str
    handler_phone: str
    handler_mobile: str
    signatory_name: str
    signed_on: dt.date
    suggestions: list[SuggestionOut] = []


class ReportPage(Schema):
    items: list[ReportOut]
    next: str | None


class CompletionRow(Schema):
    id: int | None
    name: str
    planned: int
    due: int
    done: int
    overdue: int
    rate: float | None


class CompletionOut(Schema):
    year: int
    by: str
    rows: list[CompletionRow]
    total: dict


class ExecutiveOut(Schema):
    id: int
    customer: int
    customer_name: str
    direction: str
    purpose: str
    starts_at: dt.datetime
    place: str
    our_participants: list[dict]
    customer_participants: list[dict]
    customer_participants_note: str
    state: str
    outcome: str


class ExecutivePage(Schema):
    items: list[ExecutiveOut]
    next: str | None


def plan_out(plan: VisitPlan, *, events=None) -> dict:
    out = {"id": plan.pk, "owner": plan.owner_id, "owner_name": str(plan.owner),
           "department": plan.department.name if plan.department_id else None, "year": plan.year,
           "state": plan.state, "note": plan.note, "visits": getattr(plan, "n_visits", None),
           "done": getattr(plan, "n_done", None), "generated_at": plan.generated_at,
           "submitted_at": plan.submitted_at, "approved_by": str(plan.approved_by) if plan.approved_by_id else None,
           "approved_at": plan.approved_at}
    if events is not None:
        out["events"] = [{"at": e.at, "actor": str(e.actor) if e.actor_id else None, "action": e.action,
                          "from_state": e.from_state, "to_state": e.to_state, "note": e.note} for e in events]
    return out


def visit_out(v: ScheduledVisit, cutoff: dt.date) -> dict:
    try:
        report_id = v.report.pk
    except VisitReport.DoesNotExist:
        report_id = None
    return {"id": v.pk, "plan": v.plan_id, "customer": v.customer_id, "customer_name": v.customer.name,
            "owner": v.owner_id, "owner_name": str(v.owner), "planned_on": v.planned_on, "state": v.state,
            "source": v.source, "purpose": v.purpose, "is_return_visit": v.is_return_visit,
            "needs_authorisation": v.needs_authorisation, "authorised_at": v.authorised_at,
            "cancel_reason": v.cancel_reason, "interaction": v.interaction_id, "done_at": v.done_at,
            "report": report_id, "overdue": v.state == "scheduled" and v.planned_on < cutoff}


def _choice(item) -> dict:
    return {"id": item.pk, "label": item.label, "points": item.points}


def suggestion_out(s: Suggestion, today: dt.date) -> dict:
    return {"id": s.pk, "report": s.report_id, "customer_name": s.report.customer_name, "topic": s.topic,
            "text": s.text, "addressee": s.addressee_id, "addressee_name": str(s.addressee) if s.addressee_id else None,
            "departments": [d.name for d in s.departments.all()], "state": s.state, "due_on": s.due_on,
            "overdue": s.state == "open" and s.due_on < today, "answer": s.answer,
            "answered_by": str(s.answered_by) if s.answered_by_id else None, "answered_at": s.answered_at}


def report_out(r: VisitReport, *, suggestions=None) -> dict:
    fields = ("customer_name", "customer_address", "legal_representative", "visited_on", "score", "product_info",
              "market_info", "needs", "other_suggestions", "principal_name", "principal_title", "principal_phone",
              "principal_mobile", "handler_name", "handler_title", "handler_phone", "handler_mobile",
              "signatory_name", "signed_on")
    out = {name: getattr(r, name) for name in fields}
    today = timezone.localdate()
    out.update(id=r.pk, visit=r.visit_id, customer=r.customer_id, owner_name=str(r.owner),
               quality=_choice(r.quality), service=_choice(r.service), reputation=_choice(r.reputation),
               suggestions=[suggestion_out(s, today) for s in (suggestions or [])])
    return out


def executive_out(v: ExecutiveVisit) -> dict:
    return {"id": v.pk, "customer": v.customer_id, "customer_name": v.customer.name, "direction": v.direction,
            "purpose": v.purpose, "starts_at": v.starts_at, "place": v.place,
            "our_participants": [{"id": u.pk, "name": str(u)} for u in v.our_participants.all()],
            "customer_participants": [{"id": c.pk, "name": c.name, "title": c.title}
                                      for c in v.customer_participants.all()],
            "customer_participants_note": v.customer_participants_note, "state": v.state, "outcome": v.outcome}


# ---------------------------------------------------------------- plans

class PlanFilters(Schema):
    year: int | None = None
    owner: int | None = None
    state: str | None = None
    ordering: str = "-year"
    limit: int | None = None
    cursor: str | None = None


class GenerateIn(Schema):
    year: int
    owner: int | None = None
    start: dt.date | None = None


class NoteIn(Schema):
    note: str = ""


@router.get("/visits/plans", response=PlanPage, summary="Annual visit plans in my scope")
def plan_list(request, filters: Query[PlanFilters]):
    page = selectors.plan_list(actor=request.user, **filters.dict())
    return {"items": [plan_out(p) for p in page.items], "next": page.next}


@router.post("/visits/plans/generate", response={201: PlanDetail},
             summary="Generate (or regenerate a draft) annual visit plan from the grades' visit frequency")
def plan_generate(request, payload: GenerateIn):
    plan = services.plan_generate(actor=request.user, year=payload.year, owner_id=payload.owner,
                                  start=payload.start)
    return Status(201, _plan_detail(request, plan.pk))


def _plan_detail(request, plan_id: int) -> dict:
    plan = selectors.plan_get(actor=request.user, plan_id=plan_id)
    return plan_out(plan, events=selectors.plan_events(plan=plan))


@router.get("/visits/plans/{plan_id}", response=PlanDetail)
def plan_get(request, plan_id: int):
    return _plan_detail(request, plan_id)


@router.post("/visits/plans/{plan_id}/submit", response=PlanDetail, summary="Submit the plan for approval")
def plan_submit(request, plan_id: int):
    services.plan_submit(actor=request.user, plan_id=plan_id)
    return _plan_detail(request, plan_id)


@router.post("/visits/plans/{plan_id}/approve", response=PlanDetail, summary="Approve a submitted plan")
def plan_approve(request, plan_id: int, payload: NoteIn):
    services.plan_approve(actor=request.user, plan_id=plan_id, note=payload.note)
    return _plan_detail(request, plan_id)


@router.post("/visits/plans/{plan_id}/return", response=PlanDetail, summary="Return a plan to draft, with a reason")
def plan_return(request, plan_id: int, payload: NoteIn):
    services.plan_return(actor=request.user, plan_id=plan_id, note=payload.note)
    return _plan_detail(request, plan_id)


class VisitIn(Schema):
    customer: int
    planned_on: dt.date
    purpose: str = ""
    is_return_visit: bool = False


@router.post("/visits/plans/{plan_id}/visits", response={201: VisitOut}, summary="Add a visit to a plan")
def visit_add(request, plan_id: int, payload: VisitIn):
    visit = services.visit_add(actor=request.user, plan_id=plan_id, data=payload.dict())
    v = selectors.visit_get(actor=request.user, visit_id=visit.pk)
    return Status(201, visit_out(v, selectors.overdue_cutoff(timezone.localdate())))


# ---------------------------------------------------------------- scheduled visits

class VisitFilters(Schema):
    plan: int | None = None
    state: str | None = None
    overdue: bool = False
    awaiting_authorisation: bool = False
    customer: int | None = None
    owner: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    ordering: str = "planned_on"
    limit: int | None = None
    cursor: str | None = None


@router.get("/visits/scheduled", response=VisitPage,
            summary="Scheduled visits in my scope (overdue=true: the overdue list)")
def visit_list(request, filters: Query[VisitFilters]):
    today = timezone.localdate()
    page = selectors.visit_list(actor=request.user, today=today, **filters.dict())
    cutoff = selectors.overdue_cutoff(today)
    return {"items": [visit_out(v, cutoff) for v in page.items], "next": page.next}


@router.get("/visits/scheduled/{visit_id}", response=VisitOut)
def visit_get(request, visit_id: int):
    v = selectors.visit_get(actor=request.user, visit_id=visit_id)
    return visit_out(v, selectors.overdue_cutoff(timezone.localdate()))


class MoveIn(Schema):
    planned_on: dt.date
    reason: str = ""


class ReasonIn(Schema):
    reason: str


@router.post("/visits/scheduled/{visit_id}/move", response=VisitOut, summary="Move a visit to another working day")
def visit_move(request, visit_id: int, payload: MoveIn):
    services.visit_move(actor=request.user, visit_id=visit_id, planned_on=payload.planned_on, reason=payload.reason)
    return visit_get(request, visit_id)


@router.post("/visits/scheduled/{visit_id}/cancel", response=VisitOut, summary="Cancel a visit, with the reason")
def visit_cancel(request, visit_id: int, payload: ReasonIn):
    services.visit_cancel(actor=request.user, visit_id=visit_id, reason=payload.reason)
    return visit_get(request, visit_id)


@router.post("/visits/scheduled/{visit_id}/authorise", response=VisitOut,
             summary="Authorise a return visit to a key account (leaders)")
def visit_authorise(request, visit_id: int, payload: NoteIn):
    services.visit_authorise(actor=request.user, visit_id=visit_id, note=payload.note)
    return visit_get(request, visit_id)


class SuggestionIn(Schema):
    topic: str = "other"
    text: str
    addressee: int | None = None
    departments: list[int] = []


class ReportIn(Schema):
    quality: int | str
    service: int | str
    reputation: int | str
    visited_on: dt.date | None = None
    customer_name: str | None = None
    customer_address: str | None = None
    legal_representative: str = ""
    product_info: str = Field("", max_length=4000)
    market_info: str = Field("", max_length=4000)
    needs: str = Field("", max_length=4000)
    other_suggestions: str = Field("", max_length=4000)
    principal_name: str = ""
    principal_title: str = ""
    principal_phone: str = ""
    principal_mobile: str = ""
    handler_name: str = ""
    handler_title: str = ""
    handler_phone: str = ""
    handler_mobile: str = ""
    signatory_name: str
    signed_on: dt.date | None = None
    suggestions: list[SuggestionIn] = []


@router.post("/visits/scheduled/{visit_id}/report", response={201: ReportOut},
             summary="File the visit report (客户走访报告单) of a scheduled visit")
def report_file(request, visit_id: int, payload: ReportIn):
    data = payload.dict()
    for key in ("customer_name", "customer_address"):
        if data[key] is None:
            data.pop(key)
    report = services.report_file(actor=request.user, visit_id=visit_id, data=data)
    return Status(201, report_get(request, report.pk))


# ---------------------------------------------------------------- completion, scales

class CompletionQuery(Schema):
    year: int | None = None
    by: str = Field("owner", pattern="^(owner|department)$")


@router.get("/visits/completion", response=CompletionOut,
            summary="Completion of the year's visits per account manager or department")
def completion(request, query: Query[CompletionQuery]):
    today = timezone.localdate()
    year = query.year or today.year
    rows = selectors.completion(actor=request.user, year=year, today=today, by=query.by)
    return {"year": year, "by": query.by, "rows": rows, "total": selectors.completion_total(rows)}


@router.get("/visits/scales", response=ScalesOut, summary="The visit report form's scales (current version)")
def scales(request):
    selectors.require_read(request.user)
    items = selectors.scale_items()
    version = next((i.version for rows in items.values() for i in rows), None)
    return {"version": version, **{k: [_choice(i) for i in items.get(k, [])]
                                   for k in ("quality", "service", "reputation")}}


# ---------------------------------------------------------------- reports

class ReportFilters(Schema):
    customer: int | None = None
    owner: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    ordering: str = "-visited_on"
    limit: int | None = None
    cursor: str | None = None


@router.get("/visits/reports", response=ReportPage, summary="Visit reports in my scope")
def report_list(request, filters: Query[ReportFilters]):
    page = selectors.report_list(actor=request.user, **filters.dict())
    return {"items": [report_out(r) for r in page.items], "next": page.next}


@router.get("/visits/reports/{report_id}", response=ReportOut)
def report_get(request, report_id: int):
    r = selectors.report_get(actor=request.user, report_id=report_id)
    return report_out(r, suggestions=selectors.report_suggestions(report=r))


# ---------------------------------------------------------------- suggestions

class SuggestionFilters(Schema):
    state: str | None = None
    mine: bool = False
    overdue: bool = False
    ordering: str = "due_on"
    limit: int | None = None
    cursor: str | None = None


class AnswerIn(Schema):
    answer: str


@router.get("/visits/suggestions", response=SuggestionPage,
            summary="Customers' suggestions from visit reports (mine=true: those routed to me or my department)")
def suggestion_list(request, filters: Query[SuggestionFilters]):
    today = timezone.localdate()
    page = selectors.suggestion_list(actor=request.user, today=today, **filters.dict())
    return {"items": [suggestion_out(s, today) for s in page.items], "next": page.next}


@router.get("/visits/suggestions/{suggestion_id}", response=SuggestionOut)
def suggestion_get(request, suggestion_id: int):
    return suggestion_out(selectors.suggestion_get(actor=request.user, suggestion_id=suggestion_id),
                          timezone.localdate())


@router.post("/visits/suggestions/{suggestion_id}/answer", response=SuggestionOut, summary="Answer a suggestion")
def suggestion_answer(request, suggestion_id: int, payload: AnswerIn):
    services.suggestion_answer(actor=request.user, suggestion_id=suggestion_id, answer=payload.answer)
    return suggestion_get(request, suggestion_id)


@router.post("/visits/suggestions/{suggestion_id}/close", response=SuggestionOut, summary="Close an answered suggestion")
def suggestion_close(request, suggestion_id: int):
    services.suggestion_close(actor=request.user, suggestion_id=suggestion_id)
    return suggestion_get(request, suggestion_id)


# ---------------------------------------------------------------- executive mutual visits

class ExecutiveFilters(Schema):
    state: str | None = None
    customer: int | None = None
    ordering: str = "-starts_at"
    limit: int | None = None
    cursor: str | None = None


class ExecutiveIn(Schema):
    customer: int
    direction: str = "outbound"
    purpose: str
    starts_at: dt.datetime
    place: str
    our_participants: list[int]
    customer_participants: list[int] = []
    customer_participants_note: str = ""


class ExecutivePatch(Schema):
    direction: str | None = None
    purpose: str | None = None
    starts_at: dt.datetime | None = None
    place: str | None = None
    our_participants: list[int] | None = None
    customer_participants: list[int] | None = None
    customer_participants_note: str | None = None


class OutcomeIn(Schema):
    outcome: str


@router.get("/visits/executive", response=ExecutivePage, summary="Executive mutual visits (高层互访) in my scope")
def executive_list(request, filters: Query[ExecutiveFilters]):
    page = selectors.executive_list(actor=request.user, **filters.dict())
    return {"items": [executive_out(v) for v in page.items], "next": page.next}


@router.post("/visits/executive", response={201: ExecutiveOut}, summary="Plan an executive mutual visit")
def executive_create(request, payload: ExecutiveIn):
    v = services.executive_create(actor=request.user, data=payload.dict())
    return Status(201, executive_get(request, v.pk))


@router.get("/visits/executive/{visit_id}", response=ExecutiveOut)
def executive_get(request, visit_id: int):
    return executive_out(selectors.executive_get(actor=request.user, visit_id=visit_id))


@router.patch("/visits/executive/{visit_id}", response=ExecutiveOut)
def executive_update(request, visit_id: int, payload: ExecutivePatch):
    data = {k: v for k, v in payload.dict().items() if k in payload.model_fields_set and v is not None}
    services.executive_update(actor=request.user, visit_id=visit_id, data=data)
    return executive_get(request, visit_id)


@router.post("/visits/executive/{visit_id}/outcome", response=ExecutiveOut, summary="Record the visit's outcome")
def executive_outcome(request, visit_id: int, payload: OutcomeIn):
    services.executive_record_outcome(actor=request.user, visit_id=visit_id, outcome=payload.outcome)
    return executive_get(request, visit_id)


@router.post("/visits/executive/{visit_id}/cancel", response=ExecutiveOut, summary="Cancel a planned executive visit")
def executive_cancel(request, visit_id: int, payload: ReasonIn):
    services.executive_cancel(actor=request.user, visit_id=visit_id, reason=payload.reason)
    return executive_get(request, visit_id)
