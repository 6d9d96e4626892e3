"""Symposium pages: the list (with the yearly rule for planners), the plan form, the symposium with its
invitations, attendance, minutes and follow-up items, and the invitee list as CSV or for printing.
Parse → call a service/selector → render."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.engagement.symposia import selectors, services
from kehu.engagement.symposia.forms import SymposiumForm
from kehu.engagement.symposia.models import InvitationState, ItemState, SymposiumState, Topic
from kehu.errors import DomainError, Forbidden
from kehu.imports.exports import neutralise
from kehu.web import form_submit, page

PAGE_SIZE = 30
TOPIC_LABELS = dict(Topic.choices)


@page
@require_http_methods(["GET"])
def symposium_list(request):
    state = request.GET.get("state") or None
    if state not in SymposiumState.values:
        state = None
    result = selectors.symposium_list(actor=request.user, state=state, limit=PAGE_SIZE,
                                      cursor=request.GET.get("cursor") or None)
    can_manage = selectors.can_manage(request.user)
    check = selectors.yearly_check(actor=request.user) if can_manage else None
    return render(request, "symposia/list.html", {
        "symposia": result.items, "next": result.next, "can_manage": can_manage, "check": check,
        "state": state, "states": SymposiumState.choices, "topic_labels": TOPIC_LABELS})


def _local_input(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


@page
@require_http_methods(["GET", "POST"])
def symposium_form(request, symposium_id: int | None = None):
    if not selectors.can_manage(request.user):
        raise Forbidden(_("Only a sales manager or an administrator may plan symposia."))
    current = (selectors.symposium_get(actor=request.user, symposium_id=symposium_id, manage=True)
               if symposium_id else None)
    if request.method == "POST":
        form = SymposiumForm(request.POST)
        if current:
            ok, obj, status = form_submit(form, lambda: services.symposium_update(
                actor=request.user, symposium_id=current.pk, data=form.data_for_service()))
        else:
            ok, obj, status = form_submit(form, lambda: services.symposium_create(
                actor=request.user, data=form.data_for_service()))
        if ok:
            messages.success(request, _("Symposium saved."))
            return redirect("symposia:detail", obj.pk)
    else:
        initial = {"topics": [Topic.MARKET, Topic.QUALITY, Topic.SERVICE, Topic.SATISFACTION, Topic.NEEDS]}
        if current:
            initial = {"title": current.title, "starts_at": _local_input(current.starts_at),
                       "ends_at": _local_input(current.ends_at), "place": current.place, "topics": current.topics,
                       "agenda": current.agenda}
        form, status = SymposiumForm(initial=initial), 200
    return render(request, "symposia/form.html", {"form": form, "current": current}, status=status)


def _detail_context(request, symposium) -> dict:
    manages = selectors.manages(request.user, symposium)
    invitations = list(selectors.invitation_list(actor=request.user, symposium=symposium))
    items = list(selectors.item_list(actor=request.user, symposium=symposium))
    counts = {s: sum(1 for i in invitations if i.state == s) for s in InvitationState.values}
    ctx = {"s": symposium, "manages": manages, "invitations": invitations, "items": items, "counts": counts,
           "attended": sum(1 for i in invitations if i.attended), "topic_labels": TOPIC_LABELS,
           "topics": [TOPIC_LABELS.get(t, t) for t in symposium.topics], "started": symposium.starts_at <= timezone.now(),
           "today": timezone.localdate(), "user_id": request.user.pk}
    if manages:
        ctx["choices"] = selectors.segment_choices(actor=request.user)
        ctx["users"] = list(get_user_model().objects.filter(is_active=True).order_by("username")[:200])
    return ctx


@page
@require_http_methods(["GET"])
def symposium_detail(request, symposium_id: int):
    symposium = selectors.symposium_get(actor=request.user, symposium_id=symposium_id)
    return render(request, "symposia/detail.html", _detail_context(request, symposium))


def _act(request, symposium_id: int, write, done: str):
    """Run one action of the detail page; a refused one shows its message on the page (403/404 as pages)."""
    try:
        write()
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
        return redirect("symposia:detail", symposium_id)
    messages.success(request, done)
    return redirect("symposia:detail", symposium_id)


@page
@require_POST
def invite(request, symposium_id: int):
    customers = [int(c) for c in request.POST.getlist("customers") if c.isdigit() and len(c) < 19]
    segment = {k: request.POST.getlist(k) for k in services.SEGMENT_KEYS if request.POST.getlist(k)}
    return _act(request, symposium_id, lambda: services.symposium_invite(
        actor=request.user, symposium_id=symposium_id, customers=customers, segment=segment), _("Invitations added."))


@page
@require_POST
def answer(request, invitation_id: int):
    invitation = selectors.invitation_get(actor=request.user, invitation_id=invitation_id)
    return _act(request, invitation.symposium_id, lambda: services.invitation_answer(
        actor=request.user, invitation_id=invitation_id, state=request.POST.get("state", ""),
        note=request.POST.get("note", "")), _("Answer recorded."))


@page
@require_POST
def attendance(request, symposium_id: int):
    ids = [int(c) for c in request.POST.getlist("attended") if c.isdigit() and len(c) < 19]
    return _act(request, symposium_id, lambda: services.symposium_hold(
        actor=request.user, symposium_id=symposium_id, attended=ids), _("Attendance recorded."))


@page
@require_POST
def minutes(request, symposium_id: int):
    return _act(request, symposium_id, lambda: services.symposium_minutes(
        actor=request.user, symposium_id=symposium_id, minutes=request.POST.get("minutes", "")), _("Minutes saved."))


@page
@require_POST
def close(request, symposium_id: int):
    return _act(request, symposium_id, lambda: services.symposium_close(actor=request.user, symposium_id=symposium_id),
                _("Symposium closed."))


@page
@require_POST
def cancel(request, symposium_id: int):
    return _act(request, symposium_id, lambda: services.symposium_cancel(
        actor=request.user, symposium_id=symposium_id, reason=request.POST.get("reason", "")), _("Symposium cancelled."))


@page
@require_POST
def item_add(request, symposium_id: int):
    data = {"title": request.POST.get("title", ""), "owner": request.POST.get("owner", ""),
            "due_date": request.POST.get("due_date", ""), "customer": request.POST.get("customer") or None}
    return _act(request, symposium_id, lambda: services.item_create(
        actor=request.user, symposium_id=symposium_id, data=data), _("Follow-up item added."))


@page
@require_POST
def item_close(request, item_id: int):
    item = selectors.item_get(actor=request.user, item_id=item_id)
    return _act(request, item.symposium_id, lambda: services.item_close(
        actor=request.user, item_id=item_id, state=request.POST.get("state", ItemState.DONE),
        resolution=request.POST.get("resolution", "")), _("Follow-up item closed."))


@page
@require_http_methods(["GET"])
def invitees_csv(request, symposium_id: int):
    symposium = selectors.symposium_get(actor=request.user, symposium_id=symposium_id)
    states = dict(InvitationState.choices)
    buf = io.StringIO()
    buf.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese correctly only with the BOM
    writer = csv.writer(buf)
    writer.writerow([_("Customer"), _("Contact"), _("Account manager"), _("Answer"), _("Attended"), _("Note")])
    for i in selectors.invitation_list(actor=request.user, symposium=symposium):
        attended = "" if i.attended is None else (_("Yes") if i.attended else _("No"))
        writer.writerow([neutralise(v) for v in (i.customer.name, i.contact.name if i.contact_id else "",
                                                 str(i.customer.owner), states.get(i.state, i.state), attended, i.note)])
    response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="symposium-{symposium.pk}-invitees.csv"'
    return response


@page
@require_http_methods(["GET"])
def invitees_print(request, symposium_id: int):
    symposium = selectors.symposium_get(actor=request.user, symposium_id=symposium_id)
    return render(request, "symposia/print.html", {
        "s": symposium, "invitations": selectors.invitation_list(actor=request.user, symposium=symposium),
        "topics": [TOPIC_LABELS.get(t, t) for t in symposium.topics], "back": reverse("symposia:detail", args=[symposium.pk])})
