"""/api/v1/symposia/…: customer symposia (客户座谈会): plan, invitations, attendance, minutes, follow-up items. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema, Status

from kehu.engagement.symposia import selectors, services
from kehu.engagement.symposia.models import FollowUpItem, Invitation, Symposium

router = Router(tags=["symposia"])


class SymposiumIn(Schema):
    title: str
    starts_at: str
    ends_at: str | None = None
    place: str
    topics: list[str]
    agenda: str = ""


class SymposiumPatch(Schema):
    title: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    place: str | None = None
    topics: list[str] | None = None
    agenda: str | None = None


class SymposiumOut(Schema):
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    place: str
    topics: list[str]
    agenda: str
    state: str
    organizer: str
    segment: dict
    minutes: str
    minutes_at: dt.datetime | None
    cancel_reason: str
    invited: int | None = None
    accepted: int | None = None
    attended: int | None = None


class SymposiumPage(Schema):
    items: list[SymposiumOut]
    next: str | None


class InvitationOut(Schema):
    id: int
    customer: int
    customer_name: str
    owner: str
    contact: str | None
    state: str
    attended: bool | None
    answered_at: dt.datetime | None
    note: str


class ItemOut(Schema):
    id: int
    symposium: int
    title: str
    owner: int
    owner_name: str
    customer: int | None
    due_date: dt.date
    state: str
    resolution: str
    closed_at: dt.datetime | None


class InviteIn(Schema):
    customers: list[int] = []
    segment: dict | None = None


class InviteOut(Schema):
    added: int


class AnswerIn(Schema):
    state: str
    note: str = ""


class AttendanceIn(Schema):
    attended: list[int]


class MinutesIn(Schema):
    minutes: str


class CancelIn(Schema):
    reason: str


class ItemIn(Schema):
    title: str
    owner: int
    due_date: str
    customer: int | None = None


class ItemCloseIn(Schema):
    state: str
    resolution: str


class CheckOut(Schema):
    held: int
    required: int
    period_days: int
    ok: bool
    last_held_at: dt.datetime | None


class SegmentOut(Schema):
    count: int
    sample: list[dict]


def symposium_out(s: Symposium) -> dict:
    return {"id": s.pk, "title": s.title, "starts_at": s.starts_at, "ends_at": s.ends_at, "place": s.place,
            "topics": s.topics, "agenda": s.agenda, "state": s.state, "organizer": str(s.organizer),
            "segment": s.segment, "minutes": s.minutes, "minutes_at": s.minutes_at, "cancel_reason": s.cancel_reason,
            "invited": getattr(s, "n_invited", None), "accepted": getattr(s, "n_accepted", None),
            "attended": getattr(s, "n_attended", None)}


def invitation_out(i: Invitation) -> dict:
    return {"id": i.pk, "customer": i.customer_id, "customer_name": i.customer.name, "owner": str(i.customer.owner),
            "contact": i.contact.name if i.contact_id else None, "state": i.state, "attended": i.attended,
            "answered_at": i.answered_at, "note": i.note}


def item_out(i: FollowUpItem) -> dict:
    return {"id": i.pk, "symposium": i.symposium_id, "title": i.title, "owner": i.owner_id, "owner_name": str(i.owner),
            "customer": i.customer_id, "due_date": i.due_date, "state": i.state, "resolution": i.resolution,
            "closed_at": i.closed_at}


class ListFilters(Schema):
    state: str | None = None
    year: int | None = None
    ordering: str = "-starts_at"
    limit: int | None = None
    cursor: str | None = None


class SegmentFilters(Schema):
    grades: list[str] = []
    industries: list[str] = []
    provinces: list[str] = []
    owners: list[int] = []


@router.get("/symposia", response=SymposiumPage, summary="Symposia I plan or whose invitees are my customers")
def symposium_list(request, filters: Query[ListFilters]):
    page = selectors.symposium_list(actor=request.user, **filters.dict())
    return {"items": [symposium_out(s) for s in page.items], "next": page.next}


@router.post("/symposia", response={201: SymposiumOut}, summary="Plan a symposium")
def symposium_create(request, payload: SymposiumIn):
    s = services.symposium_create(actor=request.user, data=payload.dict())
    return Status(201, symposium_out(selectors.symposium_get(actor=request.user, symposium_id=s.pk)))


@router.get("/symposia/check", response=CheckOut, summary="The yearly rule: at least one symposium held")
def symposium_check(request):
    return selectors.yearly_check(actor=request.user)


@router.get("/symposia/segment-preview", response=SegmentOut, summary="Customers of my scope matching a segment")
def segment_preview(request, filters: Query[SegmentFilters]):
    if not selectors.can_manage(request.user):
        from django.utils.translation import gettext as _

        from kehu.errors import Forbidden
        raise Forbidden(_("Only a sales manager or an administrator may plan symposia."))
    qs = selectors.segment_customers(actor=request.user, **{k: v for k, v in filters.dict().items() if v})
    return {"count": qs.count(), "sample": list(qs.order_by("name_sort", "id").values("id", "name")[:20])}


@router.get("/symposia/{symposium_id}", response=SymposiumOut)
def symposium_get(request, symposium_id: int):
    return symposium_out(selectors.symposium_get(actor=request.user, symposium_id=symposium_id))


@router.patch("/symposia/{symposium_id}", response=SymposiumOut)
def symposium_update(request, symposium_id: int, payload: SymposiumPatch):
    data = {k: v for k, v in payload.dict().items() if k in payload.model_fields_set}
    return symposium_out(services.symposium_update(actor=request.user, symposium_id=symposium_id, data=data))


@router.get("/symposia/{symposium_id}/invitations", response=list[InvitationOut])
def invitation_list(request, symposium_id: int):
    s = selectors.symposium_get(actor=request.user, symposium_id=symposium_id)
    return [invitation_out(i) for i in selectors.invitation_list(actor=request.user, symposium=s)]


@router.post("/symposia/{symposium_id}/invitations", response=InviteOut, summary="Invite customers or a segment")
def invite(request, symposium_id: int, payload: InviteIn):
    added = services.symposium_invite(actor=request.user, symposium_id=symposium_id, customers=payload.customers,
                                      segment=payload.segment)
    return {"added": added}


@router.post("/symposia/invitations/{invitation_id}/answer", response=InvitationOut)
def invitation_answer(request, invitation_id: int, payload: AnswerIn):
    services.invitation_answer(actor=request.user, invitation_id=invitation_id, state=payload.state, note=payload.note)
    inv = selectors.invitation_get(actor=request.user, invitation_id=invitation_id)
    return invitation_out(Invitation.objects.select_related("customer__owner", "contact").get(pk=inv.pk))


@router.post("/symposia/{symposium_id}/attendance", response=SymposiumOut)
def attendance(request, symposium_id: int, payload: AttendanceIn):
    return symposium_out(services.symposium_hold(actor=request.user, symposium_id=symposium_id,
                                                 attended=payload.attended))


@router.post("/symposia/{symposium_id}/minutes", response=SymposiumOut)
def minutes(request, symposium_id: int, payload: MinutesIn):
    return symposium_out(services.symposium_minutes(actor=request.user, symposium_id=symposium_id,
                                                    minutes=payload.minutes))


@router.post("/symposia/{symposium_id}/close", response=SymposiumOut)
def close(request, symposium_id: int):
    return symposium_out(services.symposium_close(actor=request.user, symposium_id=symposium_id))


@router.post("/symposia/{symposium_id}/cancel", response=SymposiumOut)
def cancel(request, symposium_id: int, payload: CancelIn):
    return symposium_out(services.symposium_cancel(actor=request.user, symposium_id=symposium_id,
                                                   reason=payload.reason))


@router.get("/symposia/{symposium_id}/items", response=list[ItemOut])
def item_list(request, symposium_id: int):
    s = selectors.symposium_get(actor=request.user, symposium_id=symposium_id)
    return [item_out(i) for i in selectors.item_list(actor=request.user, symposium=s)]


@router.post("/symposia/{symposium_id}/items", response={201: ItemOut})
def item_create(request, symposium_id: int, payload: ItemIn):
    item = services.item_create(actor=request.user, symposium_id=symposium_id, data=payload.dict())
    return Status(201, item_out(item))


@router.post("/symposia/items/{item_id}/close", response=ItemOut)
def item_close(request, item_id: int, payload: ItemCloseIn):
    return item_out(services.item_close(actor=request.user, item_id=item_id, state=payload.state,
                                        resolution=payload.resolution))
