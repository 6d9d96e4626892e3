from __future__ import annotations

from ninja import Router, Status

from kehu.concurrency.api_hooks import etag_from_version, if_match_optional
from kehu.concurrency.versioning import expected_from_request
from kehu.service_desk.tickets import selectors, services, workflow
from kehu.service_desk.tickets.schemas import (
    DutyIn,
    DutyOut,
    DutyPage,
    TicketActionIn,
    TicketAssignIn,
    TicketDetailOut,
    TicketIn,
    TicketPage,
    duty_out,
    ticket_detail_out,
    ticket_out,
)

router = Router(tags=["service requests"])


def _detail(request, ticket_id: int) -> dict:
    t = selectors.ticket_get(actor=request.user, ticket_id=ticket_id)
    return ticket_detail_out(t, list(t.events.order_by("at", "id")), workflow.allowed_actions(t.state))


@router.get("/service-requests", response=TicketPage, summary="Service requests and emergencies in my scope")
def ticket_list(request, kind: str | None = None, state: str | None = None, open: bool = False,
                breached: bool | None = None, customer: int | None = None, ordering: str = "due_at",
                limit: int | None = None, cursor: str | None = None):
    page = selectors.ticket_list(actor=request.user, kind=kind, state=state, open_only=open, breached=breached,
                                 customer=customer, ordering=ordering, limit=limit, cursor=cursor)
    return {"items": [ticket_out(t) for t in page.items], "next": page.next}


@router.post("/service-requests", response={201: TicketDetailOut},
             summary="Record a service request or an emergency (I become accountable)")
def ticket_record(request, payload: TicketIn):
    t = services.ticket_record(actor=request.user, data=payload.dict())
    return Status(201, _detail(request, t.pk))


@router.get("/service-requests/{ticket_id}", response=TicketDetailOut, summary="A service request with its history",
            description="ETag: W/\"<version>\".")
@etag_from_version
def ticket_get(request, ticket_id: int):
    return _detail(request, ticket_id)


@router.post("/service-requests/{ticket_id}/actions", response=TicketDetailOut, summary="Take the next step")
@if_match_optional
def ticket_act(request, ticket_id: int, payload: TicketActionIn):
    data = payload.dict(exclude={"action", "expected_version"})
    t = services.ticket_act(actor=request.user, ticket_id=ticket_id, action=payload.action, data=data,
                            expected_version=expected_from_request(request, payload.expected_version, required=False))
    return _detail(request, t.pk)


@router.post("/service-requests/{ticket_id}/assign", response=TicketDetailOut, summary="Give the work to a handler")
@if_match_optional
def ticket_assign(request, ticket_id: int, payload: TicketAssignIn):
    t = services.ticket_assign(actor=request.user, ticket_id=ticket_id, user_id=payload.user,
                               expected_version=expected_from_request(request, payload.expected_version,
                                                                      required=False))
    return _detail(request, t.pk)


@router.get("/on-duty", response=DutyPage, summary="The on-duty roster (值班表) in my scope")
def duty_list(request, current: bool = False, limit: int | None = None, cursor: str | None = None):
    page = selectors.duty_list(actor=request.user, current_only=current, limit=limit, cursor=cursor)
    return {"items": [duty_out(s) for s in page.items], "next": page.next}


@router.post("/on-duty", response={201: DutyOut}, summary="Put someone on duty (managers)")
def duty_create(request, payload: DutyIn):
    s = services.duty_create(actor=request.user, data=payload.dict())
    return Status(201, duty_out(selectors.duty_get(actor=request.user, shift_id=s.pk)))


@router.delete("/on-duty/{shift_id}", response={204: None}, summary="Remove a shift (managers)")
def duty_delete(request, shift_id: int):
    services.duty_delete(actor=request.user, shift_id=shift_id)
    return Status(204, None)
