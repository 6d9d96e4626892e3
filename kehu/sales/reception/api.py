"""/api/v1/reception/…: the daily duty roster and reception rotation (排班轮流接待), walk-ins and calls (来人来电登记) with their statistics, make-up turns, designated receptions. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from kehu.access.protection import mask_mobile
from kehu.errors import NotFound
from kehu.sales.reception import rotation, selectors, services
from kehu.sales.reception.models import DutyDay, RegisterEntry

router = Router(tags=["reception"])


# ---------------------------------------------------------------- shapes

class SourceOut(Schema):
    id: int
    code: str
    name: str
    company: bool
    position: int
    active: bool


class SourceIn(Schema):
    code: str
    name: str
    company: bool = False
    position: int = 0


class ShiftOut(Schema):
    rep: int
    rep_name: str
    position: int
    status: str
    makeups: int


class RosterOut(Schema):
    id: int | None
    department: int
    department_name: str
    day: dt.date
    last_rep: int | None
    note: str
    shifts: list[ShiftOut]
    next_reps: list[int]


class RosterIn(Schema):
    day: dt.date
    reps: list[int]
    department: int | None = None
    note: str = ""


class RosterCopyIn(Schema):
    from_day: dt.date
    to_day: dt.date
    department: int | None = None


class ShiftStatusIn(Schema):
    day: dt.date
    rep: int
    status: str
    department: int | None = None


class EntryOut(Schema):
    id: int
    kind: str
    at: dt.datetime
    day: dt.date
    source: int
    source_name: str
    customer: int | None
    visitor_name: str
    visitor_phone: str
    party_size: int
    intention: str
    returning: bool
    rep: int
    rep_name: str
    assignment: str
    counted: bool
    arranged_by_company: bool
    outcome: str
    refusal: str
    refusal_reason: str
    first_receiver: int | None
    spouse_of: int | None = None
    note: str


class EntryPage(Schema):
    items: list[EntryOut]
    next: str | None


class EntryIn(Schema):
    kind: str = "walk_in"
    source: int
    customer: int | None = None
    visitor_name: str = ""
    visitor_phone: str = ""
    party_size: int = 1
    intention: str = ""
    designated_rep: int | None = None
    arranged_by_company: bool = False
    spouse_of: int | None = None
    note: str = ""


class EntryRegisterIn(Schema):
    kind: str = "person"
    name: str | None = None
    phone_consent: bool = False


class EntryFilters(Schema):
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    kind: str | None = None
    rep: int | None = None
    source: int | None = None
    refusal: str | None = None
    limit: int | None = None
    cursor: str | None = None


class OutcomeIn(Schema):
    outcome: str
    note: str | None = None


class RefuseIn(Schema):
    reason: str


class ResolveIn(Schema):
    decision: str
    designated_rep: int | None = None


class MyDutyOut(Schema):
    on_duty: bool
    day: dt.date
    department: str | None = None
    status: str | None = None
    position: int | None = None
    makeups: int = 0
    reps_on_duty: int = 0


class StatRow(Schema):
    key: int | None = None
    name: str = ""
    walk_ins: int
    calls: int
    turns: int
    customers: int | None = None
    deals: int | None = None
    conversion: float | None = None


class DayRow(Schema):
    day: dt.date
    walk_ins: int
    calls: int
    turns: int


class StatsOut(Schema):
    period: str
    start: dt.date
    end: dt.date
    totals: StatRow
    days: list[DayRow]
    by_source: list[StatRow]
    by_rep: list[StatRow]


class StatsFilters(Schema):
    period: str = "month"
    on: dt.date | None = None


def source_out(s) -> dict:
    return {"id": s.pk, "code": s.code, "name": s.name, "company": s.company, "position": s.position,
            "active": s.active}


def roster_out(duty: DutyDay | dict) -> dict:
    if isinstance(duty, dict):
        return duty
    shifts = sorted(duty.shifts.all(), key=lambda s: s.position)
    queue = services._load_queue(duty, shifts)
    return {"id": duty.pk, "department": duty.department_id, "department_name": duty.department.name,
            "day": duty.day, "last_rep": duty.last_rep_id, "note": duty.note,
            "shifts": [{"rep": s.rep_id, "rep_name": str(s.rep), "position": s.position, "status": s.status,
                        "makeups": queue.makeups.count(s.rep_id)} for s in shifts],
            "next_reps": rotation.peek(queue, 3)}


def entry_out(e: RegisterEntry) -> dict:
    return {"id": e.pk, "kind": e.kind, "at": e.at, "day": e.day, "source": e.source_id,
            "source_name": e.source.name, "customer": e.customer_id, "visitor_name": e.visitor_name,
            "visitor_phone": mask_mobile(e.visitor_phone) if e.visitor_phone else "", "party_size": e.party_size,
            "intention": e.intention, "returning": e.is_returning, "rep": e.rep_id, "rep_name": str(e.rep),
            "assignment": e.assignment, "counted": e.counted, "arranged_by_company": e.arranged_by_company,
            "outcome": e.outcome, "refusal": e.refusal, "refusal_reason": e.refusal_reason,
            "first_receiver": e.first_receiver_id, "spouse_of": e.spouse_of_id, "note": e.note}


def _roster(request, day, department) -> DutyDay | dict:
    """The day's roster; an empty one (no id, nobody on duty) when the manager has not set it yet."""
    duty = selectors.roster_get(actor=request.user, day=day, department_id=department)
    if duty is None:
        from kehu.access.models import Department

        dept = Department.objects.filter(pk=department or request.user.department_id).first()
        if dept is None:
            raise NotFound(_("Department not found."))
        return {"id": None, "department": dept.pk, "department_name": dept.name, "day": day, "last_rep": None,
                "note": "", "shifts": [], "next_reps": []}
    return duty


