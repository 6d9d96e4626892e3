"""Writes of admission and qualification: documents (证照) and their verification, the account-opening
application (开户审批, seed 004 第13篇 第七、八条), the daily expiry sweep that suspends and reinstates
(第十五条), manual suspension and reinstatement. Every status move goes through
kehu.qualification.status.customer_status_change (or its set-based twin for the sweep)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record, audit_record_many
from kehu.customers.models import Customer, Status
from kehu.customers.selectors import customer_get
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.qualification import expiry
from kehu.qualification.models import (
    OPEN_APPLICATION,
    AccountOpening,
    ApplicationStatus,
    CustomerQualification,
    CustomerType,
    Document,
    DocumentKind,
    Verification,
)
from kehu.qualification.status import customer_status_change

CHAIN = "customer.account_opening"
TEXT_FIELDS = {"title": 100, "number": 60, "issuer": 100, "bank": 100, "account_number": 40,
               "invoice_address": 200, "invoice_phone": 40}
# What the account-opening form (开户审批表, 附件1) asks besides the documents.
APPLICATION_FIELDS = {"legal_representative": 50, "registered_capital": 50, "main_products": 300,
                      "yearly_quantity": 50, "pickup_location": 100, "remarks": 1000}


def config() -> dict:
    """The qualification figures (settings.KEHU_QUALIFICATION over the built-in defaults)."""
    base = {"remind_days": 30, "file_max_bytes": 10 * 1024 * 1024,
            "file_types": ["image/jpeg", "image/png", "application/pdf"],
            "notify_roles": ["finance"], "plan_reminder_day": 20,
            "consent_purposes": ["通知", "资质", "联系", "notice", "contact"]}
    return {**base, **getattr(settings, "KEHU_QUALIFICATION", {})}


def _require(actor, perm: str, message: str | None = None) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(perm):
        raise Forbidden(message or _("You are not allowed to do this."))


def _text(data: dict, name: str, errors: dict, limit: int) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    value = value.strip()
    if len(value) > limit:
        errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
    return value[:limit]


def _date(data: dict, name: str, errors: dict) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
        return None


# ---------------------------------------------------------------- customer types

def _type_by_code(code) -> CustomerType:
    found = CustomerType.objects.filter(code=code, active=True).first() if isinstance(code, str) else None
    if found is None:
        raise Invalid(_("Choose a customer type."), fields={"customer_type": [_("Unknown customer type.")]})
    return found


@transaction.atomic
def qualification_type_set(*, actor, customer_id: int, customer_type: str) -> CustomerQualification:
    """Say which type a customer is (直供客户 / 独家代理 / 经销商); its required documents follow."""
    _require(actor, Perm.CUSTOMER_WRITE)
    customer = customer_get(actor=actor, customer_id=customer_id, for_update=True)
    ctype = _type_by_code(customer_type)
    row, _created = CustomerQualification.objects.select_for_update().get_or_create(customer=customer)
    before = row.customer_type.code if row.customer_type_id else None
    if before != ctype.code:
        row.customer_type = ctype
        row.save(update_fields=["customer_type", "updated_at"])
        audit_record(actor=actor, action="qualification.type_set", obj=customer,
                     changes={"customer_type": [before, ctype.code]})
    return row


def required_kinds(ctype: CustomerType | None) -> list[str]:
    return [k for k in (ctype.required_kinds if ctype else []) if k in DocumentKind.values]


def missing_documents(customer_id: int, ctype: CustomerType | None, *, today: dt.date) -> list[str]:
    """The document kinds the type requires that the customer lacks (none on file, the newest rejected, or
    expired). A business licence carrying the USCC (三证合一) stands for the tax registration and the
    organisation code."""
    newest: dict[str, Document] = {}
    for doc in Document.objects.filter(customer_id=customer_id).order_by("kind", "title", "version"):
        newest[doc.kind] = doc if doc.verification != Verification.REJECTED else newest.get(doc.kind)
        if doc.current:
            newest.setdefault(doc.kind, doc)
    usable = {k for k, d in newest.items() if d is not None and not expiry.is_expired(d.valid_to, today=today)}
    licence = newest.get(DocumentKind.BUSINESS_LICENCE)
    if licence is not None and DocumentKind.BUSINESS_LICENCE in usable and len(licence.number) == 18:
        usable |= {DocumentKind.TAX_REGISTRATION, DocumentKind.ORGANISATION_CODE}
    return [k for k in required_kinds(ctype) if k not in usable]


# ---------------------------------------------------------------- documents

def document_dir() -> Path:
    return Path(settings.VAR_DIR) / "qualification" / "documents"


SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg", "jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
              (b"%PDF-", "application/pdf", "pdf"))


def sniff(head: bytes) -> tuple[str, str] | None:
    """The scan's type from its first bytes (never its name)."""
    for magic, kind, ext in SIGNATURES:
        if head.startswith(magic):
            return kind, ext
    return None


