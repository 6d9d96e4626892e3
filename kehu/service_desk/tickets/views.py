"""HTML views of service requests, emergencies and the on-duty roster: parse → call a
selector/service → render. Scope, the procedure and the audit live in the services and selectors."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.models import Department
from kehu.access.roles import Perm, Scope
from kehu.errors import DomainError, Forbidden, Invalid
from kehu.service_desk import sla
from kehu.service_desk.service_levels import with_priorities
from kehu.service_desk.ticketing import history_for_display
from kehu.service_desk.tickets import selectors, services, workflow
from kehu.service_desk.tickets.forms import (
    STEP_FORMS,
    AssignForm,
    DutyForm,
    StepForm,
    TicketFilterForm,
    TicketForm,
)
from kehu.service_desk.tickets.models import STATE_LABELS, Kind, ServiceTicket
from kehu.web import form_errors_from, form_submit, page, render_page

PAGE_SIZE = 50
# Time left before the deadline below which a card turns red / orange (emergencies: always at least orange).
RED_WITHIN = dt.timedelta(hours=2)
ORANGE_WITHIN = dt.timedelta(hours=24)
EMERGENCY_RED_WITHIN = dt.timedelta(minutes=30)

EVENT_LABELS = {
    "record": gettext_lazy("Received"),
    "accept": gettext_lazy("Accepted"),
    "start": gettext_lazy("Work started"),
    "resolve": gettext_lazy("Resolved"),
    "reopen": gettext_lazy("Reopened"),
    "inform": gettext_lazy("Customer told the result"),
    "close": gettext_lazy("Closed"),
    "cancel": gettext_lazy("Cancelled"),
    "assign": gettext_lazy("Assigned"),
    "alerted_on_duty": gettext_lazy("Emergency: people on duty notified"),
    "alerted_managers": gettext_lazy("Emergency: nobody on duty, managers notified"),
    "escalated_1": gettext_lazy("Overdue: escalated to the managers"),
    "escalated_2": gettext_lazy("Still overdue: escalated one level higher"),
    "sla_set": gettext_lazy("Deadline set"),
}


def _require(request, perm: str = Perm.COMPLAINT_HANDLE) -> None:
    if not request.user.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


def deadline(t: ServiceTicket) -> dt.datetime:
    """The deadline that matters now: an unanswered emergency's first response, else the resolution."""
    if t.response_due_at and t.responded_at is None:
        return min(t.response_due_at, t.due_at)
    return t.due_at


def due_tone(t: ServiceTicket, now: dt.datetime) -> str:
    """red: breached or little time left; orange: under 24 h (an emergency: always); green otherwise;
    grey once the customer was told the result, closed or cancelled (the clock has stopped)."""
    if not sla.ticket_on_clock(t):
        return "secondary"
    left = deadline(t) - now
    if t.breached_at is not None or left < (EMERGENCY_RED_WITHIN if t.is_emergency else RED_WITHIN):
        return "red"
    if t.is_emergency or left < ORANGE_WITHIN:
        return "orange"
    return "green"


def _with_due(tickets, now: dt.datetime) -> list[ServiceTicket]:
    """Each request with its colour, deadline and a "time left" phrase, as of ``now``."""
    for t in tickets:
        t.deadline = deadline(t)
        t.due_tone = due_tone(t, now)
        t.is_first_response = t.deadline != t.due_at
        # what the shared deadline badge (service_desk/_due.html) shows
        t.shown_due = t.deadline
        t.due_title = _("First response due") if t.is_first_response else _("Due")
        t.due_prefix = _("Response") if t.is_first_response else ""
        if not sla.ticket_on_clock(t):
            t.due_text = ""
        elif t.deadline <= now:
            t.due_text = _("overdue by %(t)s") % {"t": timesince(t.deadline, now, depth=1)}
        else:
            t.due_text = _("%(t)s left") % {"t": timeuntil(t.deadline, now, depth=1)}
    return list(tickets)


# ---------------------------------------------------------------- board and list

@page
@require_http_methods(["GET"])
def ticket_board(request):
    """Active requests in a column per state, emergencies first, then soonest due."""
    _require(request)
    kind = request.GET.get("kind") or None
    if kind not in (None, *Kind.values):
        kind = None
    now = timezone.now()
    board = selectors.ticket_board(actor=request.user, kind=kind)
    with_priorities([t for items in board.values() for t in items])  # one query for every card
    columns = [{"state": state, "label": STATE_LABELS[state], "items": _with_due(items, now)}
               for state, items in board.items()]
    return render(request, "tickets/board.html", {
        "columns": columns, "total": sum(len(c["items"]) for c in columns), "view": "board", "kind": kind,
        "kinds": Kind.choices,
        "emergencies": sum(1 for c in columns for t in c["items"] if t.is_emergency),
    })