# ---------------------------------------------------------------- endpoints

@router.get("/reception/sources", response=list[SourceOut], summary="Source channels of visitors and callers")
def source_list(request):
    return [source_out(s) for s in selectors.source_list(actor=request.user)]


@router.post("/reception/sources", response={201: SourceOut}, summary="Add a source channel (managers)")
def source_create(request, payload: SourceIn):
    return Status(201, source_out(services.source_create(actor=request.user, data=payload.dict())))


class RosterQuery(Schema):
    day: dt.date | None = None
    department: int | None = None


@router.get("/reception/roster", response=RosterOut, summary="A day's duty roster and who is next in rotation")
def roster_get(request, q: Query[RosterQuery]):
    return roster_out(_roster(request, q.day or timezone.localdate(), q.department))


@router.post("/reception/roster", response=RosterOut, summary="Set a day's duty roster in order (managers)")
def roster_set(request, payload: RosterIn):
    duty = services.roster_set(actor=request.user, day=payload.day, reps=payload.reps,
                               department=payload.department, note=payload.note)
    return roster_out(_roster(request, duty.day, duty.department_id))


@router.post("/reception/roster/copy", response=RosterOut, summary="Copy a day's roster to another day (managers)")
def roster_copy(request, payload: RosterCopyIn):
    duty = services.roster_copy(actor=request.user, from_day=payload.from_day, to_day=payload.to_day,
                                department=payload.department)
    return roster_out(_roster(request, duty.day, duty.department_id))


@router.post("/reception/roster/status", response=RosterOut,
             summary="Mark a rep on duty present, absent or out on an assigned duty")
def shift_status(request, payload: ShiftStatusIn):
    shift = services.shift_status_set(actor=request.user, day=payload.day, rep=payload.rep, status=payload.status,
                                      department=payload.department)
    return roster_out(_roster(request, payload.day, shift.duty_day.department_id))


