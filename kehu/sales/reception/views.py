"""Reception pages: the day's duty roster and rotation (set, copy, mark reps), the phone-friendly entry of a
walk-in or call at the desk, an entry (outcome, refusal and its handling), the register, and the
visitor and call statistics with their chart and XLSX export. Parse → call a service/selector → render;
the same permissions as the API (a DomainError is its status)."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.models import User
from kehu.access.protection import mask_mobile
from kehu.access.roles import Perm
from kehu.errors import DomainError
from kehu.sales.reception import rotation, selectors, services
from kehu.sales.reception.models import EntryKind, Outcome, Refusal, ShiftStatus
from kehu.web import page

PAGE_SIZE = 50


def _day(value, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat((value or "").strip()) if value else default
    except ValueError:
        return default


def _form_errors(exc: DomainError) -> dict:
    if exc.status in (403, 404):
        raise exc
    return {"__all__": [exc.message], **exc.fields}


def _reps_of(user) -> list[User]:
    """The sales reps whose duty this user may plan: active users of the departments in reach."""
    qs = User.objects.filter(is_active=True).select_related("department").order_by("display_name", "username")
    return [u for u in qs[:500] if u.has_kehu_perm(Perm.SALES_WRITE)
            and not u.has_kehu_perm(Perm.SALES_MANAGE) and selectors.department_in_reach(user, u.department_id)][:200]


@page
@require_http_methods(["GET", "POST"])
def rotation_page(request):
    selectors.require_read(request.user)
    today = timezone.localdate()
    day = _day(request.GET.get("day") or request.POST.get("day"), today)
    errors: dict = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "set":
                order = sorted(((request.POST.get(f"pos_{pk}") or "").strip(), pk)
                               for pk in request.POST.getlist("rep"))
                reps = [pk for _, pk in sorted(order, key=lambda t: (int(t[0]) if t[0].isdigit() else 999, t[1]))]
                services.roster_set(actor=request.user, day=day, reps=reps, note=request.POST.get("note", ""))
                messages.success(request, _("Duty roster saved."))
            elif action == "copy":
                services.roster_copy(actor=request.user, from_day=request.POST.get("from_day"), to_day=day)
                messages.success(request, _("Duty roster copied."))
            elif action == "status":
                services.shift_status_set(actor=request.user, day=day, rep=request.POST.get("rep"),
                                          status=request.POST.get("status"))
                messages.success(request, _("Status changed."))
            return redirect(f"{request.path}?day={day.isoformat()}")
        except DomainError as exc:
            errors = _form_errors(exc)
    duty = selectors.roster_get(actor=request.user, day=day)
    shifts, next_reps, makeups = [], [], {}
    if duty is not None:
        shifts = sorted(duty.shifts.all(), key=lambda s: s.position)
        queue = services._load_queue(duty, shifts)
        next_ids = rotation.peek(queue, 3)
        names = {s.rep_id: str(s.rep) for s in shifts}
        next_reps = [names.get(r, "") for r in next_ids]
        makeups = {s.rep_id: queue.makeups.count(s.rep_id) for s in shifts}
        for s in shifts:
            s.makeups_owed = makeups[s.rep_id]
            s.line = rotation.position_of(queue, s.rep_id)
    can_manage = selectors.can_manage(request.user)
    reps = _reps_of(request.user) if can_manage else []
    on = {s.rep_id: s.position for s in shifts}
    for r in reps:
        r.duty_position = on.get(r.pk)
    return render(request, "reception/rotation.html", {
        "day": day, "prev_day": day - dt.timedelta(days=1), "next_day": day + dt.timedelta(days=1), "duty": duty,
        "shifts": shifts, "next_reps": next_reps, "reps": reps, "can_manage": can_manage,
        "can_write": selectors.can_write(request.user), "statuses": ShiftStatus.choices, "errors": errors,
        "mine": selectors.my_duty(actor=request.user, day=today), "nav_active": "rotation"},
        status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def entry_new(request):
    """The desk's phone page: who came or called, from which source, what they want; a walk-in is
    assigned to the next rep in rotation on saving."""
    selectors.require_read(request.user)
    if not selectors.can_write(request.user):
        services._require_write(request.user)
    errors: dict = {}
    data = {}
    if request.method == "POST":
        data = {"kind": request.POST.get("kind") or EntryKind.WALK_IN, "source": request.POST.get("source"),
                "customer": request.POST.get("customer") or None,
                "visitor_name": request.POST.get("visitor_name", ""),
                "visitor_phone": request.POST.get("visitor_phone", ""),
                "party_size": request.POST.get("party_size") or 1, "intention": request.POST.get("intention", ""),
                "designated_rep": request.POST.get("designated_rep") or None,
                "arranged_by_company": request.POST.get("arranged_by_company") == "on",
                "spouse_of": request.POST.get("spouse_of") or None,
                "note": request.POST.get("note", "")}
        try:
            entry = services.entry_create(actor=request.user, data=data)
            messages.success(request, _("Registered: %(rep)s receives %(name)s.") % {
                "rep": entry.rep, "name": entry.visitor_name})
            return redirect("reception:assigned", entry.pk)
        except DomainError as exc:
            errors = _form_errors(exc)
    return render(request, "reception/entry_new.html", {
        "sources": selectors.source_list(actor=request.user), "kinds": EntryKind.choices, "data": data,
        "reps": _reps_of(request.user), "errors": errors, "nav_active": "new"}, status=400 if errors else 200)


@page
def entry_assigned(request, entry_id: int):
    """What the desk sees right after saving: who receives the visitor. Shown to whoever registered the
    entry (the desk) even when the receiving rep's entry is outside their scope."""
    selectors.require_read(request.user)
    from kehu.sales.reception.models import RegisterEntry

    entry = (RegisterEntry.objects.select_related("rep", "source").filter(pk=entry_id, created_by=request.user)
             .first())
    if entry is None:
        entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
    return render(request, "reception/entry_assigned.html", {"entry": entry, "nav_active": "new"})


