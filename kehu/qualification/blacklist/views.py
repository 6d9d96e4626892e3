"""Blacklist pages: the blacklist (search, an entry with its lifting request), disqualification requests (ask
with reason and evidence, a request with its evidence files) and the registrations flagged for review.
Parse → call a service/selector → render; the same permissions as the API (a DomainError is its status)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.errors import DomainError
from kehu.qualification.blacklist import selectors, services
from kehu.qualification.blacklist.api import evidence_response
from kehu.qualification.blacklist.models import EntryState, ReasonCategory
from kehu.web import page

PAGE_SIZE = 50


def _nav(request, active: str) -> dict:
    return {"nav_active": active, "can_manage": services.can_manage(request.user),
            "can_request": services.can_request(request.user)}


def _errors(exc: DomainError) -> dict:
    if exc.status in (403, 404):
        raise exc
    return {"__all__": [exc.message], **exc.fields}


@page
@require_http_methods(["GET"])
def entry_list(request):
    state = request.GET.get("state", EntryState.ACTIVE)
    state = state if state in EntryState.values else ""
    q = (request.GET.get("q") or "").strip()[:200]
    page_ = selectors.entry_list(actor=request.user, state=state or None, q=q or None, limit=PAGE_SIZE,
                                 cursor=request.GET.get("cursor"))
    return render(request, "blacklist/entry_list.html", {"entries": page_.items, "next": page_.next, "q": q,
                                                         "state": state, **_nav(request, "entries")})


@page
@require_http_methods(["GET", "POST"])
def entry_detail(request, entry_id: int):
    entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
    errors = {}
    if request.method == "POST":
        try:
            services.lift_request(actor=request.user, entry_id=entry.pk, reason=request.POST.get("reason", ""))
            messages.success(request, _("Lifting sent for approval."))
            return redirect("blacklist:entry", entry.pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "blacklist/entry_detail.html", {
        "entry": entry, "lifts": entry.lifts.select_related("requested_by")[:20],
        "hits": entry.hits.order_by("-id")[:20], "errors": errors, **_nav(request, "entries")},
        status=400 if errors else 200)


@page
@require_http_methods(["GET"])
def disqualification_list(request):
    page_ = selectors.disqualification_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "blacklist/disqualification_list.html", {
        "requests": page_.items, "next": page_.next, **_nav(request, "disqualifications")})


@page
@require_http_methods(["GET", "POST"])
def disqualification_new(request):
    from kehu.customers.selectors import customer_get

    raw = request.GET.get("customer") or request.POST.get("customer") or ""
    customer = customer_get(actor=request.user, customer_id=int(raw)) if raw.isdigit() and len(raw) < 18 else None
    errors = {}
    if request.method == "POST":
        try:
            if customer is None:
                from kehu.errors import Invalid

                raise Invalid(_("Choose the customer."), fields={"customer": [_("Required.")]})
            d = services.disqualification_request(
                actor=request.user, customer_id=customer.pk, category=request.POST.get("category", ""),
                description=request.POST.get("description", ""),
                files=[(f.name, f.chunks()) for f in request.FILES.getlist("evidence")])
            messages.success(request, _("Disqualification sent for approval."))
            return redirect("blacklist:disqualification", d.pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "blacklist/disqualification_form.html", {
        "customer": customer, "categories": ReasonCategory.choices, "errors": errors, "post": request.POST,
        **_nav(request, "disqualifications")}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def disqualification_detail(request, disqualification_id: int):
    d = selectors.disqualification_get(actor=request.user, disqualification_id=disqualification_id)
    errors = {}
    if request.method == "POST":
        try:
            for f in request.FILES.getlist("evidence"):
                services.evidence_add(actor=request.user, disqualification_id=d.pk, file_name=f.name,
                                      chunks=f.chunks())
            messages.success(request, _("Saved."))
            return redirect("blacklist:disqualification", d.pk)
        except DomainError as exc:
            errors = _errors(exc)
    from django.contrib.contenttypes.models import ContentType

    from kehu.approvals.models import ApprovalRequest

    approval = (ApprovalRequest.objects.filter(content_type=ContentType.objects.get_for_model(d),
                                               object_id=str(d.pk)).order_by("-id").first())
    return render(request, "blacklist/disqualification_detail.html", {
        "d": d, "evidence": d.evidence.all(), "approval": approval, "errors": errors,
        "entry": getattr(d, "entry", None) if d.state == "approved" else None,
        **_nav(request, "disqualifications")}, status=400 if errors else 200)


@page
@require_http_methods(["GET"])
def evidence_download(request, disqualification_id: int, evidence_id: int):
    e = selectors.evidence_get(actor=request.user, disqualification_id=disqualification_id, evidence_id=evidence_id)
    return evidence_response(e)


@page
@require_http_methods(["GET"])
def hit_list(request):
    state = request.GET.get("state", "open")
    page_ = selectors.hit_list(actor=request.user, state=state if state in ("open", "cleared", "confirmed") else None,
                               limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "blacklist/hit_list.html", {"hits": page_.items, "next": page_.next, "state": state,
                                                       **_nav(request, "hits")})


@page
@require_POST
def hit_review(request, hit_id: int):
    try:
        services.hit_review(actor=request.user, hit_id=hit_id, state=request.POST.get("state", ""),
                            note=request.POST.get("note", ""))
        messages.success(request, _("Saved."))
    except DomainError as exc:
        _errors(exc)
        messages.error(request, exc.message)
    return redirect("blacklist:hits")