def _store(file_name: str, chunks: Iterable[bytes]) -> dict:
    """Stream the scan into the private store, size-limited while read, type sniffed from the content."""
    cfg = config()
    directory = document_dir()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".upload-{uuid.uuid4().hex}"
    digest, size, limit, head = hashlib.sha256(), 0, cfg["file_max_bytes"], b""
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise Invalid(_("The file is larger than %(mb).1f MB.") % {"mb": limit / (1024 * 1024)},
                                  fields={"file": [_("Too large.")]}, code="too_large")
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(_("The file is empty."), fields={"file": [_("Empty file.")]}, code="empty")
        kind = sniff(head)
        if kind is None or kind[0] not in cfg["file_types"]:
            raise Invalid(_("Attach a scan as JPEG, PNG or PDF."),
                          fields={"file": [_("This type of file is not accepted.")]}, code="file_type")
        sha = digest.hexdigest()
        stored = f"{sha}.{kind[1]}"
        os.replace(tmp, directory / stored)
    finally:
        tmp.unlink(missing_ok=True)
    name = os.path.basename(str(file_name or "").replace("\\", "/")).strip().replace("\x00", "")[:200]
    return {"file_name": name or f"scan.{kind[1]}", "content_type": kind[0], "size": size, "sha256": sha,
            "stored_name": stored}


def document_path(doc: Document) -> Path:
    return document_dir() / doc.stored_name


