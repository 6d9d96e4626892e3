"""Ownership pages: the registration page (a phone registers a visit or a call in two taps: find, register),
a registration with its check and corrections, the public pool (claim), referrals and disputes. Parse → call a
service/selector → render; the same permissions as the API (a DomainError is its status)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.customers.selectors import customer_base
from kehu.errors import DomainError, Forbidden
from kehu.pagination import paginate
from kehu.sales.ownership import selectors, services
from kehu.sales.ownership.models import Channel, DisputeState, Relation, Verdict
from kehu.web import page

PAGE_SIZE = 50
FOUND_MAX = 8


def _require_read(user) -> None:
    if not selectors.can_read(user):
        raise Forbidden(_("You are not allowed to see registrations."))


def _ctx(request, active: str, **extra) -> dict:
    return {"nav_active": active, "can_manage": selectors.can_manage(request.user), **extra}


def _int(value) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


def _errors(exc: DomainError) -> dict:
    return {"__all__": [exc.message], **exc.fields}


def _found(request, q: str) -> list[dict]:
    """Customers matching ``q`` that the rep may register: their own and the pool's."""
    if len(q) < 2:
        return []
    mine = [{"id": c.pk, "name": c.name, "city": c.city, "pool": False}
            for c in customer_base(actor=request.user).filter(name__icontains=q).only("id", "name", "city")
            .order_by("name")[:FOUND_MAX]]
    pool = [{"id": c.pk, "name": c.name, "city": c.city, "pool": True}
            for c in selectors.pool_list(actor=request.user, q=q).order_by("name")[:FOUND_MAX]]
    return mine + pool


