"""API shapes of the periodic review and of reassignment."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import BaseModel


class RunIn(Schema):
    stale_months: int | None = Field(None, description="default KEHU_REVIEW_STALE_MONTHS (12)")
    due_days: int | None = Field(None, description="working days; default KEHU_REVIEW_DUE_WORKING_DAYS (14)")
    note: str = Field("", max_length=200)


class Counts(BaseModel):
    id: int | None
    name: str
    total: int
    open: int
    done: int
    overdue: int


class PersonCounts(Counts):
    department: str


class Progress(BaseModel):
    total: int
    open: int
    done: int
    overdue: int
    departments: list[Counts]
    people: list[PersonCounts]


class RunOut(BaseModel):
    id: int
    state: str
    started_by: int
    started_by_name: str
    department: str | None
    stale_months: int
    due_days: int
    due_date: dt.date
    total: int
    scanned: int
    items: int
    note: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    progress: Progress | None = None


class RunPage(BaseModel):
    items: list[RunOut]
    next: str | None


def run_out(run, progress: dict | None = None) -> dict:
    return {"id": run.pk, "state": run.state, "started_by": run.started_by_id, "started_by_name": str(run.started_by),
            "department": run.department.name if run.department_id else None, "stale_months": run.stale_months,
            "due_days": run.due_days, "due_date": run.due_date, "total": run.total, "scanned": run.scanned,
            "items": run.items_count, "note": run.note, "created_at": run.created_at,
            "finished_at": run.finished_at, "progress": progress}


class ItemOut(BaseModel):
    id: int
    run: int
    customer: int
    customer_name: str
    assignee: int
    assignee_name: str
    department: str | None
    reasons: list[str]
    details: dict
    due_date: dt.date
    overdue: bool
    state: str
    resolved_by: str | None
    resolved_at: dt.datetime | None
    note: str


class ItemPage(BaseModel):
    items: list[ItemOut]
    next: str | None


def item_out(item, today: dt.date) -> dict:
    return {"id": item.pk, "run": item.run_id, "customer": item.customer_id, "customer_name": item.customer.name,
            "assignee": item.assignee_id, "assignee_name": str(item.assignee),
            "department": item.department.name if item.department_id else None, "reasons": item.reasons,
            "details": item.details, "due_date": item.due_date,
            "overdue": item.state == "open" and item.due_date < today, "state": item.state,
            "resolved_by": str(item.resolved_by) if item.resolved_by_id else None, "resolved_at": item.resolved_at,
            "note": item.note}


class ResolveIn(Schema):
    state: Literal["confirmed", "fixed", "not_applicable"]
    note: str = Field("", max_length=500)


class ReassignIn(Schema):
    source: int
    targets: list[int] = Field(..., min_length=1, max_length=50)
    strategy: Literal["even", "random"] = "even"
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    q: str | None = None
    industry: str | None = None
    city: str | None = None
    stage: str | None = None
    status: str | None = None
    kind: str | None = None
    tag: int | None = None

    def filters(self) -> dict:
        return {k: getattr(self, k) for k in ("q", "industry", "city", "stage", "status", "kind", "tag")}


class TargetOut(BaseModel):
    id: int
    name: str
    department: str
    current: int
    added: int
    after: int


class SampleOut(BaseModel):
    customer: int
    name: str
    target: int
    target_name: str


class UserRef(BaseModel):
    id: int
    name: str


class ReassignPreviewOut(BaseModel):
    source: UserRef
    strategy: str
    seed: int | None
    total: int
    targets: list[TargetOut]
    sample: list[SampleOut]


class ReassignOut(BaseModel):
    source: UserRef
    strategy: str
    seed: int | None
    moved: int
    targets: list[TargetOut]
    sample: list[SampleOut]
