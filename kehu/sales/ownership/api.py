"""/api/v1/ownership/…: registrations (客户登记/报备) with their checks and corrections, referrals (推荐带客),
the public pool (公海) with claims and releases, and ownership disputes (归属争议). Parse → call a
service/selector → return a schema."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema, Status
from pydantic import Field

from kehu.pagination import paginate
from kehu.sales.ownership import selectors, services
from kehu.sales.ownership.models import Dispute, PoolMove, Referral, Registration

router = Router(tags=["ownership"])


def _name(user) -> str:
    return str(user) if user is not None else ""


# ---------------------------------------------------------------- registrations


class RegistrationOut(Schema):
    id: int
    customer: int
    customer_name: str
    rep: int
    rep_name: str
    channel: str
    registered_at: dt.datetime
    valid_until: dt.datetime
    referral: int | None
    corrects: int | None
    note: str
    verdict: str | None
    verified_at: dt.datetime | None


class RegistrationPage(Schema):
    items: list[RegistrationOut]
    next: str | None


def registration_out(r: Registration, *, new: bool = False) -> dict:
    """``new``: a registration just written by the service (no check yet; its customer and rep at hand)."""
    check = None
    if not new:
        try:
            check = r.verification
        except Registration.verification.RelatedObjectDoesNotExist:
            check = None
    return {"id": r.pk, "customer": r.customer_id, "customer_name": r.customer.name, "rep": r.rep_id,
            "rep_name": _name(r.rep), "channel": r.channel, "registered_at": r.registered_at,
            "valid_until": r.valid_until, "referral": r.referral_id, "corrects": r.corrects_id, "note": r.note,
            "verdict": check.verdict if check else None, "verified_at": check.verified_at if check else None}


class NewCustomerIn(Schema):
    name: str = Field(..., max_length=200)
    kind: str = "organization"
    city: str = Field("", max_length=50)
    mobile: str | None = Field(None, max_length=30)
    confirm_duplicate: bool = False


class RegistrationIn(Schema):
    customer: int | None = None
    new_customer: NewCustomerIn | None = None
    channel: str = "visit"
    note: str = Field("", max_length=1000)


class RegistrationFilters(Schema):
    rep: int | None = None
    customer: int | None = None
    unverified: bool = False
    day: dt.date | None = None
    ordering: str = "-registered_at"
    limit: int | None = None
    cursor: str | None = None


REG_ORDER = {"registered_at": dt.datetime, "id": int}


@router.get("/ownership/registrations", response=RegistrationPage, summary="Registrations (客户登记) in my scope")
def registration_list(request, filters: Query[RegistrationFilters]):
    selectors.require_read(request.user)
    qs = selectors.registration_list(actor=request.user, rep_id=filters.rep, customer_id=filters.customer,
                                     unverified=filters.unverified, day=filters.day)
    page = paginate(qs, ordering=filters.ordering, allowed=REG_ORDER, limit=filters.limit, cursor=filters.cursor)
    return {"items": [registration_out(r) for r in page.items], "next": page.next}


@router.post("/ownership/registrations", response={201: RegistrationOut},
             summary="Register a customer after a visit or a call (first registration wins: 409 already_registered)")
def registration_create(request, payload: RegistrationIn):
    new = payload.new_customer.dict() if payload.new_customer else None
    if new is not None and not new.get("mobile"):
        new.pop("mobile", None)
    reg = services.registration_create(actor=request.user, customer_id=payload.customer, new_customer=new,
                                       channel=payload.channel, note=payload.note)
    return Status(201, registration_out(reg, new=True))  # the service's own rows: no second read


@router.get("/ownership/registrations/{registration_id}", response=RegistrationOut)
def registration_get(request, registration_id: int):
    selectors.require_read(request.user)
    return registration_out(selectors.registration_get(actor=request.user, registration_id=registration_id))


class VerifyIn(Schema):
    verdict: str
    note: str = Field("", max_length=1000)


@router.post("/ownership/registrations/{registration_id}/verify", response=RegistrationOut,
             summary="Verify a registration (project manager): confirmed or rejected")
def registration_verify(request, registration_id: int, payload: VerifyIn):
    services.registration_verify(actor=request.user, registration_id=registration_id, verdict=payload.verdict,
                                 note=payload.note)
    return registration_get(request, registration_id)


class CorrectIn(Schema):
    channel: str | None = None
    note: str = Field(..., max_length=1000)


@router.post("/ownership/registrations/{registration_id}/corrections", response={201: RegistrationOut},
             summary="Correct a registration: a new record referencing it (the register is never altered)")
def registration_correct(request, registration_id: int, payload: CorrectIn):
    fixed = services.registration_correct(actor=request.user, registration_id=registration_id,
                                          channel=payload.channel, note=payload.note)
    return Status(201, registration_get(request, fixed.pk))


# ---------------------------------------------------------------- pool


class PoolCustomerOut(Schema):
    id: int
    name: str
    city: str
    industry: str
    stage: str
    status: str
    updated_at: dt.datetime


class PoolPage(Schema):
    items: list[PoolCustomerOut]
    next: str | None


class PoolFilters(Schema):
    q: str = Field("", max_length=100)
    city: str = Field("", max_length=50)
    industry: str = Field("", max_length=50)
    ordering: str = "-updated_at"
    limit: int | None = None
    cursor: str | None = None


@router.get("/ownership/pool", response=PoolPage, summary="Customers in the public pool (公海)")
def pool_list(request, filters: Query[PoolFilters]):
    selectors.require_read(request.user)
    qs = selectors.pool_list(actor=request.user, q=filters.q.strip(), city=filters.city, industry=filters.industry)
    page = paginate(qs, ordering=filters.ordering, allowed={"updated_at": dt.datetime, "id": int},
                    limit=filters.limit, cursor=filters.cursor)
    return {"items": [{"id": c.pk, "name": c.name, "city": c.city, "industry": c.industry, "stage": c.stage,
                       "status": c.status, "updated_at": c.updated_at} for c in page.items], "next": page.next}


class ClaimIn(Schema):
    note: str = Field("", max_length=1000)


@router.post("/ownership/pool/{customer_id}/claim", response={201: RegistrationOut},
             summary="Claim a customer from the pool (daily limit, maximum held)")
def pool_claim(request, customer_id: int, payload: ClaimIn):
    reg = services.pool_claim(actor=request.user, customer_id=customer_id, note=payload.note)
    return Status(201, registration_get(request, reg.pk))


class ReleaseIn(Schema):
    reason: str = Field(..., max_length=300)


class MoveOut(Schema):
    id: int
    customer: int
    customer_name: str
    kind: str
    rep: int | None
    rep_name: str
    actor_name: str
    at: dt.datetime
    reason: str


class MovePage(Schema):
    items: list[MoveOut]
    next: str | None


def move_out(m: PoolMove) -> dict:
    return {"id": m.pk, "customer": m.customer_id, "customer_name": m.customer.name, "kind": m.kind,
            "rep": m.rep_id, "rep_name": _name(m.rep), "actor_name": _name(m.actor) or "system", "at": m.at,
            "reason": m.reason}


@router.post("/ownership/customers/{customer_id}/release", response={201: MoveOut},
             summary="Give a customer back to the pool, with the reason")
def pool_release(request, customer_id: int, payload: ReleaseIn):
    move = services.pool_release(actor=request.user, customer_id=customer_id, reason=payload.reason)
    return Status(201, move_out(PoolMove.objects.select_related("customer", "rep", "actor").get(pk=move.pk)))


class MoveFilters(Schema):
    customer: int | None = None
    rep: int | None = None
    ordering: str = "-at"
    limit: int | None = None
    cursor: str | None = None


@router.get("/ownership/pool-moves", response=MovePage, summary="Claims and releases (every move is recorded)")
def pool_move_list(request, filters: Query[MoveFilters]):
    selectors.require_read(request.user)
    qs = selectors.pool_move_list(actor=request.user, customer_id=filters.customer, rep_id=filters.rep)
    page = paginate(qs, ordering=filters.ordering, allowed={"at": dt.datetime, "id": int}, limit=filters.limit,
                    cursor=filters.cursor)
    return {"items": [move_out(m) for m in page.items], "next": page.next}


# ---------------------------------------------------------------- referrals


class ReferralOut(Schema):
    id: int
    customer: int
    customer_name: str
    referrer: int
    referrer_name: str
    relation: str
    expected_visit_on: dt.date
    state: str
    rep: int | None
    rep_name: str
    note: str
    decided_at: dt.datetime | None


class ReferralPage(Schema):
    items: list[ReferralOut]
    next: str | None


def referral_out(r: Referral) -> dict:
    return {"id": r.pk, "customer": r.customer_id, "customer_name": r.customer.name, "referrer": r.referrer_id,
            "referrer_name": _name(r.referrer), "relation": r.relation, "expected_visit_on": r.expected_visit_on,
            "state": r.state, "rep": r.rep_id, "rep_name": _name(r.rep), "note": r.note, "decided_at": r.decided_at}


class ReferralIn(Schema):
    customer: int
    relation: str
    expected_visit_on: dt.date
    note: str = Field("", max_length=1000)


class ReferralFilters(Schema):
    state: str = Field("", max_length=12)
    ordering: str = "-created_at"
    limit: int | None = None
    cursor: str | None = None


def _referral(request, referral_id: int) -> dict:
    r = selectors.referral_list(actor=request.user).filter(pk=selectors.referral_get(
        actor=request.user, referral_id=referral_id).pk).get()
    return referral_out(r)


@router.get("/ownership/referrals", response=ReferralPage, summary="Referrals (推荐带客) in my scope")
def referral_list(request, filters: Query[ReferralFilters]):
    selectors.require_read(request.user)
    qs = selectors.referral_list(actor=request.user, state=filters.state)
    page = paginate(qs, ordering=filters.ordering, allowed={"created_at": dt.datetime, "id": int},
                    limit=filters.limit, cursor=filters.cursor)
    return {"items": [referral_out(r) for r in page.items], "next": page.next}


@router.post("/ownership/referrals", response={201: ReferralOut},
             summary="Refer a private contact, expected to visit on a day")
def referral_create(request, payload: ReferralIn):
    ref = services.referral_create(actor=request.user, customer_id=payload.customer, relation=payload.relation,
                                   expected_visit_on=payload.expected_visit_on, note=payload.note)
    return Status(201, _referral(request, ref.pk))


@router.get("/ownership/referrals/{referral_id}", response=ReferralOut)
def referral_get(request, referral_id: int):
    selectors.require_read(request.user)
    return _referral(request, referral_id)


class DecideReferralIn(Schema):
    confirm: bool
    note: str = Field("", max_length=1000)


@router.post("/ownership/referrals/{referral_id}/decide", response=ReferralOut,
             summary="Confirm or reject a referral whose customer came (project manager)")
def referral_decide(request, referral_id: int, payload: DecideReferralIn):
    services.referral_decide(actor=request.user, referral_id=referral_id, confirm=payload.confirm, note=payload.note)
    return _referral(request, referral_id)


# ---------------------------------------------------------------- disputes


class DisputeEventOut(Schema):
    action: str
    level: int
    actor_name: str
    at: dt.datetime
    note: str


class DisputeOut(Schema):
    id: int
    customer: int
    customer_name: str
    raised_by: int
    raised_by_name: str
    holder: int
    holder_name: str
    statement: str
    state: str
    level: int
    due_at: dt.datetime
    winner: int | None
    raiser_share: int | None
    holder_share: int | None
    reason: str
    decided_by_name: str
    decided_at: dt.datetime | None
    events: list[DisputeEventOut] | None = None


class DisputePage(Schema):
    items: list[DisputeOut]
    next: str | None


def dispute_out(d: Dispute, *, events: bool = False) -> dict:
    out = {"id": d.pk, "customer": d.customer_id, "customer_name": d.customer.name, "raised_by": d.raised_by_id,
           "raised_by_name": _name(d.raised_by), "holder": d.holder_id, "holder_name": _name(d.holder),
           "statement": d.statement, "state": d.state, "level": d.level, "due_at": d.due_at, "winner": d.winner_id,
           "raiser_share": d.raiser_share,
           "holder_share": None if d.raiser_share is None else 100 - d.raiser_share, "reason": d.reason,
           "decided_by_name": _name(d.decided_by), "decided_at": d.decided_at}
    if events:
        out["events"] = [{"action": e.action, "level": e.level, "actor_name": _name(e.actor) or "system",
                          "at": e.at, "note": e.note} for e in d.events.select_related("actor")]
    return out


class DisputeIn(Schema):
    customer: int
    statement: str = Field(..., max_length=2000)


class DecideIn(Schema):
    winner: int
    raiser_share: int
    reason: str = Field(..., max_length=2000)


class EscalateIn(Schema):
    note: str = Field("", max_length=1000)


class DisputeFilters(Schema):
    state: str = Field("", max_length=12)
    ordering: str = "-created_at"
    limit: int | None = None
    cursor: str | None = None


@router.get("/ownership/disputes", response=DisputePage, summary="Ownership disputes (归属争议) in my scope")
def dispute_list(request, filters: Query[DisputeFilters]):
    selectors.require_read(request.user)
    qs = selectors.dispute_list(actor=request.user, state=filters.state)
    page = paginate(qs, ordering=filters.ordering, allowed={"created_at": dt.datetime, "id": int},
                    limit=filters.limit, cursor=filters.cursor)
    return {"items": [dispute_out(d) for d in page.items], "next": page.next}


@router.post("/ownership/disputes", response={201: DisputeOut}, summary="Raise an ownership dispute")
def dispute_raise(request, payload: DisputeIn):
    d = services.dispute_raise(actor=request.user, customer_id=payload.customer, statement=payload.statement)
    return Status(201, dispute_get(request, d.pk))


@router.get("/ownership/disputes/{dispute_id}", response=DisputeOut)
def dispute_get(request, dispute_id: int):
    selectors.require_read(request.user)
    return dispute_out(selectors.dispute_get(actor=request.user, dispute_id=dispute_id), events=True)


@router.post("/ownership/disputes/{dispute_id}/decide", response=DisputeOut,
             summary="Decide a dispute: owner, split and written reason")
def dispute_decide(request, dispute_id: int, payload: DecideIn):
    services.dispute_decide(actor=request.user, dispute_id=dispute_id, winner_id=payload.winner,
                            raiser_share=payload.raiser_share, reason=payload.reason)
    return dispute_get(request, dispute_id)


@router.post("/ownership/disputes/{dispute_id}/escalate", response=DisputeOut,
             summary="Hand an undecided dispute up a level")
def dispute_escalate(request, dispute_id: int, payload: EscalateIn):
    services.dispute_escalate(actor=request.user, dispute_id=dispute_id, note=payload.note)
    return dispute_get(request, dispute_id)
