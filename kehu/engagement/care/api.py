"""/api/v1/care/… and /api/v1/calendar/…: care reminders (birthdays, anniversaries, holidays, new-product notices) and the personal calendar with its iCalendar feed. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema, Status

from kehu.engagement.care import agenda, selectors, services
from kehu.engagement.care.models import CareReminder

router = Router(tags=["care"])


class ReminderOut(Schema):
    id: int
    kind: str
    customer: int
    customer_name: str
    contact: int | None
    title: str
    occasion_date: dt.date
    remind_on: dt.date
    owner: int
    state: str
    reason: str
    note: str


class ReminderPage(Schema):
    items: list[ReminderOut]
    next: str | None


class ReminderFilters(Schema):
    state: str | None = None
    kind: str | None = None
    mine: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    ordering: str = "occasion_date"
    limit: int | None = None
    cursor: str | None = None


class NoteIn(Schema):
    note: str = ""


class ProfileOut(Schema):
    contact: int
    name: str
    customer: int
    preferences: str
    opt_out: bool
    has_birthday: bool


class ProfileIn(Schema):
    preferences: str | None = None
    opt_out: bool | None = None
    birthday: str | None = None


class NoticeIn(Schema):
    title: str
    product_line: str = ""
    summary: str = ""
    launch_date: str


class NoticeOut(Schema):
    id: int
    title: str
    product_line: str
    summary: str
    launch_date: dt.date
    created: int | None = None
    withheld: int | None = None


class RunOut(Schema):
    created: int
    withheld: int
    updated: int


class EventOut(Schema):
    uid: str
    kind: str
    title: str
    start: str
    end: str | None
    all_day: bool
    url: str
    detail: str
    location: str


class EventFilters(Schema):
    start: dt.date
    end: dt.date
    kinds: list[str] = []


class TokenOut(Schema):
    active: bool
    hint: str | None
    created_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenNew(Schema):
    url: str


def reminder_out(r: CareReminder) -> dict:
    return {"id": r.pk, "kind": r.kind, "customer": r.customer_id, "customer_name": r.customer.name,
            "contact": r.contact_id, "title": r.title, "occasion_date": r.occasion_date, "remind_on": r.remind_on,
            "owner": r.owner_id, "state": r.state, "reason": r.reason, "note": r.note}


@router.get("/care/reminders", response=ReminderPage, summary="Care reminders of the customers in my scope")
def reminder_list(request, filters: Query[ReminderFilters]):
    page = selectors.reminder_list(actor=request.user, **filters.dict())
    return {"items": [reminder_out(r) for r in page.items], "next": page.next}


@router.get("/care/reminders/{reminder_id}", response=ReminderOut)
def reminder_get(request, reminder_id: int):
    return reminder_out(selectors.reminder_get(actor=request.user, reminder_id=reminder_id))


@router.post("/care/reminders/{reminder_id}/done", response=ReminderOut)
def reminder_done(request, reminder_id: int, payload: NoteIn):
    return reminder_out(services.reminder_done(actor=request.user, reminder_id=reminder_id, note=payload.note))


@router.post("/care/reminders/{reminder_id}/skip", response=ReminderOut)
def reminder_skip(request, reminder_id: int, payload: NoteIn):
    return reminder_out(services.reminder_skip(actor=request.user, reminder_id=reminder_id, note=payload.note))


@router.post("/care/run", response=RunOut, summary="Make the care reminders now (the daily task does it too)")
def run(request):
    return services.care_reminders_generate(actor=request.user)


def profile_out(contact, profile) -> dict:
    return {"contact": contact.pk, "name": contact.name, "customer": contact.customer_id,
            "preferences": profile.preferences if profile else "", "opt_out": bool(profile and profile.opt_out),
            "has_birthday": contact.birthday is not None}


@router.get("/care/profiles/{contact_id}", response=ProfileOut, summary="A contact's care profile")
def profile_get(request, contact_id: int):
    return profile_out(*selectors.care_profile_get(actor=request.user, contact_id=contact_id))


@router.put("/care/profiles/{contact_id}", response=ProfileOut)
def profile_set(request, contact_id: int, payload: ProfileIn):
    data = {k: v for k, v in payload.dict().items() if k in payload.model_fields_set}
    services.care_profile_set(actor=request.user, contact_id=contact_id, data=data)
    return profile_out(*selectors.care_profile_get(actor=request.user, contact_id=contact_id))


@router.get("/care/product-notices", response=list[NoticeOut])
def notice_list(request):
    return [{"id": n.pk, "title": n.title, "product_line": n.product_line, "summary": n.summary,
             "launch_date": n.launch_date} for n in selectors.notice_list(actor=request.user)]


@router.post("/care/product-notices", response={201: NoticeOut}, summary="Announce a new product to key accounts")
def notice_create(request, payload: NoticeIn):
    n, result = services.product_notice_create(actor=request.user, data=payload.dict())
    return Status(201, {"id": n.pk, "title": n.title, "product_line": n.product_line, "summary": n.summary,
                        "launch_date": n.launch_date, "created": result["created"], "withheld": result["withheld"]})


def event_out(e) -> dict:
    all_day = not isinstance(e.start, dt.datetime)
    return {"uid": e.uid, "kind": e.kind, "title": e.title, "start": e.start.isoformat(),
            "end": e.end.isoformat() if e.end else None, "all_day": all_day, "url": e.url, "detail": e.detail,
            "location": e.location}


@router.get("/calendar/events", response=list[EventOut], summary="My calendar: events on start <= day < end")
def calendar_events(request, filters: Query[EventFilters]):
    events = agenda.events_for(request.user, start=filters.start, end=filters.end, kinds=set(filters.kinds) or None)
    return [event_out(e) for e in events]


@router.get("/calendar/token", response=TokenOut, summary="My calendar feed URL's state")
def token_get(request):
    t = selectors.calendar_token_live(actor=request.user)
    return {"active": t is not None, "hint": t.hint if t else None, "created_at": t.created_at if t else None,
            "last_used_at": t.last_used_at if t else None}


@router.post("/calendar/token", response={201: TokenNew}, summary="A new secret feed URL (the old one stops)")
def token_rotate(request):
    from django.urls import reverse

    secret = services.calendar_token_rotate(actor=request.user)
    return Status(201, {"url": request.build_absolute_uri(reverse("care:feed", args=[secret]))})


@router.delete("/calendar/token", response={204: None})
def token_revoke(request):
    services.calendar_token_revoke(actor=request.user)
    return Status(204, None)