@page
@require_http_methods(["GET", "POST"])
def registrations(request):
    """Register (find a customer or type a new name, then visit / call) and the register below."""
    _require_read(request.user)
    errors, conflict = {}, None
    q = (request.GET.get("q") or request.POST.get("q") or "").strip()[:100]
    if request.method == "POST":
        channel = request.POST.get("channel") or Channel.VISIT
        customer_id = _int(request.POST.get("customer"))
        new_name = (request.POST.get("new_name") or "").strip()
        try:
            reg = services.registration_create(
                actor=request.user, customer_id=customer_id, channel=channel, note=request.POST.get("note", ""),
                new_customer={"name": new_name, "kind": "organization", "confirm_duplicate": False}
                if new_name and not customer_id else None)
            messages.success(request, _("Registered: %(customer)s is yours until %(date)s.") % {
                "customer": reg.customer.name,
                "date": (timezone.localtime(reg.valid_until).date() - dt.timedelta(days=1)).isoformat()})
            return redirect("ownership:registration", reg.pk)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = _errors(exc)
            if exc.code == "already_registered" and customer_id:
                conflict = customer_id
    unverified = selectors.can_manage(request.user) and request.GET.get("unverified") == "1"
    qs = selectors.registration_list(actor=request.user, unverified=unverified)
    page_ = paginate(qs, ordering="-registered_at", allowed={"registered_at": dt.datetime}, limit=PAGE_SIZE,
                     cursor=request.GET.get("cursor"))
    now = timezone.now()
    lapsing = list(selectors.my_lapsing_claims(actor=request.user, now=now, days=services.cfg()["lapsing_days"])[:20])
    return render(request, "ownership/registrations.html", _ctx(
        request, "registrations", rows=page_.items, next=page_.next, q=q, found=_found(request, q),
        errors=errors, conflict=conflict, unverified=unverified, lapsing=lapsing,
        channels=[(Channel.VISIT, Channel.VISIT.label), (Channel.CALL, Channel.CALL.label)]),
        status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def registration_detail(request, registration_id: int):
    _require_read(request.user)
    errors = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "verify":
                services.registration_verify(actor=request.user, registration_id=registration_id,
                                             verdict=request.POST.get("verdict", ""), note=request.POST.get("note", ""))
                messages.success(request, _("Registration checked."))
                return redirect("ownership:registration", registration_id)
            if action == "correct":
                fixed = services.registration_correct(actor=request.user, registration_id=registration_id,
                                                      channel=request.POST.get("channel") or None,
                                                      note=request.POST.get("note", ""))
                messages.success(request, _("Correction recorded."))
                return redirect("ownership:registration", fixed.pk)
            if action == "release":
                reg = selectors.registration_get(actor=request.user, registration_id=registration_id)
                services.pool_release(actor=request.user, customer_id=reg.customer_id,
                                      reason=request.POST.get("reason", ""))
                messages.success(request, _("The customer is back in the public pool."))
                return redirect("ownership:pool")
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = _errors(exc)
    reg = selectors.registration_get(actor=request.user, registration_id=registration_id)
    claim = selectors.registration_claim(reg)
    try:
        check = reg.verification
    except reg.__class__.verification.RelatedObjectDoesNotExist:
        check = None
    corrections = list(reg.corrections.select_related("created_by").order_by("id"))
    user = request.user
    return render(request, "ownership/registration_detail.html", _ctx(
        request, "registrations", reg=reg, claim=claim, check=check, corrections=corrections, errors=errors,
        can_verify=check is None and selectors.can_manage(user) and reg.rep_id != user.pk,
        can_release=bool(claim and claim.ended_at is None and (claim.rep_id == user.pk or selectors.can_manage(user))),
        channels=Channel.choices, verdicts=Verdict.choices), status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def pool(request):
    _require_read(request.user)
    errors = {}
    if request.method == "POST":
        try:
            reg = services.pool_claim(actor=request.user, customer_id=_int(request.POST.get("customer")) or 0)
            messages.success(request, _("Claimed %(customer)s from the pool.") % {"customer": reg.customer.name})
            return redirect("ownership:registration", reg.pk)
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = _errors(exc)
    q = (request.GET.get("q") or "").strip()[:100]
    page_ = paginate(selectors.pool_list(actor=request.user, q=q), ordering="-updated_at",
                     allowed={"updated_at": dt.datetime}, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    moves = list(selectors.pool_move_list(actor=request.user).order_by("-at", "-id")[:20])
    return render(request, "ownership/pool.html", _ctx(request, "pool", rows=page_.items, next=page_.next, q=q,
                                                       moves=moves, errors=errors, limits=services.cfg()),
                  status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def referrals(request):
    _require_read(request.user)
    errors = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "decide":
                services.referral_decide(actor=request.user, referral_id=_int(request.POST.get("referral")) or 0,
                                         confirm=request.POST.get("confirm") == "1")
                messages.success(request, _("Referral decided."))
            else:
                day = request.POST.get("expected_visit_on") or ""
                try:
                    day = dt.date.fromisoformat(day)
                except ValueError:
                    day = None
                services.referral_create(actor=request.user, customer_id=_int(request.POST.get("customer")) or 0,
                                         relation=request.POST.get("relation", ""), expected_visit_on=day,
                                         note=request.POST.get("note", ""))
                messages.success(request, _("Referral recorded."))
            return redirect("ownership:referrals")
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors = _errors(exc)
    page_ = paginate(selectors.referral_list(actor=request.user), ordering="-created_at",
                     allowed={"created_at": dt.datetime}, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    mine = customer_base(actor=request.user).filter(owner_id=request.user.pk).only("id", "name").order_by("name")[:300]
    return render(request, "ownership/referrals.html", _ctx(
        request, "referrals", rows=page_.items, next=page_.next, errors=errors, customers=mine,
        relations=Relation.choices, today=timezone.localdate()), status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def disputes(request):
    _require_read(request.user)
    errors = {}
    if request.method == "POST":
        try:
            d = services.dispute_raise(actor=request.user, customer_id=_int(request.POST.get("customer")) or 0,
                                       statement=request.POST.get("statement", ""))
            messages.success(request, _("Dispute raised; the manager will decide."))
            return redirect("ownership:dispute", d.pk)
        except DomainError as exc:
            if exc.status in (403,):
                raise
            errors = _errors(exc)
    state = request.GET.get("state") if request.GET.get("state") in DisputeState.values else ""
    page_ = paginate(selectors.dispute_list(actor=request.user, state=state), ordering="-created_at",
                     allowed={"created_at": dt.datetime}, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "ownership/disputes.html", _ctx(
        request, "disputes", rows=page_.items, next=page_.next, errors=errors, state=state,
        customer=_int(request.GET.get("customer"))), status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def dispute_detail(request, dispute_id: int):
    _require_read(request.user)
    errors = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "escalate":
                services.dispute_escalate(actor=request.user, dispute_id=dispute_id, note=request.POST.get("note", ""))
                messages.success(request, _("Dispute handed up."))
            else:
                share = request.POST.get("raiser_share", "")
                services.dispute_decide(actor=request.user, dispute_id=dispute_id,
                                        winner_id=_int(request.POST.get("winner")) or 0,
                                        raiser_share=int(share) if share.strip().isdigit() else -1,
                                        reason=request.POST.get("reason", ""))
                messages.success(request, _("Dispute decided."))
            return redirect("ownership:dispute", dispute_id)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = _errors(exc)
    d = selectors.dispute_get(actor=request.user, dispute_id=dispute_id)
    labels = {"raised": _("Raised"), "escalated": _("Handed up"), "decided": _("Decided")}
    events = list(d.events.select_related("actor"))
    for e in events:
        e.label = labels.get(e.action, e.action)
    return render(request, "ownership/dispute_detail.html", _ctx(
        request, "disputes", d=d, events=events, errors=errors,
        holder_share=None if d.raiser_share is None else 100 - d.raiser_share,
        can_decide=d.state == DisputeState.OPEN and services.can_decide(request.user, d),
        can_escalate=d.state == DisputeState.OPEN and selectors.can_manage(request.user) and d.level < 3),
        status=400 if errors else 200)


@page
@require_POST
def release(request, customer_id: int):
    """Give a customer back to the pool (from the customer's registration)."""
    services.pool_release(actor=request.user, customer_id=customer_id, reason=request.POST.get("reason", ""))
    messages.success(request, _("The customer is back in the public pool."))
    return redirect("ownership:pool")