@page
@require_http_methods(["GET"])
def ticket_list(request):
    """Every request in scope (closed too), filtered, most recently received first, cursor-paged."""
    _require(request)
    form = TicketFilterForm(request.GET or None)
    form.is_valid()
    result = selectors.ticket_list(actor=request.user, limit=PAGE_SIZE, **form.selector_args())
    filters = form.filters()
    context = {
        "form": form, "tickets": _with_due(with_priorities(result.items), timezone.now()), "filtered": bool(filters), "view": "list",
        "next_url": f"?{urlencode({**filters, 'cursor': result.next})}" if result.next else None,
        "first_url": f"?{urlencode(filters)}" if form.selector_args()["cursor"] else None,
    }
    return render_page(request, "tickets/list.html", "tickets/_ticket_rows.html", context)


# ---------------------------------------------------------------- record

def _customer(request, customer_id):
    """The customer a request is recorded for, in the actor's scope (None when not chosen or not visible)."""
    if not str(customer_id or "").isdigit():
        return None
    from kehu.customers.selectors import customer_base

    return customer_base(actor=request.user).filter(pk=int(customer_id)).first()


@page
@require_http_methods(["GET"])
def customer_search(request):
    """Up to ten customers in scope matching the text (name, pinyin, phone…), as choices for the form."""
    _require(request)
    from kehu.customers.selectors import customer_list

    q = (request.GET.get("customer_q") or "").strip()[:100]
    items = customer_list(actor=request.user, q=q, limit=10).items if q else []
    return render(request, "tickets/_customer_choices.html", {"customers": items, "q": q})


@page
@require_http_methods(["GET", "POST"])
def ticket_create(request):
    _require(request)
    initial = {}
    if request.method == "GET":
        if (request.GET.get("customer") or "").isdigit():
            initial["customer"] = int(request.GET["customer"])
        if request.GET.get("kind") in Kind.values:
            initial["kind"] = request.GET["kind"]
    form = TicketForm(request.POST or None, initial=initial)
    customer = _customer(request, form.data.get("customer") if form.is_bound else initial.get("customer"))
    status = 200
    if request.method == "POST":
        ok, t, status = form_submit(form, lambda: services.ticket_record(actor=request.user, data=form.service_data()))
        if ok:
            if t.is_emergency:
                messages.warning(request, _("Emergency %(n)s recorded; the people on duty have been notified.")
                                 % {"n": t.number})
            else:
                messages.success(request, _("Service request %(n)s recorded; you are its accountable person.")
                                 % {"n": t.number})
            return redirect("tickets:detail", ticket_id=t.pk)
    return render(request, "tickets/ticket_form.html", {"form": form, "customer": customer}, status=status)


# ---------------------------------------------------------------- detail and the steps

def _detail_context(request, ticket_id: int, *, step_form: StepForm | None = None, alert: str = "",
                    assign_form: AssignForm | None = None) -> dict:
    t = selectors.ticket_get(actor=request.user, ticket_id=ticket_id)
    forms = []
    for action in workflow.allowed_actions(t.state):
        if step_form is not None and step_form.action_name == action:
            forms.append(step_form)
        else:
            forms.append(STEP_FORMS[action](ticket=t))
    events = history_for_display(selectors.ticket_events(actor=request.user, ticket_id=t.pk),
                                 labels=EVENT_LABELS, state_labels=STATE_LABELS)
    _with_due([t], timezone.now())
    # The forward step first; cancelling (and reopening) come second.
    main = [f for f in forms if f.action_name not in ("cancel", "reopen")]
    # Resolved: telling the customer the result comes first (it stops the SLA clock), then closing.
    first = "inform" if t.customer_informed_at is None else "close"
    main.sort(key=lambda f: f.action_name != first)
    # 谁受理、谁跟进、谁回复: the accountable person, the assignee, a manager above them (an emergency:
    # also whoever is on duty).
    can_act = selectors.ticket_may_act(request.user, t)
    return {
        "ticket": t, "events": events, "alert": alert, "can_act": can_act,
        "next_form": main[0] if main and can_act else None,
        "other_forms": main[1:] + [f for f in forms if f.action_name in ("cancel", "reopen")] if can_act else [],
        "assign_form": (assign_form or AssignForm(handlers=selectors.ticket_handler_list(actor=request.user),
                                                  ticket=t)) if not t.is_final and can_act else None,
        "must_inform": t.is_emergency and t.state == workflow.RESOLVED and t.customer_informed_at is None,
    }


@page
@require_http_methods(["GET"])
def ticket_detail(request, ticket_id: int):
    _require(request)
    return render(request, "tickets/detail.html", _detail_context(request, ticket_id))


