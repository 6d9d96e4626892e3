from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import BaseModel


class ComplaintIn(Schema):
    customer: int | None = None
    complainant_name: str = Field(..., min_length=1, max_length=100)
    complainant_phone: str | None = Field(None, max_length=30)
    complainant_company: str = Field("", max_length=200, description="the complainant's organisation (matching)")
    complainant_uscc: str = Field("", max_length=18, description="its USCC, when known (matching)")
    channel: str = Field(..., max_length=20)
    subject: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=1, max_length=10000)
    received_at: dt.datetime | None = None


class CandidateOut(Schema):
    customer_id: int
    name: str
    owner: str
    reason: str = Field(description="uscc, mobile, name or search: why it is proposed")
    score: int


class LinkCustomerIn(Schema):
    customer_id: int
    expected_version: int | None = None


class PublicComplaintIn(Schema):
    complainant_name: str = Field(..., min_length=1, max_length=100)
    complainant_phone: str = Field(..., min_length=7, max_length=30)
    company: str = Field("", max_length=200)
    subject: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=1, max_length=10000)
    website: str = Field("", max_length=200, description="leave empty (spam trap)")


class TrackIn(Schema):
    """Public tracking: the tracking number and the complainant's phone, in the body (never the URL,
    which lands in access logs)."""

    tracking_no: str = Field(..., min_length=1, max_length=32)
    phone: str = Field(..., min_length=1, max_length=30)


class ActionIn(Schema):
    action: str = Field(..., max_length=20)
    expected_version: int | None = None
    severity: str | None = Field(None, max_length=10)
    category: str | None = Field(None, max_length=50)
    cause: str | None = Field(None, max_length=5000)
    responsible: int | None = None
    solution: str | None = Field(None, max_length=5000)
    meeting_minutes: str | None = Field(None, max_length=10000)
    reply: str | None = Field(None, max_length=5000)
    return_visit_note: str | None = Field(None, max_length=5000)
    satisfied: bool | None = None
    evaluation: str | None = Field(None, max_length=5000)


class ReassignIn(Schema):
    user: int
    reason: str = Field(..., max_length=500)


class ExtensionIn(Schema):
    days: int
    reason: str = Field(..., max_length=500)


class ComplaintOut(BaseModel):
    id: int
    tracking_no: str
    customer: int | None
    customer_name: str | None
    complainant_name: str
    complainant_phone: str
    channel: str
    subject: str
    description: str
    state: str
    state_label: str
    severity: str
    category: str
    accountable: int
    accountable_name: str
    responsible: int | None
    cause: str
    solution: str
    reply: str
    received_at: dt.datetime
    sla_days: int
    due_at: dt.datetime
    breached: bool
    escalation_level: int
    version: int


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    next: str | None


class EventOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    note: str


class TrackOut(BaseModel):
    tracking_no: str
    state: str
    state_label: str
    received_at: dt.datetime
    due_at: dt.datetime
    answered: bool
    reply: str


def complaint_out(c) -> dict:
    return {
        "id": c.id, "tracking_no": c.tracking_no, "customer": c.customer_id,
        "customer_name": c.customer.name if c.customer_id else None, "complainant_name": c.complainant_name,
        "complainant_phone": c.complainant_phone_masked, "channel": c.channel, "subject": c.subject,
        "description": c.description, "state": c.state, "state_label": str(c.get_state_display()),
        "severity": c.severity, "category": c.category, "accountable": c.accountable_id,
        "accountable_name": str(c.accountable), "responsible": c.responsible_id, "cause": c.cause,
        "solution": c.solution, "reply": c.reply, "received_at": c.received_at, "sla_days": c.sla_days,
        "due_at": c.due_at, "breached": c.breached_at is not None, "escalation_level": c.escalation_level,
        "version": c.version,
    }


# ---------------------------------------------------------------- reports

class ReportRange(Schema):
    date_from: dt.date | None = Field(None, alias="from", description="First day of receipt (default: 12 months ago).")
    date_to: dt.date | None = Field(None, alias="to", description="Last day of receipt (default: today).")


class SlaReportQuery(ReportRange):
    group_by: Literal["severity", "department", "person", "month"] = "severity"


class CategoryTrendQuery(ReportRange):
    by: Literal["category", "cause"] = Field("category", description="Count per category or per recorded cause.")


class RepeatReportQuery(ReportRange):
    min_count: int = Field(2, ge=1, le=1000)


class SlaRowOut(BaseModel):
    key: str
    label: str
    total: int
    answered_in_time: int
    answered_late: int
    open_overdue: int
    pending: int = Field(description="open and not yet due: left out of the percentage")
    followup_open: int = Field(0, description="answered, return visit or summary outstanding (not an SLA matter)")
    followup_overdue: int = Field(0, description="of those, past the follow-up deadline (never an SLA breach)")
    compliance_pct: float | None = Field(description="in time ÷ (in time + late + open overdue), null when none")


class SlaReportOut(BaseModel):
    date_from: dt.date
    date_to: dt.date
    group_by: str
    rows: list[SlaRowOut]
    overall: SlaRowOut


class CauseRowOut(BaseModel):
    key: str
    label: str
    count: int
    pct: float | None
    cumulative_pct: float | None
    vital_few: bool = Field(description="among the categories that make up the first 80 %")


class CauseReportOut(BaseModel):
    date_from: dt.date
    date_to: dt.date
    total: int
    rows: list[CauseRowOut]


class RepeatRowOut(BaseModel):
    key: str
    customer: int | None
    name: str
    phone: str = Field(description="masked; set when no customer is linked")
    count: int
    last_received_at: dt.datetime
    last_complaint: int
    last_tracking_no: str


class RepeatReportOut(BaseModel):
    date_from: dt.date
    date_to: dt.date
    min_count: int
    rows: list[RepeatRowOut]


class HandlingRowOut(BaseModel):
    key: str
    label: str
    answered: int
    avg_working_days: float | None
    median_working_days: float | None


class HandlingReportOut(BaseModel):
    date_from: dt.date
    date_to: dt.date
    rows: list[HandlingRowOut]
    overall: HandlingRowOut
    truncated: bool


class TrendSeriesOut(BaseModel):
    key: str = Field(description="the category or cause; \"\" when none was recorded, \"*\" for the other values")
    label: str
    other: bool = Field(description="the sum of the values outside the 8 most frequent")
    counts: list[int] = Field(description="complaints per month, aligned with ``months``")
    total: int


class CategoryTrendOut(BaseModel):
    date_from: dt.date
    date_to: dt.date
    by: str
    months: list[str] = Field(description="every month of the range, YYYY-MM (Asia/Shanghai)")
    series: list[TrendSeriesOut] = Field(description="most frequent first; \"other\" last")
    totals: list[int] = Field(description="complaints per month, all series together")
    total: int
