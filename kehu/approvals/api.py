from __future__ import annotations

from django.utils import timezone
from ninja import Router, Status

from kehu.approvals import selectors, services
from kehu.approvals.schemas import (
    ChainIn,
    ChainOut,
    CommentIn,
    DecideIn,
    DelegationIn,
    DelegationOut,
    InboxPage,
    MeetingIn,
    RequestDetail,
    RequestPage,
    RequestStatusT,
)

router = Router(tags=["approvals"])


@router.get("/approvals/inbox", response=InboxPage, summary="My tasks waiting for a decision")
def inbox(request, limit: int | None = None, cursor: str | None = None):
    page = selectors.inbox_list(actor=request.user, limit=limit, cursor=cursor)
    return {"items": page.items, "next": page.next}


@router.get("/approvals/requests", response=RequestPage, summary="Requests I made")
def request_list(request, status: RequestStatusT | None = None, ordering: str = "-id", limit: int | None = None,
                 cursor: str | None = None):
    page = selectors.request_list_mine(actor=request.user, status=status, ordering=ordering, limit=limit,
                                       cursor=cursor)
    return {"items": page.items, "next": page.next}


@router.get("/approvals/requests/{request_id}", response=RequestDetail, summary="One request with its full history")
def request_get(request, request_id: int):
    return selectors.request_get(actor=request.user, request_id=request_id)


@router.post("/approvals/requests/{request_id}/decide", response=RequestDetail,
             summary="Approve, reject or return (reject and return need a comment)")
def request_decide(request, request_id: int, payload: DecideIn):
    services.approval_decide(actor=request.user, request_id=request_id, decision=payload.decision,
                             comment=payload.comment)
    return selectors.request_get(actor=request.user, request_id=request_id)


@router.post("/approvals/requests/{request_id}/meeting", response=RequestDetail,
             summary="Record the managers' meeting that decides the current meeting step")
def request_meeting(request, request_id: int, payload: MeetingIn):
    services.approval_meeting_record(actor=request.user, request_id=request_id, held_on=payload.held_on,
                                     participants=payload.participants, minutes=payload.minutes,
                                     decision=payload.decision)
    return selectors.request_get(actor=request.user, request_id=request_id)


@router.post("/approvals/requests/{request_id}/resubmit", response=RequestDetail,
             summary="Send a returned request again (requester)")
def request_resubmit(request, request_id: int, payload: CommentIn):
    services.approval_resubmit(actor=request.user, request_id=request_id, comment=payload.comment)
    return selectors.request_get(actor=request.user, request_id=request_id)


@router.post("/approvals/requests/{request_id}/cancel", response=RequestDetail,
             summary="Withdraw an open request (requester)")
def request_cancel(request, request_id: int, payload: CommentIn):
    services.approval_cancel(actor=request.user, request_id=request_id, comment=payload.comment)
    return selectors.request_get(actor=request.user, request_id=request_id)


@router.get("/approvals/delegations", response=list[DelegationOut], summary="Delegations I gave or received")
def delegation_list(request, current: bool = False):
    return list(selectors.delegation_list(actor=request.user, now=timezone.now() if current else None)[:200])


@router.post("/approvals/delegations", response={201: DelegationOut}, summary="Delegate my approvals while away")
def delegation_set(request, payload: DelegationIn):
    item = services.delegation_set(actor=request.user, delegate_id=payload.delegate, starts_at=payload.starts_at,
                                   ends_at=payload.ends_at, reason=payload.reason)
    return Status(201, item)


@router.post("/approvals/delegations/{delegation_id}/end", response=DelegationOut, summary="End a delegation now")
def delegation_end(request, delegation_id: int):
    return services.delegation_end(actor=request.user, delegation_id=delegation_id)


@router.get("/approvals/chains", response=list[ChainOut], summary="Approval chains and their steps")
def chain_list(request):
    return list(selectors.chain_list(actor=request.user))


@router.post("/approvals/chains", response={201: ChainOut}, summary="Create or replace a chain (administrators)")
def chain_define(request, payload: ChainIn):
    chain = services.approval_chain_define(actor=request.user, code=payload.code, name=payload.name,
                                           active=payload.active, steps=[s.dict() for s in payload.steps])
    return Status(201, selectors.chain_list(actor=request.user).get(pk=chain.pk))
