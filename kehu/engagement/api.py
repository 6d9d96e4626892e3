"""/api/v1/engagement/…: follow-ups and interactions (跟进记录) with their attachments and next steps. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.http import FileResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.engagement import selectors, services
from kehu.engagement.models import Interaction, InteractionAttachment

router = Router(tags=["engagement"])


class InteractionIn(Schema):
    customer: int
    channel: str
    direction: str = "outbound"
    occurred_at: str | None = None
    contacts: list[int] = []
    summary: str
    outcome: str = ""
    next_step: str = ""
    next_step_due: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    location_accuracy_m: float | None = None
    client_key: uuid.UUID | None = None


class InteractionPatch(Schema):
    channel: str | None = None
    direction: str | None = None
    occurred_at: str | None = None
    contacts: list[int] | None = None
    summary: str | None = None
    outcome: str | None = None
    next_step: str | None = None
    next_step_due: str | None = None


class AttachmentOut(Schema):
    id: int
    file_name: str
    content_type: str
    size: int
    url: str
    uploaded_at: dt.datetime
    replayed: bool = False


class InteractionOut(Schema):
    id: int
    customer: int
    customer_name: str
    channel: str
    direction: str
    occurred_at: dt.datetime
    contacts: list[int]
    summary: str
    outcome: str
    next_step: str
    next_step_due: dt.date | None
    next_step_done_at: dt.datetime | None
    overdue: bool
    owner: int
    owner_name: str
    recorded_by: int
    latitude: Decimal | None
    longitude: Decimal | None
    location_accuracy_m: int | None
    client_key: uuid.UUID | None
    created_at: dt.datetime
    attachments: list[AttachmentOut] | None = None
    replayed: bool = False


class InteractionPage(Schema):
    items: list[InteractionOut]
    next: str | None


class Filters(Schema):
    customer: int | None = None
    channel: str | None = None
    owner: int | None = None
    mine: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    overdue: bool = False
    open_steps: bool = False
    ordering: str = "-occurred_at"
    limit: int | None = None
    cursor: str | None = None


def _name(user) -> str:
    return (user.display_name or user.username) if user else ""


def attachment_out(a: InteractionAttachment, *, replayed: bool = False) -> dict:
    return {"id": a.pk, "file_name": a.file_name, "content_type": a.content_type, "size": a.size,
            "url": f"/api/v1/engagement/interactions/{a.interaction_id}/attachments/{a.pk}",
            "uploaded_at": a.uploaded_at, "replayed": replayed}


def interaction_out(it: Interaction, *, detail: bool = False, replayed: bool = False) -> dict:
    from django.utils import timezone

    fresh = hasattr(it, "fresh_contact_ids")  # just created: its contacts and attachments are known
    contacts = it.fresh_contact_ids if fresh else ([c.pk for c in it.contacts.all()] if detail else [])
    out = {"id": it.pk, "customer": it.customer_id, "customer_name": it.customer.name, "channel": it.channel,
           "direction": it.direction, "occurred_at": it.occurred_at, "contacts": contacts,
           "summary": it.summary, "outcome": it.outcome, "next_step": it.next_step,
           "next_step_due": it.next_step_due, "next_step_done_at": it.next_step_done_at,
           "overdue": bool(it.next_step and it.next_step_due and it.next_step_done_at is None
                           and it.next_step_due < timezone.localdate()),
           "owner": it.owner_id, "owner_name": _name(it.owner), "recorded_by": it.recorded_by_id,
           "latitude": it.latitude, "longitude": it.longitude, "location_accuracy_m": it.location_accuracy_m,
           "client_key": it.client_key, "created_at": it.created_at, "replayed": replayed}
    if detail:
        out["attachments"] = [attachment_out(a) for a in (it.fresh_attachments if fresh else it.attachments.all())]
    return out


@router.get("/engagement/interactions", response=InteractionPage,
            summary="Follow-ups of the customers in my scope (filters, cursor pagination)")
def interaction_list(request, filters: Query[Filters]):
    page = selectors.interaction_list(actor=request.user, **filters.dict())
    return {"items": [interaction_out(i) for i in page.items], "next": page.next}


@router.post("/engagement/interactions", response={200: InteractionOut, 201: InteractionOut},
             summary="Record a follow-up (a replay with the same client_key answers 200 with the first row)")
def interaction_create(request, payload: InteractionIn):
    data = payload.dict()
    interaction, replayed = services.interaction_create(actor=request.user, data=data)
    if replayed:
        interaction = selectors.interaction_get(actor=request.user, interaction_id=interaction.pk)
    out = interaction_out(interaction, detail=True, replayed=replayed)
    return Status(200 if replayed else 201, out)


@router.get("/engagement/interactions/{interaction_id}", response=InteractionOut)
def interaction_get(request, interaction_id: int):
    return interaction_out(selectors.interaction_get(actor=request.user, interaction_id=interaction_id),
                           detail=True)


@router.patch("/engagement/interactions/{interaction_id}", response=InteractionOut)
def interaction_update(request, interaction_id: int, payload: InteractionPatch):
    data = {k: v for k, v in payload.dict().items() if k in payload.model_fields_set}
    services.interaction_update(actor=request.user, interaction_id=interaction_id, data=data)
    return interaction_out(selectors.interaction_get(actor=request.user, interaction_id=interaction_id),
                           detail=True)


@router.post("/engagement/interactions/{interaction_id}/next-step/done", response=InteractionOut,
             summary="Tick the next step done")
def interaction_next_step_done(request, interaction_id: int):
    services.interaction_next_step_done(actor=request.user, interaction_id=interaction_id)
    return interaction_out(selectors.interaction_get(actor=request.user, interaction_id=interaction_id),
                           detail=True)


@router.post("/engagement/interactions/{interaction_id}/next-step/reopen", response=InteractionOut,
             summary="Open a done next step again")
def interaction_next_step_reopen(request, interaction_id: int):
    services.interaction_next_step_reopen(actor=request.user, interaction_id=interaction_id)
    return interaction_out(selectors.interaction_get(actor=request.user, interaction_id=interaction_id),
                           detail=True)


@router.post("/engagement/interactions/{interaction_id}/attachments", response={200: AttachmentOut,
                                                                              201: AttachmentOut},
             summary="Attach a photo or PDF (type sniffed from the content; the same file twice is kept once)")
def attachment_add(request, interaction_id: int, file: File[UploadedFile]):
    attachment, replayed = services.attachment_add(actor=request.user, interaction_id=interaction_id,
                                                   file_name=file.name or "", chunks=file.chunks())
    return Status(200 if replayed else 201, attachment_out(attachment, replayed=replayed))


@router.get("/engagement/interactions/{interaction_id}/attachments/{attachment_id}",
            summary="Download an attachment (only for a follow-up in scope)")
def attachment_download(request, interaction_id: int, attachment_id: int):
    attachment = selectors.attachment_get(actor=request.user, interaction_id=interaction_id,
                                          attachment_id=attachment_id)
    return attachment_response(attachment)


def attachment_response(attachment: InteractionAttachment) -> FileResponse:
    """The stored file, never sniffed or run by the browser (nosniff, a sandbox CSP), cached privately."""
    path = services.attachment_path(attachment)
    if not path.exists():
        from django.utils.translation import gettext as _

        from kehu.errors import NotFound

        raise NotFound(_("Attachment not found."))
    response = FileResponse(open(path, "rb"), content_type=attachment.content_type,
                            as_attachment=attachment.content_type == "application/pdf",
                            filename=attachment.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, max-age=3600"
    return response
