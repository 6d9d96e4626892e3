"""/api/v1/qualification/…: customer types with entry/exit criteria, documents (证照) with scans and verification, account opening (开户审批), suspension and reinstatement (暂停业务往来), the status-change service. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.customers.selectors import customer_get
from kehu.errors import NotFound
from kehu.qualification import expiry, selectors, services
from kehu.qualification.models import AccountOpening, Document

router = Router(tags=["qualification"])


class CustomerTypeOut(Schema):
    code: str
    name: str
    entry_criteria: str
    exit_criteria: str
    required_kinds: list[str]
    monthly_plan_required: bool


class DocumentIn(Schema):
    kind: str
    title: str = ""
    number: str = ""
    issuer: str = ""
    valid_from: str | None = None
    valid_to: str | None = None
    bank: str = ""
    account_number: str = ""
    invoice_address: str = ""
    invoice_phone: str = ""


class DocumentOut(Schema):
    id: int
    customer: int
    customer_name: str
    kind: str
    label: str
    title: str
    version: int
    number: str
    issuer: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    expires_at: dt.datetime | None
    days_left: int | None
    bank: str
    account_number: str
    invoice_address: str
    invoice_phone: str
    verification: str
    verified_by: int | None
    verified_at: dt.datetime | None
    verification_note: str
    in_force: bool
    file_url: str | None
    file_name: str
    content_type: str
    size: int


class DocumentPage(Schema):
    items: list[DocumentOut]
    next: str | None


class DocFilters(Schema):
    customer: int | None = None
    state: str | None = None
    kind: str | None = None
    mine: bool = False
    ordering: str = "valid_to"
    limit: int | None = None
    cursor: str | None = None


class VerifyIn(Schema):
    decision: str
    note: str = ""


class TypeIn(Schema):
    customer_type: str


class ApplicationIn(Schema):
    customer_type: str | None = None
    legal_representative: str = ""
    registered_capital: str = ""
    main_products: str = ""
    yearly_quantity: str = ""
    pickup_location: str = ""
    remarks: str = ""


class ResubmitIn(Schema):
    comment: str = ""
    legal_representative: str | None = None
    registered_capital: str | None = None
    main_products: str | None = None
    yearly_quantity: str | None = None
    pickup_location: str | None = None
    remarks: str | None = None


class ApplicationOut(Schema):
    id: int
    customer: int
    customer_name: str
    customer_status: str
    customer_type: str
    status: str
    data: dict
    reasons: str
    request: int | None
    applicant: int
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ApplicationPage(Schema):
    items: list[ApplicationOut]
    next: str | None


class AppFilters(Schema):
    status: str | None = None
    customer: int | None = None
    open_only: bool = False
    limit: int | None = None
    cursor: str | None = None


class ReasonIn(Schema):
    reason: str


class StatusOut(Schema):
    customer: int
    status: str
    version: int


class PendingCustomerOut(Schema):
    id: int
    name: str
    uscc: str
    owner: int
    application: int | None
    application_status: str | None


class PendingPage(Schema):
    items: list[PendingCustomerOut]
    next: str | None


class PendingFilters(Schema):
    mine: bool = False
    limit: int | None = None
    cursor: str | None = None


def _today() -> dt.date:
    return expiry.local_today(timezone.now())


def document_out(d: Document, *, today: dt.date | None = None) -> dict:
    today = today or _today()
    return {"id": d.pk, "customer": d.customer_id, "customer_name": d.customer.name, "kind": d.kind,
            "label": d.label, "title": d.title, "version": d.version, "number": d.number, "issuer": d.issuer,
            "valid_from": d.valid_from, "valid_to": d.valid_to,
            "expires_at": expiry.expires_at(d.valid_to) if d.valid_to else None,
            "days_left": expiry.days_left(d.valid_to, today=today),
            "bank": d.bank, "account_number": d.account_number, "invoice_address": d.invoice_address,
            "invoice_phone": d.invoice_phone, "verification": d.verification, "verified_by": d.verified_by_id,
            "verified_at": d.verified_at, "verification_note": d.verification_note, "in_force": d.current,
            "file_url": f"/api/v1/qualification/documents/{d.pk}/file" if d.stored_name else None,
            "file_name": d.file_name, "content_type": d.content_type, "size": d.size}


def application_out(a: AccountOpening) -> dict:
    return {"id": a.pk, "customer": a.customer_id, "customer_name": a.customer.name,
            "customer_status": a.customer.status, "customer_type": a.customer_type.code, "status": a.status,
            "data": a.data, "reasons": a.reasons, "request": a.request_id, "applicant": a.applicant_id,
            "created_at": a.created_at, "decided_at": a.decided_at}


@router.get("/qualification/customer-types", response=list[CustomerTypeOut],
            summary="Customer types with their entry and exit criteria and required documents")
def customer_type_list(request):
    return [{"code": t.code, "name": t.name, "entry_criteria": t.entry_criteria, "exit_criteria": t.exit_criteria,
             "required_kinds": services.required_kinds(t), "monthly_plan_required": t.monthly_plan_required}
            for t in selectors.customer_type_list()]


@router.put("/qualification/customers/{customer_id}/type", response=CustomerTypeOut,
            summary="Say which type a customer is (直供客户 / 独家代理 / 经销商)")
def customer_type_set(request, customer_id: int, payload: TypeIn):
    row = services.qualification_type_set(actor=request.user, customer_id=customer_id,
                                           customer_type=payload.customer_type)
    t = row.customer_type
    return {"code": t.code, "name": t.name, "entry_criteria": t.entry_criteria, "exit_criteria": t.exit_criteria,
            "required_kinds": services.required_kinds(t), "monthly_plan_required": t.monthly_plan_required}


@router.get("/qualification/documents", response=DocumentPage,
            summary="Documents of the customers in my scope (state: expiring, expired, pending, in_force)")
def document_list(request, filters: Query[DocFilters]):
    today = _today()
    page = selectors.document_list(actor=request.user, today=today, days=services.config()["remind_days"],
                                   **filters.dict())
    return {"items": [document_out(d, today=today) for d in page.items], "next": page.next}


@router.post("/qualification/customers/{customer_id}/documents", response={201: DocumentOut},
             summary="File a document or a renewal (a new version), with its scan (JPEG, PNG or PDF)")
def document_add(request, customer_id: int, payload: Form[DocumentIn], file: File[UploadedFile] = None):
    doc = services.document_add(actor=request.user, customer_id=customer_id, data=payload.dict(),
                                file_name=(file.name or "") if file else "", chunks=file.chunks() if file else None)
    return Status(201, document_out(selectors.document_get(actor=request.user, document_id=doc.pk)))


@router.get("/qualification/documents/{document_id}", response=DocumentOut)
def document_get(request, document_id: int):
    return document_out(selectors.document_get(actor=request.user, document_id=document_id))


@router.get("/qualification/documents/{document_id}/file",
            summary="The document's scan (only for a customer in scope)")
def document_file(request, document_id: int):
    return document_file_response(selectors.document_get(actor=request.user, document_id=document_id))


def document_file_response(doc: Document) -> FileResponse:
    """The stored scan, never sniffed or run by the browser (nosniff, a sandbox CSP), cached privately."""
    path = services.document_path(doc) if doc.stored_name else None
    if path is None or not path.exists():
        raise NotFound(_("The scan is not on file."))
    response = FileResponse(open(path, "rb"), content_type=doc.content_type,
                            as_attachment=doc.content_type == "application/pdf", filename=doc.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@router.post("/qualification/documents/{document_id}/verify", response=DocumentOut,
             summary="Verify or reject a document (qualification.verify); a verified renewal can reinstate")
def document_verify(request, document_id: int, payload: VerifyIn):
    services.document_verify(actor=request.user, document_id=document_id, decision=payload.decision,
                             note=payload.note)
    return document_out(selectors.document_get(actor=request.user, document_id=document_id))


@router.get("/qualification/applications", response=ApplicationPage,
            summary="Account-opening applications (开户审批) of the customers in my scope")
def application_list(request, filters: Query[AppFilters]):
    page = selectors.application_list(actor=request.user, **filters.dict())
    return {"items": [application_out(a) for a in page.items], "next": page.next}


@router.post("/qualification/customers/{customer_id}/applications", response={201: ApplicationOut},
             summary="Apply for account opening of a pending customer (sales manager → finance → general manager)")
def application_submit(request, customer_id: int, payload: ApplicationIn):
    app = services.application_submit(actor=request.user, customer_id=customer_id, data=payload.dict())
    return Status(201, application_out(selectors.application_get(actor=request.user, application_id=app.pk)))


@router.get("/qualification/applications/{application_id}", response=ApplicationOut)
def application_get(request, application_id: int):
    return application_out(selectors.application_get(actor=request.user, application_id=application_id))


@router.post("/qualification/applications/{application_id}/resubmit", response=ApplicationOut,
             summary="Send a returned application through the chain again after correcting it")
def application_resubmit(request, application_id: int, payload: ResubmitIn):
    data = {k: v for k, v in payload.dict().items() if k != "comment" and v is not None}
    services.application_resubmit(actor=request.user, application_id=application_id, data=data,
                                   comment=payload.comment)
    return application_out(selectors.application_get(actor=request.user, application_id=application_id))


@router.get("/qualification/pending-customers", response=PendingPage,
            summary="Customers pending admission (待准入) in my scope, with their open application")
def pending_customers(request, filters: Query[PendingFilters]):
    page = selectors.pending_customer_list(actor=request.user, **filters.dict())
    apps = selectors.open_application_by_customer([c.pk for c in page.items])
    return {"items": [{"id": c.pk, "name": c.name, "uscc": c.uscc, "owner": c.owner_id,
                       "application": apps[c.pk].pk if c.pk in apps else None,
                       "application_status": apps[c.pk].status if c.pk in apps else None} for c in page.items],
            "next": page.next}


def _status_out(request, customer_id: int) -> dict:
    c = customer_get(actor=request.user, customer_id=customer_id)
    return {"customer": c.pk, "status": c.status, "version": c.version}


@router.post("/qualification/customers/{customer_id}/suspend", response=StatusOut,
             summary="Suspend business with a customer (暂停业务往来), with a reason (qualification.manage)")
def customer_suspend(request, customer_id: int, payload: ReasonIn):
    services.customer_suspend(actor=request.user, customer_id=customer_id, reason=payload.reason)
    return _status_out(request, customer_id)


@router.post("/qualification/customers/{customer_id}/reinstate", response=StatusOut,
             summary="Lift a suspension, with a reason (qualification.manage; a rep cannot)")
def customer_reinstate(request, customer_id: int, payload: ReasonIn):
    services.customer_reinstate(actor=request.user, customer_id=customer_id, reason=payload.reason)
    return _status_out(request, customer_id)
