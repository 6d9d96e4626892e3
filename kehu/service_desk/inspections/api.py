from __future__ import annotations

import datetime as dt

from ninja import Router, Status

from kehu.service_desk.inspections import selectors, services
from kehu.service_desk.inspections.schemas import (
    CancelIn,
    ChecklistIn,
    ChecklistOut,
    ChecklistPage,
    ChecklistPatch,
    DeactivateIn,
    PlanIn,
    PlanOut,
    PlanPage,
    PlanPatch,
    ReportIn,
    VisitDetailOut,
    VisitPage,
    checklist_out,
    plan_out,
    visit_detail_out,
    visit_out,
)
from kehu.workdays.selectors import calendar_get

router = Router(tags=["inspections"])


# ---------------------------------------------------------------- checklists

@router.get("/inspection-checklists", response=ChecklistPage, summary="Inspection checklists")
def checklist_list(request, active: bool | None = None, ordering: str = "name", limit: int | None = None,
                   cursor: str | None = None):
    page = selectors.checklist_list(actor=request.user, active=active, ordering=ordering, limit=limit, cursor=cursor)
    return {"items": [checklist_out(c) for c in page.items], "next": page.next}


@router.post("/inspection-checklists", response={201: ChecklistOut}, summary="Define a checklist")
def checklist_create(request, payload: ChecklistIn):
    c = services.checklist_create(actor=request.user, data=payload.dict())
    return Status(201, checklist_out(selectors.checklist_get(actor=request.user, checklist_id=c.pk)))


@router.get("/inspection-checklists/{checklist_id}", response=ChecklistOut)
def checklist_get(request, checklist_id: int):
    return checklist_out(selectors.checklist_get(actor=request.user, checklist_id=checklist_id))


@router.patch("/inspection-checklists/{checklist_id}", response=ChecklistOut, summary="Change a checklist")
def checklist_update(request, checklist_id: int, payload: ChecklistPatch):
    c = services.checklist_update(actor=request.user, checklist_id=checklist_id,
                                  data=payload.dict(exclude_unset=True))
    return checklist_out(selectors.checklist_get(actor=request.user, checklist_id=c.pk))


# ---------------------------------------------------------------- plans

@router.get("/inspection-plans", response=PlanPage, summary="Inspection plans in my scope")
def plan_list(request, customer: int | None = None, active: bool | None = None, inspector: int | None = None,
              importance: str | None = None, ordering: str = "next_due", limit: int | None = None,
              cursor: str | None = None):
    page = selectors.plan_list(actor=request.user, customer=customer, active=active, inspector=inspector,
                               importance=importance, ordering=ordering, limit=limit, cursor=cursor)
    calendar = calendar_get()
    return {"items": [plan_out(p, calendar) for p in page.items], "next": page.next}


@router.post("/inspection-plans", response={201: PlanOut}, summary="Plan inspections for a customer")
def plan_create(request, payload: PlanIn):
    p = services.plan_create(actor=request.user, data=payload.dict())
    return Status(201, plan_out(selectors.plan_get(actor=request.user, plan_id=p.pk), calendar_get()))


@router.get("/inspection-plans/{plan_id}", response=PlanOut)
def plan_get(request, plan_id: int):
    return plan_out(selectors.plan_get(actor=request.user, plan_id=plan_id), calendar_get())


@router.patch("/inspection-plans/{plan_id}", response=PlanOut, summary="Change a plan")
def plan_update(request, plan_id: int, payload: PlanPatch):
    p = services.plan_update(actor=request.user, plan_id=plan_id, data=payload.dict(exclude_unset=True))
    return plan_out(selectors.plan_get(actor=request.user, plan_id=p.pk), calendar_get())


@router.post("/inspection-plans/{plan_id}/deactivate", response=PlanOut, summary="Stop a plan")
def plan_deactivate(request, plan_id: int, payload: DeactivateIn):
    p = services.plan_deactivate(actor=request.user, plan_id=plan_id, reason=payload.reason)
    return plan_out(selectors.plan_get(actor=request.user, plan_id=p.pk), calendar_get())


# ---------------------------------------------------------------- visits

@router.get("/inspection-visits", response=VisitPage, summary="Inspection visits in my scope")
def visit_list(request, customer: int | None = None, state: str | None = None, overdue: bool | None = None,
               inspector: int | None = None, plan: int | None = None, due_from: dt.date | None = None,
               due_to: dt.date | None = None, ordering: str = "due_date", limit: int | None = None,
               cursor: str | None = None):
    page = selectors.visit_list(actor=request.user, customer=customer, state=state, overdue=overdue,
                                inspector=inspector, plan=plan, due_from=due_from, due_to=due_to,
                                ordering=ordering, limit=limit, cursor=cursor)
    return {"items": [visit_out(v) for v in page.items], "next": page.next}


@router.get("/inspection-visits/{visit_id}", response=VisitDetailOut)
def visit_get(request, visit_id: int):
    return visit_detail_out(selectors.visit_detail(actor=request.user, visit_id=visit_id))


@router.post("/inspection-visits/{visit_id}/report", response={201: VisitDetailOut},
             summary="File the inspection report")
def visit_report(request, visit_id: int, payload: ReportIn):
    services.visit_report(actor=request.user, visit_id=visit_id, data=payload.dict())
    return Status(201, visit_detail_out(selectors.visit_detail(actor=request.user, visit_id=visit_id)))


@router.post("/inspection-visits/{visit_id}/cancel", response=VisitDetailOut,
             summary="Cancel a visit, or record it as missed, with the reason")
def visit_cancel(request, visit_id: int, payload: CancelIn):
    services.visit_cancel(actor=request.user, visit_id=visit_id, reason=payload.reason, missed=payload.missed)
    return visit_detail_out(selectors.visit_detail(actor=request.user, visit_id=visit_id))
