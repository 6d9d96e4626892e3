from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from pydantic import BaseModel


class TicketIn(Schema):
    customer: int
    kind: str = Field(..., max_length=20, description="consultation | repair | service | emergency")
    channel: str = Field(..., max_length=20, description="phone | email | online | in_person | wechat | letter")
    subject: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=1, max_length=10000)
    contact_name: str = Field("", max_length=100)
    priority: str | None = Field(None, max_length=10, description="low | normal | high | urgent")
    assignee: int | None = None
    received_at: dt.datetime | None = None


class TicketActionIn(Schema):
    action: str = Field(..., max_length=20, description="accept | start | resolve | reopen | inform | close | cancel")
    expected_version: int | None = None
    resolution: str | None = Field(None, max_length=5000)
    reason: str | None = Field(None, max_length=2000)
    informed_via: str | None = Field(None, max_length=20)
    informed_at: dt.datetime | None = None
    informed_note: str | None = Field(None, max_length=5000)
    confirmation: str | None = Field(None, max_length=5000)


class TicketAssignIn(Schema):
    user: int
    expected_version: int | None = None


class TicketEventOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    note: str


class TicketOut(BaseModel):
    id: int
    number: str
    customer: int
    customer_name: str
    kind: str
    kind_label: str
    channel: str
    subject: str
    description: str
    contact_name: str
    priority: str
    state: str
    state_label: str
    accountable: int
    accountable_name: str
    assignee: int | None
    assignee_name: str | None
    received_at: dt.datetime
    sla_days: int
    response_due_at: dt.datetime | None
    responded_at: dt.datetime | None
    due_at: dt.datetime
    breached: bool
    breached_at: dt.datetime | None
    escalation_level: int
    resolution: str
    resolved_at: dt.datetime | None
    customer_informed_at: dt.datetime | None
    customer_informed_via: str
    closed_at: dt.datetime | None
    version: int


class TicketDetailOut(TicketOut):
    confirmation: str
    cancel_reason: str
    customer_informed_note: str
    allowed_actions: list[str]
    events: list[TicketEventOut]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next: str | None


def ticket_out(t) -> dict:
    return {
        "id": t.id, "number": t.number, "customer": t.customer_id, "customer_name": t.customer.name,
        "kind": t.kind, "kind_label": str(t.get_kind_display()), "channel": t.channel, "subject": t.subject,
        "description": t.description, "contact_name": t.contact_name, "priority": t.priority, "state": t.state,
        "state_label": str(t.get_state_display()), "accountable": t.accountable_id,
        "accountable_name": str(t.accountable), "assignee": t.assignee_id,
        "assignee_name": str(t.assignee) if t.assignee_id else None, "received_at": t.received_at,
        "sla_days": t.sla_days, "response_due_at": t.response_due_at, "responded_at": t.responded_at,
        "due_at": t.due_at, "breached": t.breached_at is not None, "breached_at": t.breached_at,
        "escalation_level": t.escalation_level, "resolution": t.resolution, "resolved_at": t.resolved_at,
        "customer_informed_at": t.customer_informed_at, "customer_informed_via": t.customer_informed_via,
        "closed_at": t.closed_at, "version": t.version,
    }


def ticket_detail_out(t, events, allowed: list[str]) -> dict:
    return {
        **ticket_out(t), "confirmation": t.confirmation, "cancel_reason": t.cancel_reason,
        "customer_informed_note": t.customer_informed_note, "allowed_actions": allowed,
        "events": [{"at": e.at, "actor": e.actor_name, "action": e.action, "from_state": e.from_state,
                    "to_state": e.to_state, "note": e.note} for e in events],
    }


class DutyIn(Schema):
    user: int
    department: int | None = Field(None, description="empty: on duty for every department")
    start_date: dt.date
    end_date: dt.date
    weekdays: list[int] | None = Field(None, description="0 = Monday … 6 = Sunday; empty: every day")
    start_time: dt.time
    end_time: dt.time = Field(..., description="before start_time: the shift runs past midnight; equal: all day")
    note: str = Field("", max_length=200)


class DutyOut(BaseModel):
    id: int
    user: int
    user_name: str
    department: int | None
    department_name: str | None
    start_date: dt.date
    end_date: dt.date
    weekdays: list[int]
    start_time: dt.time
    end_time: dt.time
    note: str


class DutyPage(BaseModel):
    items: list[DutyOut]
    next: str | None


def duty_out(s) -> dict:
    from kehu.service_desk.tickets.duty import weekdays_list

    return {"id": s.id, "user": s.user_id, "user_name": str(s.user), "department": s.department_id,
            "department_name": s.department.name if s.department_id else None, "start_date": s.start_date,
            "end_date": s.end_date, "weekdays": weekdays_list(s.weekdays), "start_time": s.start_time,
            "end_time": s.end_time, "note": s.note}