@router.get("/reception/my-duty", response=MyDutyOut, summary="My duty today and my place in line")
def my_duty(request):
    selectors.require_read(request.user)
    today = timezone.localdate()
    mine = selectors.my_duty(actor=request.user, day=today)
    if mine is None:
        return {"on_duty": False, "day": today}
    return {"on_duty": True, "day": today, "department": mine["department"].name, "status": mine["status"],
            "position": mine["position"], "makeups": mine["makeups"], "reps_on_duty": mine["on_duty"]}


@router.get("/reception/entries", response=EntryPage, summary="Visitor and call register in my scope")
def entry_list(request, filters: Query[EntryFilters]):
    page = selectors.entry_list(actor=request.user, **filters.dict())
    return {"items": [entry_out(e) for e in page.items], "next": page.next}


@router.post("/reception/entries", response={201: EntryOut},
             summary="Register a walk-in (assigned by the rotation) or a call")
def entry_create(request, payload: EntryIn):
    entry = services.entry_create(actor=request.user, data=payload.dict())
    return Status(201, entry_out(RegisterEntry.objects.select_related("source", "rep").get(pk=entry.pk)))


@router.get("/reception/entries/{entry_id}", response=EntryOut)
def entry_get(request, entry_id: int):
    return entry_out(selectors.entry_get(actor=request.user, entry_id=entry_id))


@router.post("/reception/entries/{entry_id}/outcome", response=EntryOut, summary="Record how the visit ended")
def entry_outcome(request, entry_id: int, payload: OutcomeIn):
    services.entry_outcome_set(actor=request.user, entry_id=entry_id, outcome=payload.outcome, note=payload.note)
    return entry_out(selectors.entry_get(actor=request.user, entry_id=entry_id))


@router.post("/reception/entries/{entry_id}/register", response=EntryOut,
             summary="The receiving rep registers the visitor as their customer (客户登记; first registration wins)")
def entry_register(request, entry_id: int, payload: EntryRegisterIn):
    services.entry_register(actor=request.user, entry_id=entry_id, kind=payload.kind, name=payload.name,
                            phone_consent=payload.phone_consent)
    return entry_out(selectors.entry_get(actor=request.user, entry_id=entry_id))


@router.post("/reception/entries/{entry_id}/refuse", response=EntryOut,
             summary="The customer refuses the rep mid-visit (for the manager to handle)")
def entry_refuse(request, entry_id: int, payload: RefuseIn):
    services.entry_refuse(actor=request.user, entry_id=entry_id, reason=payload.reason)
    return entry_out(selectors.entry_get(actor=request.user, entry_id=entry_id))


@router.post("/reception/entries/{entry_id}/resolve", response=EntryOut,
             summary="The manager handles a refusal: keep, reassign (make-up turn) or designate")
def refusal_resolve(request, entry_id: int, payload: ResolveIn):
    entry = services.refusal_resolve(actor=request.user, entry_id=entry_id, decision=payload.decision,
                                     designated_rep=payload.designated_rep)
    return entry_out(RegisterEntry.objects.select_related("source", "rep").get(pk=entry.pk))


def stats_out(stats: dict) -> dict:
    def row(r, key):
        return {"key": r.get(key), "name": r.get("name") or "", "walk_ins": r["walk_ins"], "calls": r["calls"],
                "turns": r["turns"], "customers": r.get("customers"), "deals": r.get("deals"),
                "conversion": r.get("conversion")}

    return {"period": stats["period"], "start": stats["start"], "end": stats["end"],
            "totals": row(stats["totals"], "none"), "days": stats["days"],
            "by_source": [row(r, "source_id") for r in stats["by_source"]],
            "by_rep": [row(r, "rep_id") for r in stats["by_rep"]]}


@router.get("/reception/statistics", response=StatsOut,
            summary="Visitor and call statistics of a day, week or month, with conversion by source and rep")
def statistics(request, q: Query[StatsFilters]):
    return stats_out(selectors.statistics(actor=request.user, period=q.period, on=q.on or timezone.localdate()))
