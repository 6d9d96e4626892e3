"""Admission pages: customers pending admission and account-opening applications (开户审批), documents expiring
or expired (证照到期), a customer's qualification page (type, documents and their versions, verification,
application, suspension). Parse → call a service/selector → render."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.roles import Perm
from kehu.customers.selectors import customer_get
from kehu.errors import DomainError
from kehu.qualification import expiry, selectors, services
from kehu.qualification.api import document_file_response
from kehu.qualification.models import APPLICATION_FIELDS_LABELS, DocumentKind
from kehu.web import page

PAGE_SIZE = 30


def _today():
    return expiry.local_today(timezone.now())


@page
@require_http_methods(["GET"])
def application_list_page(request):
    user = request.user
    pending = selectors.pending_customer_list(actor=user, limit=PAGE_SIZE, cursor=request.GET.get("pcursor") or None)
    open_apps = selectors.open_application_by_customer([c.pk for c in pending.items])
    apps = selectors.application_list(actor=user, limit=PAGE_SIZE, cursor=request.GET.get("cursor") or None)
    return render(request, "qualification/applications.html", {
        "pending": [(c, open_apps.get(c.pk)) for c in pending.items], "pending_next": pending.next,
        "applications": apps.items, "next": apps.next})


@page
@require_http_methods(["GET"])
def application_detail_page(request, application_id: int):
    app = selectors.application_get(actor=request.user, application_id=application_id)
    fields = [(label, app.data.get(key)) for key, label in APPLICATION_FIELDS_LABELS.items() if app.data.get(key)]
    return render(request, "qualification/application_detail.html", {"app": app, "fields": fields})


@page
@require_http_methods(["GET"])
def document_list_page(request):
    state = request.GET.get("state") or "expiring"
    if state not in selectors.DOC_STATES:
        state = "expiring"
    today = _today()
    docs = selectors.document_list(actor=request.user, state=state, today=today, days=services.config()["remind_days"],
                                   mine=request.GET.get("mine") == "1", limit=PAGE_SIZE,
                                   cursor=request.GET.get("cursor") or None)
    rows = [(d, expiry.days_left(d.valid_to, today=today)) for d in docs.items]
    return render(request, "qualification/documents.html", {
        "rows": rows, "next": docs.next, "state": state, "states": [
            ("expiring", _("Expiring within %(d)d days") % {"d": services.config()["remind_days"]}),
            ("expired", _("Expired")), ("pending", _("Awaiting verification")), ("in_force", _("In force"))]})


@page
@require_http_methods(["GET"])
def customer_page(request, customer_id: int):
    user = request.user
    customer = customer_get(actor=user, customer_id=customer_id)
    qual = selectors.qualification_of(customer_id=customer.pk)
    ctype = qual.customer_type if qual else None
    today = _today()
    docs = selectors.customer_documents(actor=user, customer_id=customer.pk)
    apps = selectors.application_list(actor=user, customer=customer.pk, limit=10).items
    return render(request, "qualification/customer.html", {
        "customer": customer, "qual": qual, "ctype": ctype, "types": list(selectors.customer_type_list()),
        "docs": [(d, expiry.days_left(d.valid_to, today=today)) for d in docs],
        "missing": [DocumentKind(k).label for k in services.missing_documents(customer.pk, ctype, today=today)]
        if ctype else [],
        "applications": apps, "kinds": DocumentKind.choices, "app_fields": APPLICATION_FIELDS_LABELS,
        "can_write": user.has_kehu_perm(Perm.CUSTOMER_WRITE),
        "can_verify": user.has_kehu_perm(Perm.QUALIFICATION_VERIFY),
        "can_manage": user.has_kehu_perm(Perm.QUALIFICATION_MANAGE)})


def _back(customer_id: int):
    return redirect(reverse("qualification:customer", args=[customer_id]))


def _run(request, customer_id: int, write, ok: str):
    """Run one service call; a refused write (409/422) is shown on the page, 403/404 become their page."""
    try:
        write()
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message + "".join(f" {k}: {'; '.join(map(str, v))}"
                                                      for k, v in (exc.fields or {}).items()))
        return _back(customer_id)
    messages.success(request, ok)
    return _back(customer_id)


@page
@require_POST
def customer_type_post(request, customer_id: int):
    return _run(request, customer_id, lambda: services.qualification_type_set(
        actor=request.user, customer_id=customer_id, customer_type=request.POST.get("customer_type")),
        _("Customer type saved."))


@page
@require_POST
def document_post(request, customer_id: int):
    upload = request.FILES.get("file")
    data = {k: request.POST.get(k) for k in ("kind", "title", "number", "issuer", "valid_from", "valid_to", "bank",
                                             "account_number", "invoice_address", "invoice_phone")}
    return _run(request, customer_id, lambda: services.document_add(
        actor=request.user, customer_id=customer_id, data=data, file_name=upload.name if upload else "",
        chunks=upload.chunks() if upload else None), _("Document filed; it awaits verification."))


@page
@require_POST
def document_verify_post(request, document_id: int):
    doc = selectors.document_get(actor=request.user, document_id=document_id)
    return _run(request, doc.customer_id, lambda: services.document_verify(
        actor=request.user, document_id=document_id, decision=request.POST.get("decision") or "",
        note=request.POST.get("note") or ""), _("Verification recorded."))


@page
@require_http_methods(["GET"])
def document_file(request, document_id: int):
    return document_file_response(selectors.document_get(actor=request.user, document_id=document_id))


@page
@require_POST
def application_post(request, customer_id: int):
    data = {k: request.POST.get(k) or "" for k in APPLICATION_FIELDS_LABELS}
    if request.POST.get("customer_type"):
        data["customer_type"] = request.POST.get("customer_type")
    return _run(request, customer_id, lambda: services.application_submit(
        actor=request.user, customer_id=customer_id, data=data), _("Application sent for approval."))


@page
@require_POST
def application_resubmit_post(request, application_id: int):
    app = selectors.application_get(actor=request.user, application_id=application_id)
    return _run(request, app.customer_id, lambda: services.application_resubmit(
        actor=request.user, application_id=application_id, comment=request.POST.get("comment") or ""),
        _("Application sent again."))


@page
@require_POST
def status_post(request, customer_id: int, move: str):
    fn = services.customer_suspend if move == "suspend" else services.customer_reinstate
    return _run(request, customer_id, lambda: fn(actor=request.user, customer_id=customer_id,
                                                 reason=request.POST.get("reason") or ""),
                _("Status changed."))