@page
@require_POST
def ticket_act(request, ticket_id: int):
    """Take a step. An illegal step or one on a version someone else changed meanwhile is a 409 shown
    above the fresh page; a step missing what it needs comes back with its errors."""
    _require(request)
    t = selectors.ticket_get(actor=request.user, ticket_id=ticket_id)
    action = request.POST.get("action", "")
    if action not in STEP_FORMS:
        raise Invalid(_("Unknown action."))
    form = STEP_FORMS[action](request.POST, ticket=t)
    status, alert = 400, ""
    if form.is_valid():
        try:
            t = services.ticket_act(actor=request.user, ticket_id=t.pk, action=action, data=form.service_data(),
                                    expected_version=form.cleaned_data["expected_version"])
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            status = exc.status
            if exc.status == 409:
                alert, form = exc.message, None
            else:
                form_errors_from(form, exc)
        else:
            messages.success(request, _("Done: %(step)s.") % {"step": EVENT_LABELS[action]})
            return redirect("tickets:detail", ticket_id=t.pk)
    return render(request, "tickets/detail.html", _detail_context(request, t.pk, step_form=form, alert=alert),
                  status=status)


@page
@require_POST
def ticket_assign(request, ticket_id: int):
    _require(request)
    t = selectors.ticket_get(actor=request.user, ticket_id=ticket_id)
    form = AssignForm(request.POST, handlers=selectors.ticket_handler_list(actor=request.user), ticket=t)
    status, alert = 400, ""
    if form.is_valid():
        try:
            services.ticket_assign(actor=request.user, ticket_id=t.pk, user_id=form.cleaned_data["user"].pk,
                                   expected_version=form.cleaned_data["expected_version"])
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            status = exc.status
            if exc.status == 409:
                alert, form = exc.message, None
            else:
                form_errors_from(form, exc)
        else:
            messages.success(request, _("Assigned to %(who)s.") % {"who": form.cleaned_data["user"]})
            return redirect("tickets:detail", ticket_id=t.pk)
    return render(request, "tickets/detail.html", _detail_context(request, t.pk, assign_form=form, alert=alert),
                  status=status)


# ---------------------------------------------------------------- on-duty roster

def _duty_departments(user):
    qs = Department.objects.order_by("path")
    if user.role_spec.scope == Scope.ALL:
        return qs
    return qs.filter(pk__in=user.department_subtree_ids())


@page
@require_http_methods(["GET", "POST"])
def duty_roster(request):
    """The on-duty roster (值班表): who is on duty now and every shift not yet over; managers add and remove."""
    _require(request)
    can_manage = request.user.has_kehu_perm(Perm.COMPLAINT_REASSIGN)
    form = None
    status = 200
    if can_manage:
        today = timezone.localdate()
        form = DutyForm(request.POST or None, handlers=selectors.ticket_handler_list(actor=request.user),
                        departments=_duty_departments(request.user),
                        initial={"start_date": today, "end_date": today + dt.timedelta(days=6),
                                 "start_time": dt.time(18, 0), "end_time": dt.time(8, 30)})
    if request.method == "POST":
        _require(request, Perm.COMPLAINT_REASSIGN)
        ok, __, status = form_submit(form, lambda: services.duty_create(actor=request.user, data=form.service_data()))
        if ok:
            messages.success(request, _("%(who)s is on the roster.") % {"who": form.cleaned_data["user"]})
            return redirect("tickets:duty")
    shifts = selectors.duty_list(actor=request.user, current_only=True, limit=200).items
    from kehu.service_desk.tickets.duty import covers, weekdays_list
    from kehu.workdays.selectors import sla_rule

    now_local = timezone.now().astimezone(sla_rule().tz)
    day_names = dict(DutyForm.base_fields["weekdays"].choices)
    for s in shifts:
        s.on_now = covers(start_date=s.start_date, end_date=s.end_date, weekdays=s.weekdays,
                          start_time=s.start_time, end_time=s.end_time, at_local=now_local)
        days = weekdays_list(s.weekdays)
        s.days_label = _("Every day") if len(days) == 7 else " ".join(str(day_names[d]) for d in days)
    return render(request, "tickets/duty.html", {"shifts": shifts, "form": form, "can_manage": can_manage,
                                                 "on_now": [s for s in shifts if s.on_now], "view": "duty"},
                  status=status)


@page
@require_POST
def duty_delete(request, shift_id: int):
    _require(request, Perm.COMPLAINT_REASSIGN)
    services.duty_delete(actor=request.user, shift_id=shift_id)
    messages.success(request, _("The shift was removed from the roster."))
    return redirect("tickets:duty")
