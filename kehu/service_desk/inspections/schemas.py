from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import BaseModel

Importance = Literal["key", "important", "normal"]
CycleUnit = Literal["day", "week", "month"]
AnswerValue = Literal["ok", "issue", "na"]


class ChecklistItemIn(Schema):
    label: str = Field(..., min_length=1, max_length=100)
    hint: str = Field("", max_length=300)


class ChecklistIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    active: bool = True
    items: list[ChecklistItemIn] = Field(..., min_length=1, max_length=50)


class ChecklistPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    active: bool | None = None
    items: list[ChecklistItemIn] | None = Field(None, min_length=1, max_length=50,
                                                description="the whole list, in order; matched by label")


class ChecklistItemOut(BaseModel):
    id: int
    position: int
    label: str
    hint: str


class ChecklistOut(BaseModel):
    id: int
    name: str
    description: str
    active: bool
    items: list[ChecklistItemOut]


class ChecklistPage(BaseModel):
    items: list[ChecklistOut]
    next: str | None


class PlanIn(Schema):
    customer: int
    checklist: int
    importance: Importance = "normal"
    cycle_length: int | None = Field(None, ge=1, le=3660,
                                     description="default: the inspection cycle of the service policy of the "
                                                 "customer's grade, else KEHU_INSPECTION_CYCLE_DAYS for the "
                                                 "importance; a plan without one follows that default")
    cycle_unit: CycleUnit | None = None
    inspector: int
    next_due: dt.date | None = Field(None, description="the first inspection (default: one cycle from today)")
    note: str = Field("", max_length=2000)


class PlanPatch(Schema):
    checklist: int | None = None
    importance: Importance | None = None
    cycle_length: int | None = Field(None, ge=1, le=3660)
    cycle_unit: CycleUnit | None = None
    cycle_default: bool | None = Field(None, description="true: the cycle follows the default again (the grade's, "
                                                         "else the importance's)")
    inspector: int | None = None
    next_due: dt.date | None = None
    note: str | None = Field(None, max_length=2000)


class DeactivateIn(Schema):
    reason: str = Field("", max_length=500)


class PlanOut(BaseModel):
    id: int
    customer: int
    customer_name: str
    checklist: int
    checklist_name: str
    importance: str
    cycle_length: int
    cycle_unit: str
    cycle_source: str = Field(description="grade (the service policy of the customer's grade), importance, or set "
                                          "(by hand)")
    inspector: int
    inspector_name: str
    next_due: dt.date
    next_due_deadline: dt.date = Field(description="next_due, or the working day before it")
    active: bool
    note: str


class PlanPage(BaseModel):
    items: list[PlanOut]
    next: str | None


class ResultIn(Schema):
    item: int
    answer: AnswerValue
    note: str = Field("", max_length=1000)


class ReportIn(Schema):
    performed_at: dt.datetime | None = Field(None, description="default: now")
    results: list[ResultIn] = Field(..., max_length=50)
    findings: str = Field("", max_length=5000, description="required when an item is marked issue")
    suggestions: str = Field("", max_length=5000)
    signed_by: str = Field("", max_length=100, description="the customer's representative who signed off")
    follow_up_needed: bool = False


class CancelIn(Schema):
    reason: str = Field(..., max_length=500)
    missed: bool = Field(False, description="record the round as missed rather than cancelled")


class ResultOut(BaseModel):
    item: int
    label: str
    answer: str
    note: str


class ReportOut(BaseModel):
    performed_at: dt.datetime
    results: list[ResultOut]
    issue_count: int
    findings: str
    suggestions: str
    signed_by: str
    follow_up_needed: bool
    filed_by: int
    filed_by_name: str


class VisitOut(BaseModel):
    id: int
    plan: int
    customer: int
    customer_name: str
    checklist: int
    checklist_name: str
    inspector: int
    inspector_name: str
    scheduled_date: dt.date
    due_date: dt.date
    state: str
    state_label: str
    overdue: bool
    closed_reason: str


class VisitDetailOut(VisitOut):
    report: ReportOut | None


class VisitPage(BaseModel):
    items: list[VisitOut]
    next: str | None


def checklist_out(c) -> dict:
    return {"id": c.pk, "name": c.name, "description": c.description, "active": c.active,
            "items": [{"id": i.pk, "position": i.position, "label": i.label, "hint": i.hint} for i in c.items.all()]}


def plan_out(p, calendar) -> dict:
    """``calendar``: the WorkCalendar (fetched once per response, not per plan)."""
    from kehu.service_desk.inspections.cycles import due_on_working_day

    return {"id": p.pk, "customer": p.customer_id, "customer_name": p.customer.name, "checklist": p.checklist_id,
            "checklist_name": p.checklist.name, "importance": p.importance, "cycle_length": p.cycle_length,
            "cycle_unit": p.cycle_unit, "cycle_source": p.cycle_source, "inspector": p.inspector_id, "inspector_name": str(p.inspector),
            "next_due": p.next_due, "next_due_deadline": due_on_working_day(p.next_due, calendar), "active": p.active,
            "note": p.note}


def visit_out(v) -> dict:
    return {"id": v.pk, "plan": v.plan_id, "customer": v.customer_id, "customer_name": v.customer.name,
            "checklist": v.plan.checklist_id, "checklist_name": v.plan.checklist.name,
            "inspector": v.inspector_id, "inspector_name": str(v.inspector), "scheduled_date": v.scheduled_date,
            "due_date": v.due_date, "state": v.state, "state_label": str(v.get_state_display()),
            "overdue": v.is_overdue, "closed_reason": v.closed_reason}


def report_out(r) -> dict:
    return {"performed_at": r.performed_at, "results": r.results, "issue_count": r.issue_count,
            "findings": r.findings, "suggestions": r.suggestions, "signed_by": r.signed_by,
            "follow_up_needed": r.follow_up_needed, "filed_by": r.filed_by_id, "filed_by_name": str(r.filed_by)}


def visit_detail_out(v) -> dict:
    report = getattr(v, "report_or_none", None)
    return {**visit_out(v), "report": report_out(report) if report else None}
