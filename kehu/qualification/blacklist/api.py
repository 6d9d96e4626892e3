"""/api/v1/blacklist/…: disqualification (取消客户资格) with reason, evidence and approval; the blacklist and its screening of new customers by USCC, normalised name and phone. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import FileResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from kehu.errors import NotFound
from kehu.qualification.blacklist import screening, selectors, services
from kehu.qualification.blacklist.models import BlacklistEntry, Disqualification, Evidence, ScreeningHit

router = Router(tags=["blacklist"])


# ---------------------------------------------------------------- shapes

class EvidenceOut(Schema):
    id: int
    file_name: str
    content_type: str
    size: int
    uploaded_at: dt.datetime
    url: str


class DisqualificationOut(Schema):
    id: int
    customer: int | None
    customer_name: str
    category: str
    description: str
    state: str
    requested_by: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    evidence: list[EvidenceOut] | None = None
    n_evidence: int | None = None


class DisqualificationPage(Schema):
    items: list[DisqualificationOut]
    next: str | None


class DisqualificationIn(Schema):
    customer: int = Field(gt=0, lt=2**63)
    category: Literal["fraud", "loss", "legal"]
    description: str = Field(max_length=4000)


class EntryOut(Schema):
    id: int
    customer: int | None
    customer_name: str
    uscc: str
    name_core: str
    category: str
    reason: str
    state: str
    listed_at: dt.datetime
    lifted_at: dt.datetime | None
    lift_reason: str
    phones: int | None = None
    disqualification: int | None


class EntryPage(Schema):
    items: list[EntryOut]
    next: str | None


class EntryFilters(Schema):
    state: Literal["active", "lifted", ""] = "active"
    q: str | None = Field(default=None, max_length=200)
    category: Literal["fraud", "loss", "legal"] | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int | None = None


class StateFilters(Schema):
    state: str | None = Field(default=None, max_length=12)
    cursor: str | None = Field(default=None, max_length=200)
    limit: int | None = None


class LiftIn(Schema):
    reason: str = Field(max_length=4000)


class LiftOut(Schema):
    id: int
    entry: int
    reason: str
    state: str
    requested_at: dt.datetime


class HitOut(Schema):
    id: int
    entry: int
    entry_name: str
    matched_on: str
    source: str
    customer: int | None
    subject: str
    state: str
    created_at: dt.datetime
    reviewed_at: dt.datetime | None
    review_note: str


class HitPage(Schema):
    items: list[HitOut]
    next: str | None


class HitReviewIn(Schema):
    state: Literal["cleared", "confirmed"]
    note: str = Field(default="", max_length=500)


class ScreenIn(Schema):
    name: str = Field(default="", max_length=200)
    uscc: str = Field(default="", max_length=30)
    phones: list[str] = Field(default_factory=list, max_length=20)


class ScreenOut(Schema):
    refused: bool
    code: str | None
    flags: list[str]


# ---------------------------------------------------------------- outputs

def evidence_out(e: Evidence) -> dict:
    return {"id": e.pk, "file_name": e.file_name, "content_type": e.content_type, "size": e.size,
            "uploaded_at": e.uploaded_at,
            "url": f"/api/v1/blacklist/disqualifications/{e.disqualification_id}/evidence/{e.pk}"}


def disqualification_out(d: Disqualification, *, detail: bool = False) -> dict:
    out = {"id": d.pk, "customer": d.customer_id, "customer_name": d.customer_name, "category": d.category,
           "description": d.description, "state": d.state, "requested_by": str(d.requested_by),
           "requested_at": d.requested_at, "decided_at": d.decided_at,
           "n_evidence": getattr(d, "n_evidence", None)}
    if detail:
        out["evidence"] = [evidence_out(e) for e in d.evidence.all()]
    return out


def entry_out(e: BlacklistEntry, *, detail: bool = False) -> dict:
    return {"id": e.pk, "customer": e.customer_id, "customer_name": e.customer_name, "uscc": e.uscc,
            "name_core": e.name_core, "category": e.category, "reason": e.reason, "state": e.state,
            "listed_at": e.listed_at, "lifted_at": e.lifted_at, "lift_reason": e.lift_reason,
            "phones": e.phones.count() if detail else None, "disqualification": e.disqualification_id}


def hit_out(h: ScreeningHit) -> dict:
    return {"id": h.pk, "entry": h.entry_id, "entry_name": h.entry.customer_name, "matched_on": h.matched_on,
            "source": h.source, "customer": h.customer_id, "subject": h.subject, "state": h.state,
            "created_at": h.created_at, "reviewed_at": h.reviewed_at, "review_note": h.review_note}


# ---------------------------------------------------------------- disqualifications

@router.get("/blacklist/disqualifications", response=DisqualificationPage,
            summary="Disqualification requests in scope")
def disqualification_list(request, filters: Query[StateFilters]):
    page = selectors.disqualification_list(actor=request.user, **filters.dict())
    return {"items": [disqualification_out(d) for d in page.items], "next": page.next}


@router.post("/blacklist/disqualifications", response={201: DisqualificationOut},
             summary="Ask to disqualify a customer (fraud / losses / legal violation); goes to approval")
def disqualification_request(request, payload: DisqualificationIn):
    d = services.disqualification_request(actor=request.user, customer_id=payload.customer,
                                          category=payload.category, description=payload.description)
    return Status(201, disqualification_out(selectors.disqualification_get(
        actor=request.user, disqualification_id=d.pk), detail=True))


@router.get("/blacklist/disqualifications/{disqualification_id}", response=DisqualificationOut)
def disqualification_get(request, disqualification_id: int):
    d = selectors.disqualification_get(actor=request.user, disqualification_id=disqualification_id)
    return disqualification_out(d, detail=True)


@router.post("/blacklist/disqualifications/{disqualification_id}/evidence", response={201: EvidenceOut},
             summary="Add an evidence file (PDF or photo, type sniffed from the content)")
def evidence_add(request, disqualification_id: int, file: File[UploadedFile]):
    e = services.evidence_add(actor=request.user, disqualification_id=disqualification_id,
                              file_name=file.name or "", chunks=file.chunks())
    return Status(201, evidence_out(e))


@router.get("/blacklist/disqualifications/{disqualification_id}/evidence/{evidence_id}",
            summary="Download an evidence file (only for a request in scope)")
def evidence_download(request, disqualification_id: int, evidence_id: int):
    e = selectors.evidence_get(actor=request.user, disqualification_id=disqualification_id, evidence_id=evidence_id)
    return evidence_response(e)


def evidence_response(e: Evidence) -> FileResponse:
    """The stored file, never sniffed or run by the browser (nosniff, a sandbox CSP), cached privately."""
    path = services.evidence_path(e)
    if not path.exists():
        from django.utils.translation import gettext as _

        raise NotFound(_("Evidence not found."))
    response = FileResponse(open(path, "rb"), content_type=e.content_type,
                            as_attachment=e.content_type == "application/pdf", filename=e.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------- entries

@router.get("/blacklist/entries", response=EntryPage, summary="Blacklist entries in scope")
def entry_list(request, filters: Query[EntryFilters]):
    page = selectors.entry_list(actor=request.user, **filters.dict())
    return {"items": [entry_out(e) for e in page.items], "next": page.next}


@router.get("/blacklist/entries/{entry_id}", response=EntryOut)
def entry_get(request, entry_id: int):
    return entry_out(selectors.entry_get(actor=request.user, entry_id=entry_id), detail=True)


@router.post("/blacklist/entries/{entry_id}/lift", response={201: LiftOut},
             summary="Ask to lift a blacklist entry (with a reason; goes to approval)")
def lift_request(request, entry_id: int, payload: LiftIn):
    lift = services.lift_request(actor=request.user, entry_id=entry_id, reason=payload.reason)
    return Status(201, {"id": lift.pk, "entry": lift.entry_id, "reason": lift.reason, "state": lift.state,
                        "requested_at": lift.requested_at})


@router.post("/blacklist/screen", response=ScreenOut,
             summary="Check a name, USCC and phones against the blacklist before registering")
def screen(request, payload: ScreenIn):
    from kehu.customers.validation import InvalidValue, normalize_uscc

    selectors.require_read(request.user)
    uscc = payload.uscc.strip()
    try:
        uscc = normalize_uscc(uscc) if uscc else ""
    except InvalidValue:
        uscc = uscc.upper()
    result = screening.screen_new_customer(name=payload.name, uscc=uscc, phones=payload.phones, refuse=False)
    return {"refused": result.refuse is not None, "code": "blacklisted" if result.refuse else None,
            "flags": [h.matched_on for h in result.flags]}


# ---------------------------------------------------------------- hits

@router.get("/blacklist/hits", response=HitPage, summary="Registrations resembling a blacklisted customer")
def hit_list(request, filters: Query[StateFilters]):
    page = selectors.hit_list(actor=request.user, **filters.dict())
    return {"items": [hit_out(h) for h in page.items], "next": page.next}


@router.post("/blacklist/hits/{hit_id}/review", response=HitOut, summary="Clear or confirm a flagged match")
def hit_review(request, hit_id: int, payload: HitReviewIn):
    h = services.hit_review(actor=request.user, hit_id=hit_id, state=payload.state, note=payload.note)
    return hit_out(selectors.hit_get(actor=request.user, hit_id=h.pk))