@page
@require_http_methods(["GET", "POST"])
def entry_detail(request, entry_id: int):
    entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
    errors: dict = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "outcome":
                services.entry_outcome_set(actor=request.user, entry_id=entry.pk, outcome=request.POST.get("outcome"),
                                           note=request.POST.get("note"))
            elif action == "refuse":
                services.entry_refuse(actor=request.user, entry_id=entry.pk, reason=request.POST.get("reason", ""))
            elif action == "resolve":
                services.refusal_resolve(actor=request.user, entry_id=entry.pk, decision=request.POST.get("decision"),
                                         designated_rep=request.POST.get("designated_rep") or None)
            elif action == "register":
                done = services.entry_register(actor=request.user, entry_id=entry.pk,
                                               kind=request.POST.get("customer_kind") or "person",
                                               name=request.POST.get("customer_name", ""),
                                               phone_consent=request.POST.get("phone_consent") == "on")
                messages.success(request, _("Registered: %(customer)s is now your customer.")
                                 % {"customer": done.customer.name})
                return redirect("reception:entry", entry.pk)
            messages.success(request, _("Saved."))
            try:
                selectors.entry_get(actor=request.user, entry_id=entry.pk)
            except DomainError:
                return redirect("reception:register")
            return redirect("reception:entry", entry.pk)
        except DomainError as exc:
            errors = _form_errors(exc)
            entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
    return render(request, "reception/entry_detail.html", {
        "entry": entry, "phone": mask_mobile(entry.visitor_phone) if entry.visitor_phone else "",
        "outcomes": [c for c in Outcome.choices if c[0] != Outcome.OPEN], "errors": errors,
        "can_manage": selectors.can_manage(request.user), "is_rep": entry.rep_id == request.user.pk,
        "pending": entry.refusal == Refusal.PENDING, "can_register": (
            entry.rep_id == request.user.pk and entry.refusal != Refusal.PENDING
            and not (entry.outcome == Outcome.REGISTERED and entry.customer_id)),
        "reps": _reps_of(request.user)
        if selectors.can_manage(request.user) else [], "nav_active": "register"}, status=400 if errors else 200)


@page
def register(request):
    today = timezone.localdate()
    date_from = _day(request.GET.get("date_from"), today - dt.timedelta(days=6))
    date_to = _day(request.GET.get("date_to"), today)
    kind = request.GET.get("kind") or None
    page_ = selectors.entry_list(actor=request.user, date_from=date_from, date_to=date_to,
                                 kind=kind if kind in EntryKind.values else None,
                                 refusal=Refusal.PENDING if request.GET.get("refusal") == "pending" else None,
                                 limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "reception/register.html", {
        "entries": page_.items, "next": page_.next, "date_from": date_from, "date_to": date_to, "kind": kind,
        "kinds": EntryKind.choices, "nav_active": "register"})


def _stats(request):
    period = request.GET.get("period") or "month"
    if period not in selectors.PERIODS:
        period = "month"
    on = _day(request.GET.get("on"), timezone.localdate())
    return selectors.statistics(actor=request.user, period=period, on=on), period, on


@page
def statistics(request):
    stats, period, on = _stats(request)
    chart = {"labels": [d["day"].strftime("%m-%d") for d in stats["days"]],
             "walk_ins": [d["walk_ins"] for d in stats["days"]], "calls": [d["calls"] for d in stats["days"]]}
    return render(request, "reception/statistics.html", {
        "stats": stats, "period": period, "on": on, "chart": chart, "periods": [
            ("day", _("Daily")), ("week", _("Weekly")), ("month", _("Monthly"))], "nav_active": "stats"})


@page
def statistics_export(request):
    """The same statistics as an XLSX workbook (来人来电统计表): totals per day, by source, by rep."""
    from openpyxl import Workbook

    stats, period, on = _stats(request)
    wb = Workbook()
    ws = wb.active
    ws.title = _("By day")[:31]
    ws.append([_("Day"), _("Walk-ins"), _("Calls"), _("Rotation turns")])
    for d in stats["days"]:
        ws.append([d["day"].isoformat(), d["walk_ins"], d["calls"], d["turns"]])
    t = stats["totals"]
    ws.append([_("Total"), t["walk_ins"], t["calls"], t["turns"]])
    for title, rows in ((_("By source"), stats["by_source"]), (_("By rep"), stats["by_rep"])):
        sheet = wb.create_sheet(title[:31])
        sheet.append([_("Name"), _("Walk-ins"), _("Calls"), _("Rotation turns"), _("Customers"), _("Deals"),
                      _("Conversion (%)")])
        for r in rows:
            sheet.append([r["name"], r["walk_ins"], r["calls"], r["turns"], r["customers"], r["deals"],
                          r["conversion"]])
    buf = BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"reception-{period}-{stats['start'].isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@page
@require_POST
def back_at_desk(request):
    """A rep marks themselves back at the desk (their make-ups then come first)."""
    try:
        services.shift_status_set(actor=request.user, day=timezone.localdate(), rep=request.user.pk,
                                  status=ShiftStatus.PRESENT)
        messages.success(request, _("Status changed."))
    except DomainError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    return redirect("reception:rotation")