def clean_document(data: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values: dict = {}
    kind = data.get("kind")
    if kind not in DocumentKind.values:
        errors["kind"] = [_("Choose the kind of document.")]
    values["kind"] = kind
    for name, limit in TEXT_FIELDS.items():
        values[name] = _text(data, name, errors, limit)
    values["valid_from"] = _date(data, "valid_from", errors)
    values["valid_to"] = _date(data, "valid_to", errors)
    if values["valid_from"] and values["valid_to"] and values["valid_to"] < values["valid_from"]:
        errors["valid_to"] = [_("The end of validity is before its start.")]
    if kind == DocumentKind.PRODUCT_LICENCE and not values["title"]:
        errors["title"] = [_("Name the licence (e.g. 危险化学品经营许可证).")]
    if kind == DocumentKind.INVOICING:
        for name in ("bank", "account_number", "invoice_address", "invoice_phone"):
            if not values[name]:
                errors[name] = [_("Required for invoicing data.")]
    elif kind in DocumentKind.values and not values["number"]:
        errors["number"] = [_("Give the document's number.")]
    if kind != DocumentKind.PRODUCT_LICENCE:
        values["title"] = ""
    return values, errors


def document_add(*, actor, customer_id: int, data: dict, file_name: str = "",
                 chunks: Iterable[bytes] | None = None) -> Document:
    """File a customer's document, or a renewal of one (a new version of the same kind and title), with
    its scan; it waits for verification (资质审查) before it is in force."""
    _require(actor, Perm.CUSTOMER_WRITE)
    customer_get(actor=actor, customer_id=customer_id)  # 404 before reading the body
    values, errors = clean_document(data)
    if errors:
        raise Invalid(_("The document is not valid."), fields=errors)
    info = _store(file_name, chunks) if chunks is not None else {}
    for _attempt in range(3):
        try:
            with transaction.atomic():
                customer = customer_get(actor=actor, customer_id=customer_id, for_update=True)
                last = Document.objects.filter(customer=customer, kind=values["kind"], title=values["title"]).aggregate(
                    v=Max("version"))["v"] or 0
                doc = Document(customer=customer, version=last + 1, uploaded_by=actor, **values, **info)
                doc.full_clean(exclude=["customer", "uploaded_by", "verified_by"])
                doc.save(force_insert=True)
                audit_record(actor=actor, action="qualification.document_add", obj=doc,
                             changes={"customer": customer.pk, "kind": doc.kind, "version": doc.version,
                                      "number": doc.number, "valid_to": str(doc.valid_to or ""),
                                      "file": doc.file_name})
                return doc
        except IntegrityError:
            continue
    raise Conflict(_("Another version of this document was filed at the same time; try again."))


def _document_for_update(actor, document_id: int) -> Document:
    from kehu.qualification.selectors import document_get

    document_get(actor=actor, document_id=document_id)  # scope: 404 outside
    return Document.objects.select_for_update().select_related("customer").get(pk=document_id)


@transaction.atomic
def document_verify(*, actor, document_id: int, decision: str, note: str = "",
                    today: dt.date | None = None) -> Document:
    """Verify (or reject) a document (Perm.QUALIFICATION_VERIFY). A verified version becomes the one in
    force; a customer suspended for expired papers is reinstated once none in force is expired."""
    _require(actor, Perm.QUALIFICATION_VERIFY, _("You are not allowed to verify documents."))
    if decision not in (Verification.VERIFIED, Verification.REJECTED):
        raise Invalid(_("Decide verified or rejected."), fields={"decision": [_("Unknown decision.")]})
    note = (note or "").strip()[:500]
    if decision == Verification.REJECTED and not note:
        raise Invalid(_("Say why the document is rejected."), fields={"note": [_("Required to reject.")]})
    doc = _document_for_update(actor, document_id)
    if doc.verification != Verification.PENDING:
        raise Conflict(_("This document has already been decided."), code="already_decided")
    today = today or expiry.local_today(timezone.now())
    if decision == Verification.VERIFIED:
        newer = Document.objects.filter(customer_id=doc.customer_id, kind=doc.kind, title=doc.title,
                                        version__gt=doc.version, verification=Verification.VERIFIED).exists()
        if not newer:
            Document.objects.filter(customer_id=doc.customer_id, kind=doc.kind, title=doc.title,
                                    current=True).update(current=False)
            doc.current = True
    doc.verification, doc.verified_by, doc.verified_at, doc.verification_note = (
        decision, actor, timezone.now(), note)
    doc.save(update_fields=["verification", "verified_by", "verified_at", "verification_note", "current"])
    audit_record(actor=actor, action=f"qualification.document_{decision}", obj=doc,
                 changes={"customer": doc.customer_id, "kind": doc.kind, "version": doc.version, "note": note})
    if doc.current:
        reinstate_if_renewed(actor=actor, customer_id=doc.customer_id, today=today, document=doc)
    return doc


def expired_in_force(customer_ids: Iterable[int], *, today: dt.date):
    return Document.objects.filter(customer_id__in=list(customer_ids), current=True, valid_to__lt=today)


def reinstate_if_renewed(*, actor, customer_id: int, today: dt.date, document: Document | None = None) -> bool:
    """Lift a suspension for expired papers when no document in force is expired any more."""
    row = CustomerQualification.objects.select_for_update().filter(customer_id=customer_id,
                                                                   suspended_by_documents=True).first()
    if row is None or expired_in_force([customer_id], today=today).exists():
        return False
    customer = Customer.objects.filter(pk=customer_id).only("status").first()
    row.suspended_by_documents = False
    row.save(update_fields=["suspended_by_documents", "updated_at"])
    if customer is not None and customer.status == Status.SUSPENDED:
        customer_status_change(actor=actor, customer_id=customer_id, to=Status.ACTIVE, source="documents",
                               reason=_("Renewed document verified: %(d)s") % {"d": document.label if document
                                                                               else "-"},
                               detail={"document": document.pk if document else None})
    return True


# ---------------------------------------------------------------- account opening

def _application_payload(customer: Customer, ctype: CustomerType, values: dict) -> dict:
    docs = Document.objects.filter(customer=customer).exclude(verification=Verification.REJECTED).order_by(
        "kind", "title", "-version")
    seen, lines = set(), []
    for d in docs:
        if (d.kind, d.title) in seen:
            continue
        seen.add((d.kind, d.title))
        lines.append(f"{d.label} {d.number}".strip() + (f"（{d.valid_to}）" if d.valid_to else ""))
    return {"customer": customer.name, "uscc": customer.uscc, "customer_type": ctype.name,
            "documents": "；".join(lines)[:1000],
            **{k: v for k, v in values.items() if v},
            "object_url": f"/qualification/customers/{customer.pk}/"}


def clean_application(data: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values = {name: _text(data, name, errors, limit) for name, limit in APPLICATION_FIELDS.items()}
    if not values["legal_representative"]:
        errors["legal_representative"] = [_("Required.")]
    return values, errors


@transaction.atomic
def application_submit(*, actor, customer_id: int, data: dict, today: dt.date | None = None) -> AccountOpening:
    """Apply for account opening (开户审批) of a pending customer: its type, the form's data and the papers the
    type requires (the business licence, tax registration and organisation code or the USCC licence, the
    invoicing data …). Sent to the chain sales manager → finance → general manager."""
    from kehu.approvals.services import approval_request

    _require(actor, Perm.CUSTOMER_WRITE)
    customer = customer_get(actor=actor, customer_id=customer_id, for_update=True)
    if customer.status != Status.PENDING:
        raise Conflict(_("Only a customer pending admission needs account opening."), code="not_pending")
    if AccountOpening.objects.filter(customer=customer, status__in=OPEN_APPLICATION).exists():
        raise Conflict(_("An application for this customer is already under way."), code="already_requested")
    errors: dict[str, list[str]] = {}
    code = data.get("customer_type")
    if code is None:
        row = CustomerQualification.objects.filter(customer=customer).select_related("customer_type").first()
        ctype = row.customer_type if row and row.customer_type_id else None
        if ctype is None:
            errors["customer_type"] = [_("Choose a customer type.")]
    else:
        ctype = CustomerType.objects.filter(code=code, active=True).first() if isinstance(code, str) else None
        if ctype is None:
            errors["customer_type"] = [_("Unknown customer type.")]
    values, field_errors = clean_application(data)
    errors.update(field_errors)
    today = today or expiry.local_today(timezone.now())
    if ctype is not None:
        missing = missing_documents(customer.pk, ctype, today=today)
        if missing:
            errors["documents"] = [_("Missing or expired: %(k)s.") % {
                "k": "、".join(str(DocumentKind(k).label) for k in missing)}]
    if errors:
        raise Invalid(_("The application is not complete."), fields=errors, code="incomplete")
    row, _created = CustomerQualification.objects.get_or_create(customer=customer)
    if row.customer_type_id != ctype.pk:
        row.customer_type = ctype
        row.save(update_fields=["customer_type", "updated_at"])
    app = AccountOpening.objects.create(customer=customer, customer_type=ctype, data=values, applicant=actor)
    # The steps walk up the owner's department line (the owner's sales manager reviews first), whoever files it.
    req = approval_request(actor=actor, chain_code=CHAIN, target=app, line_of=customer.owner,
                           title=_("Account opening: %(c)s") % {"c": customer.name},
                           payload=_application_payload(customer, ctype, values))
    app.request_id = req.pk
    app.save(update_fields=["request_id"])
    audit_record(actor=actor, action="qualification.application_submit", obj=app,
                 changes={"customer": customer.pk, "customer_type": ctype.code, "request": req.pk})
    return app


@transaction.atomic
def application_resubmit(*, actor, application_id: int, data: dict | None = None, comment: str = "") -> AccountOpening:
    """Send a returned application through the chain again after correcting it."""
    from kehu.approvals.services import approval_resubmit
    from kehu.qualification.selectors import application_get

    app = application_get(actor=actor, application_id=application_id)
    app = AccountOpening.objects.select_for_update().get(pk=app.pk)
    if app.status != ApplicationStatus.RETURNED:
        raise Conflict(_("Only a returned application can be sent again."), code="not_returned")
    if data:
        values, errors = clean_application({**app.data, **data})
        if errors:
            raise Invalid(_("The application is not complete."), fields=errors)
        app.data = values
    approval_resubmit(actor=actor, request_id=app.request_id, comment=comment)
    app.status = ApplicationStatus.SUBMITTED
    app.save(update_fields=["status", "data"])
    audit_record(actor=actor, action="qualification.application_resubmit", obj=app, changes={})
    return app


def _last_comment(request) -> tuple[str, int | None]:
    task = request.tasks.exclude(comment="").order_by("-acted_at", "-id").first()
    return (task.comment, task.step_order) if task else ("", None)


def on_approval_outcome(request, outcome: str) -> None:
    """The chain's answer (same transaction as the decision): approved → the customer becomes active and its
    data goes to finance and the units concerned; rejected at any step → the reasons are kept and the
    customer stays pending (apply again after correcting); returned → back to the applicant."""
    app = AccountOpening.objects.select_for_update().select_related("customer", "applicant").filter(
        pk=request.object_id).first()
    if app is None or app.status not in OPEN_APPLICATION:
        return
    comment, step = _last_comment(request)
    now = timezone.now()
    if outcome == "approved":
        app.status, app.decided_at = ApplicationStatus.APPROVED, now
        app.save(update_fields=["status", "decided_at"])
        customer_status_change(actor=None, customer_id=app.customer_id, to=Status.ACTIVE, source="account_opening",
                               reason=_("Account opening approved (application #%(n)d)") % {"n": app.pk},
                               detail={"application": app.pk, "request": request.pk})
        _send_admitted(app)
    elif outcome == "returned":
        app.status, app.reasons = ApplicationStatus.RETURNED, comment
        app.save(update_fields=["status", "reasons"])
    else:
        app.status = ApplicationStatus.REJECTED if outcome == "rejected" else ApplicationStatus.CANCELLED
        app.reasons, app.decided_at = comment, now
        app.save(update_fields=["status", "reasons", "decided_at"])
    audit_record(actor=None, action=f"qualification.application_{app.status}", obj=app,
                 changes={"customer": app.customer_id, "request": request.pk, "step": step, "reasons": comment})
    if outcome in ("rejected", "returned"):
        from kehu.notifications.services import notify

        notify(user=app.applicant, title=_("Account opening not approved: %(c)s") % {"c": app.customer.name},
               body=comment, link=f"/qualification/applications/{app.pk}/")


def _send_admitted(app: AccountOpening) -> None:
    """第八条: the admitted customer's record goes to finance and the units concerned (the owner's department
    manager), each notified with the record."""
    from kehu.access.models import User
    from kehu.notifications.services import notify

    customer = app.customer
    body = "\n".join(f"{k}: {v}" for k, v in _application_payload(customer, app.customer_type, app.data).items()
                     if k != "object_url")
    link = f"/qualification/applications/{app.pk}/"
    title = _("Customer admitted: %(c)s") % {"c": customer.name}
    roles = [r for r in config()["notify_roles"]]
    users = set(User.objects.filter(is_active=True, role__in=roles))
    if customer.department_id:
        users |= set(User.objects.filter(is_active=True, role="manager", department_id=customer.department_id))
    users.add(app.applicant)
    for user in sorted(users, key=lambda u: u.pk):
        notify(user=user, title=title, body=body, link=link)


# ---------------------------------------------------------------- manual suspension

@transaction.atomic
def customer_suspend(*, actor, customer_id: int, reason: str):
    """Suspend business with a customer (暂停业务往来) by hand; Perm.QUALIFICATION_MANAGE only."""
    return customer_status_change(actor=actor, customer_id=customer_id, to=Status.SUSPENDED, reason=reason)


@transaction.atomic
def customer_reinstate(*, actor, customer_id: int, reason: str):
    """Lift a suspension by hand (e.g. the customer proved a renewal is under way); Perm.QUALIFICATION_MANAGE
    only — a rep cannot clear a suspension. The next sweep suspends again while a paper in force is expired."""
    customer = customer_status_change(actor=actor, customer_id=customer_id, to=Status.ACTIVE, reason=reason)
    CustomerQualification.objects.filter(customer_id=customer_id).update(suspended_by_documents=False)
    return customer


@transaction.atomic
def customers_admit_established(*, actor, customer_ids: Iterable[int], reason: str) -> int:
    """Admit, set-based, pending customers that were already doing business before the rule (an established
    book taken over, the demo company): source "migration", one audit entry each. Perm.QUALIFICATION_MANAGE."""
    _require(actor, Perm.QUALIFICATION_MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("A reason is required."), fields={"reason": [_("A reason is required.")]})
    ids = sorted({int(i) for i in customer_ids})
    rows: list[tuple[int, str]] = []
    cust = Customer._meta.db_table
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        rows += _returning(
            f"UPDATE {cust} SET status = 'active', version = version + 1 WHERE status = 'pending' AND "
            f"deleted_at IS NULL AND id IN ({', '.join(['%s'] * len(chunk))}) RETURNING id, name", chunk)
    _stamp_and_audit(rows, before="pending", after="active", reason=reason, source="migration", actor=actor)
    return len(rows)


# ---------------------------------------------------------------- the daily sweep

def _returning(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def sweep_suspend(*, today: dt.date) -> list[tuple[int, str]]:
    """Suspend, in one statement, every active customer with a document in force that expired before
    ``today`` (Shanghai); returns (id, name) of those suspended. Set-based: no per-customer loop."""
    cust, doc = Customer._meta.db_table, Document._meta.db_table
    qual = CustomerQualification._meta.db_table
    rows = _returning(
        f"UPDATE {cust} SET status = 'suspended', version = version + 1 "
        f"WHERE status = 'active' AND deleted_at IS NULL AND id IN "
        f"(SELECT customer_id FROM {doc} WHERE current = %s AND valid_to < %s) RETURNING id, name",
        [True, today])
    if rows:
        now = timezone.now()
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            with connection.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {qual} (customer_id, customer_type_id, suspended_by_documents, updated_at) "
                    f"VALUES (%s, NULL, %s, %s) ON CONFLICT (customer_id) DO UPDATE SET suspended_by_documents = %s, "
                    f"updated_at = %s", [(pk, True, now, True, now) for pk, _n in chunk])
    return rows


def sweep_reinstate(*, today: dt.date) -> list[tuple[int, str]]:
    """Reinstate every customer suspended for papers that has none expired in force any more."""
    cust, doc = Customer._meta.db_table, Document._meta.db_table
    qual = CustomerQualification._meta.db_table
    rows = _returning(
        f"UPDATE {cust} SET status = 'active', version = version + 1 WHERE status = 'suspended' AND id IN "
        f"(SELECT q.customer_id FROM {qual} q WHERE q.suspended_by_documents = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {doc} d WHERE d.customer_id = q.customer_id AND d.current = %s AND d.valid_to < %s)) "
        f"RETURNING id, name", [True, True, today])
    ids = [pk for pk, _n in rows]
    for start in range(0, len(ids), 900):
        CustomerQualification.objects.filter(customer_id__in=ids[start:start + 900]).update(
            suspended_by_documents=False)
    return rows


def _stamp_and_audit(rows: list[tuple[int, str]], *, before: str, after: str, reason: str,
                     source: str = "documents", actor=None) -> None:
    """The version stamps and audit entries of a set-based status change (one row each, executemany)."""
    if not rows:
        return
    from kehu.concurrency.models import VersionStamp
    from kehu.concurrency.versioning import object_type

    ids = [pk for pk, _n in rows]
    versions = {}
    for start in range(0, len(ids), 900):
        versions.update(Customer.objects.filter(pk__in=ids[start:start + 900]).values_list("pk", "version"))
    kind = object_type(Customer)
    VersionStamp.objects.bulk_create([VersionStamp(object_type=kind, object_id=pk, version=versions[pk],
                                                   fields=["status"]) for pk in ids if pk in versions],
                                     batch_size=2000, ignore_conflicts=True)
    objects = [Customer(pk=pk, name=name) for pk, name in rows]
    audit_record_many(actor=actor, action="customer.status_changed", objects=objects,
                      changes=[{"status": [before, after], "reason": reason, "source": source}] * len(objects))


def expiry_sweep(*, today: dt.date | None = None, remind: bool = True) -> dict:
    """The daily run (kehu.qualification.tasks): suspend customers whose papers in force expired, reinstate
    those renewed, and remind owners (and, with consent, the customer's contact) of papers expiring within
    KEHU_QUALIFICATION["remind_days"] days. Set-based statements; one transaction."""
    today = today or expiry.local_today(timezone.now())
    with transaction.atomic():
        suspended = sweep_suspend(today=today)
        _stamp_and_audit(suspended, before="active", after="suspended",
                         reason=_("Qualification document expired"))
        reinstated = sweep_reinstate(today=today)
        _stamp_and_audit(reinstated, before="suspended", after="active",
                         reason=_("Expired documents renewed"))
        if suspended:
            _notify_suspended([pk for pk, _n in suspended], today=today)
        reminded = expiry_reminders(today=today) if remind else 0
    return {"suspended": len(suspended), "reinstated": len(reinstated), "reminded": reminded,
            "today": today.isoformat()}


def _notify_suspended(ids: list[int], *, today: dt.date) -> None:
    from kehu.access.models import User
    from kehu.notifications.services import notify

    by_owner: dict[int, list[str]] = {}
    for owner_id, name in Customer.objects.filter(pk__in=ids[:5000]).values_list("owner_id", "name"):
        by_owner.setdefault(owner_id, []).append(name)
    for user in User.objects.filter(pk__in=list(by_owner)):
        names = by_owner[user.pk]
        notify(user=user, title=_("%(n)d customers suspended for expired documents") % {"n": len(names)},
               body="、".join(names[:20]), link="/qualification/documents/?state=expired")


def expiry_reminders(*, today: dt.date) -> int:
    """Remind each owner once per document of papers in force expiring within the window; the customer's
    contacts with a live consent for notices get an e-mail. Each document is reminded once."""
    from kehu.access.models import User
    from kehu.customers.models import Consent, ConsentStatus, Contact, LegalBasis
    from kehu.notifications.services import notify

    first, last = expiry.expiring_window(today, config()["remind_days"])
    docs = list(Document.objects.filter(current=True, valid_to__gte=first, valid_to__lte=last,
                                        reminded_at__isnull=True, customer__deleted_at__isnull=True)
                .select_related("customer").order_by("valid_to", "id")[:5000])
    if not docs:
        return 0
    by_owner: dict[int, list[Document]] = {}
    for d in docs:
        by_owner.setdefault(d.customer.owner_id, []).append(d)
    for user in User.objects.filter(pk__in=list(by_owner)):
        mine = by_owner[user.pk]
        notify(user=user, title=_("%(n)d customer documents expire within %(d)d days") % {
            "n": len(mine), "d": config()["remind_days"]},
            body="\n".join(f"{d.customer.name}: {d.label} {d.valid_to}" for d in mine[:20]),
            link="/qualification/documents/?state=expiring")
    words = [w for w in config()["consent_purposes"] if w]
    purpose = Q()
    for w in words:
        purpose |= Q(purpose__icontains=w)
    customer_ids = {d.customer_id for d in docs}
    consenting = Consent.objects.filter(purpose, customer_id__in=customer_ids, status=ConsentStatus.GRANTED,
                                        basis=LegalBasis.CONSENT, contact__isnull=False)
    contacts = Contact.objects.filter(pk__in=consenting.values("contact_id")).exclude(email="")
    by_customer: dict[int, list[Document]] = {}
    for d in docs:
        by_customer.setdefault(d.customer_id, []).append(d)
    for contact in contacts:
        mine = by_customer.get(contact.customer_id, [])
        if mine:
            _mail_contact(contact.email, mine)
    Document.objects.filter(pk__in=[d.pk for d in docs]).update(reminded_at=timezone.now())
    return len(docs)


def _mail_contact(to: str, docs: list[Document]) -> None:
    from kehu.notifications.tasks import send_notification_email

    subject = _("Your qualification documents are about to expire")
    text = "\n".join(f"{d.label} {d.number}: {d.valid_to}" for d in docs)
    transaction.on_commit(lambda: send_notification_email(to, subject, text), robust=True)


# ---------------------------------------------------------------- the gate's explainer

def explain_refusal(customer, action: str) -> str | None:
    """Name the expired document when a customer is suspended for its papers (registered with the gate)."""
    if customer.status != Status.SUSPENDED or not CustomerQualification.objects.filter(
            customer_id=customer.pk, suspended_by_documents=True).exists():
        return None
    doc = (Document.objects.filter(customer_id=customer.pk, current=True, valid_to__isnull=False)
           .order_by("valid_to", "id").first())
    if doc is None:
        return None
    return _("%(doc)s (No. %(number)s) expired: it was valid until %(date)s.") % {
        "doc": doc.label, "number": doc.number or "-", "date": doc.valid_to.isoformat()}


def register() -> None:
    from kehu.approvals.hooks import register_outcome_handler
    from kehu.customers.gates import register_explainer

    register_outcome_handler("qualification.accountopening", on_approval_outcome)
    register_explainer(explain_refusal)

