"""HTML views of the complaint process: parse → call a selector/service → render. The procedure, its
scope and its audit all live in the services and selectors; the public form and tracking page need
no account."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.client_ip import client_ip
from kehu.access.roles import Perm
from kehu.errors import DomainError, Forbidden, Invalid
from kehu.service_desk import reports, selectors, services, sla, workflow
from kehu.service_desk.forms import (
    STEP_FORMS,
    AssignForm,
    ComplaintFilterForm,
    ComplaintForm,
    ExtensionForm,
    PublicComplaintForm,
    ReassignForm,
    ReportFilterForm,
    StepForm,
    TrackForm,
)
from kehu.service_desk.models import STATE_LABELS, Complaint
from kehu.service_desk.service_levels import with_priorities
from kehu.service_desk.ticketing import history_for_display, may_act
from kehu.web import form_errors_from, page, render_page

PAGE_SIZE = 50
# Cards per board column: the soonest due; the rest are one click away in the list filtered by state
# (a column of 50 cards is not read, and rendering 450 of them dominated the page's time at scale).
BOARD_CARDS = 20
MATCH_REASONS = {
    "uscc": gettext_lazy("Same USCC"),
    "mobile": gettext_lazy("Complainant's mobile"),
    "name": gettext_lazy("Similar organisation name"),
    "search": gettext_lazy("Search result"),
}
# Time left before the deadline below which a card turns red / orange.
RED_WITHIN = dt.timedelta(hours=2)
ORANGE_WITHIN = dt.timedelta(hours=24)

EVENT_LABELS = {
    "record": gettext_lazy("Received"),
    "judge": gettext_lazy("Nature judged"),
    "investigate": gettext_lazy("Cause investigated"),
    "assign": gettext_lazy("Responsible person assigned"),
    "propose": gettext_lazy("Solution proposed"),
    "solution_approved": gettext_lazy("Solution approved"),
    "solution_rejected": gettext_lazy("Solution rejected"),
    "solution_returned": gettext_lazy("Solution returned for changes"),
    "solution_cancelled": gettext_lazy("Solution approval withdrawn"),
    "answer": gettext_lazy("Customer answered"),
    "return_visit": gettext_lazy("Return visit"),
    "evaluate": gettext_lazy("Summarised and evaluated"),
    "close": gettext_lazy("Closed"),
    "reassign": gettext_lazy("Accountable person changed"),
    "extension_requested": gettext_lazy("Extension requested"),
    "extension_approved": gettext_lazy("Extension approved"),
    "extension_rejected": gettext_lazy("Extension rejected"),
    "extension_returned": gettext_lazy("Extension returned"),
    "extension_cancelled": gettext_lazy("Extension withdrawn"),
    "escalated_1": gettext_lazy("Overdue: escalated to the managers"),
    "escalated_2": gettext_lazy("Still overdue: escalated one level higher"),
    "followup_overdue": gettext_lazy("Return visit and summary overdue: accountable person reminded"),
    "breach_corrected": gettext_lazy("Overdue flag removed: the customer was answered in time"),
    "customer_linked": gettext_lazy("Linked to a customer"),
    "sla_set": gettext_lazy("Deadline set"),
}


def _require(request, perm: str = Perm.COMPLAINT_HANDLE) -> None:
    if not request.user.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


def due_tone(c: Complaint, now: dt.datetime) -> str:
    """red: breached or under 2 h left; orange: under 24 h; green otherwise (closed: grey). Once the
    customer has been answered the SLA clock has stopped: the colour follows the follow-up deadline
    (return visit and summary), and a missed follow-up is orange, never an SLA red."""
    if c.state == workflow.CLOSED:
        return "secondary"
    if not sla.complaint_on_clock(c):
        due = c.followup_due_at
        if due is None:
            return "green"
        return "orange" if due - now < ORANGE_WITHIN else "green"
    left = c.due_at - now
    if c.breached_at is not None or left < RED_WITHIN:
        return "red"
    if left < ORANGE_WITHIN:
        return "orange"
    return "green"


def _with_due(complaints, now: dt.datetime) -> list[Complaint]:
    """Each complaint with its colour, the deadline shown and a "time left" phrase, as of ``now``:
    the SLA deadline while the clock runs, the follow-up deadline once the customer was answered."""
    for c in complaints:
        c.due_tone = due_tone(c, now)
        c.shown_due = c.due_at
        c.due_title = _("Due")
        if c.state == workflow.CLOSED:
            c.due_text = ""
        elif not sla.complaint_on_clock(c):
            c.shown_due = c.followup_due_at or c.due_at
            c.due_title = _("Return visit and summary due")
            if c.followup_due_at is None:
                c.due_text = _("answered")
            elif c.followup_due_at <= now:
                c.due_text = _("follow-up overdue by %(t)s") % {"t": timesince(c.followup_due_at, now, depth=1)}
            else:
                c.due_text = _("follow-up %(t)s left") % {"t": timeuntil(c.followup_due_at, now, depth=1)}
        elif c.due_at <= now:
            c.due_text = _("overdue by %(t)s") % {"t": timesince(c.due_at, now, depth=1)}
        else:
            c.due_text = _("%(t)s left") % {"t": timeuntil(c.due_at, now, depth=1)}
    return list(complaints)


# ---------------------------------------------------------------- board and list

@page
@require_http_methods(["GET"])
def complaint_board(request):
    """Open complaints in a column per state, soonest due first."""
    _require(request)
    now = timezone.now()
    board = selectors.complaint_board(actor=request.user, limit_per_state=BOARD_CARDS + 1)
    list_url = reverse("service_desk:list")
    # The customers' response priorities for every card on the board: one query, not one per card.
    with_priorities([c for items in board.values() for c in items[:BOARD_CARDS]])
    columns = [{"state": state, "label": STATE_LABELS[state], "items": _with_due(items[:BOARD_CARDS], now),
                "more": len(items) > BOARD_CARDS, "more_url": f"{list_url}?{urlencode({'state': state})}"}
               for state, items in board.items()]
    return render(request, "service_desk/board.html",
                  {"columns": columns, "total": sum(len(c["items"]) for c in columns), "view": "board",
                   "truncated": any(c["more"] for c in columns), "cards_per_column": BOARD_CARDS,
                   "public_form_url": public_form_url(request)})


def public_form_url(request) -> str:
    """The public complaint form's address, to put on the website and on letters (the configured site
    address when there is one, else the address this page was reached at)."""
    path = reverse("service_desk:public")
    if settings.KEHU_SITE_URL:
        return settings.KEHU_SITE_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


@page
@require_http_methods(["GET"])
def complaint_list(request):
    """Every complaint in scope (closed too), filtered, soonest due first, cursor-paged."""
    _require(request)
    form = ComplaintFilterForm(request.GET or None)
    form.is_valid()
    result = selectors.complaint_list(actor=request.user, limit=PAGE_SIZE, **form.selector_args())
    filters = form.filters()
    context = {
        "form": form,
        "complaints": _with_due(with_priorities(result.items), timezone.now()),
        "filtered": bool(filters),
        "view": "list",
        "next_url": f"?{urlencode({**filters, 'cursor': result.next})}" if result.next else None,
        "first_url": f"?{urlencode(filters)}" if form.selector_args()["cursor"] else None,
    }
    return render_page(request, "service_desk/list.html", "service_desk/_complaint_rows.html", context)


# ---------------------------------------------------------------- reports

@page
@require_http_methods(["GET"])
def complaint_reports(request):
    """SLA compliance (grouped as chosen), the Pareto of categories, repeat complainers and handling
    time, for complaints received in the chosen range and in the actor's scope."""
    _require(request, Perm.COMPLAINT_REPORT)
    form = ReportFilterForm(request.GET or None)
    form.is_valid()
    args = form.report_args()
    date_from, date_to = reports.report_range(args["date_from"], args["date_to"])  # a reversed range: 400 page
    span = {"actor": request.user, "date_from": date_from, "date_to": date_to}
    sla = reports.complaint_report_sla(group_by=args["group_by"], **span)
    trend = reports.complaint_report_categories(by=args["trend_by"], **span)
    if not form.is_bound:
        form = ReportFilterForm(initial={"date_from": date_from, "date_to": date_to, "group_by": args["group_by"],
                                         "trend_by": args["trend_by"]})
    return render(request, "service_desk/reports.html", {
        "form": form, "view": "reports", "sla": sla,
        "group_label": dict(form.fields["group_by"].choices)[args["group_by"]],
        "causes": reports.complaint_report_causes(**span),
        "trend": trend,
        "trend_chart": trend_chart(trend),
        "repeat": reports.complaint_report_repeat(**span),
        "handling": reports.complaint_report_handling_time(**span),
        # The charts read the same scoped report API as the tables (same range and grouping).
        "chart_query": urlencode({"from": date_from.isoformat(), "to": date_to.isoformat(),
                                  "group_by": args["group_by"]}),
    })


# One Tabler colour per series, most frequent first; "other" is grey.
SERIES_COLOURS = ("blue", "orange", "green", "purple", "red", "cyan", "yellow", "pink")


def trend_chart(trend: dict) -> dict:
    """The categories-over-time report as a stacked bar chart drawn with plain HTML/CSS: a column per
    month whose segments' heights are shares of the busiest month (no chart library is vendored)."""
    peak = max(trend["totals"], default=0)
    series = [{**s, "colour": "secondary" if s["other"] else SERIES_COLOURS[i % len(SERIES_COLOURS)]}
              for i, s in enumerate(trend["series"])]
    columns = []
    crowded = len(trend["months"]) > 24  # beyond two years only Januaries are labelled
    for i, month in enumerate(trend["months"]):
        year, mm = month.split("-")
        first = i == 0 or mm == "01"
        segments = [{"label": s["label"], "count": s["counts"][i], "colour": s["colour"],
                     "height": f"{100.0 * s['counts'][i] / peak:.1f}"} for s in series if s["counts"][i]]
        columns.append({"month": month, "total": trend["totals"][i], "segments": segments,
                        "cells": [s["counts"][i] for s in series],
                        "short": "" if crowded and not first else str(int(mm)), "year": year if first else ""})
    return {"series": series, "columns": columns, "peak": peak}


# ---------------------------------------------------------------- record

@page
@require_http_methods(["GET", "POST"])
def complaint_create(request):
    _require(request)
    initial = {}
    if request.method == "GET" and (request.GET.get("customer") or "").isdigit():
        initial["customer"] = int(request.GET["customer"])
    form = ComplaintForm(request.POST or None, initial=initial)
    customer_id = (form.data.get("customer") if form.is_bound else initial.get("customer")) or None
    customer = _customer(request, customer_id)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                c = services.complaint_record(actor=request.user, data=form.service_data())
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                status = exc.status
                form_errors_from(form, exc)
            else:
                messages.success(request, _("Complaint %(n)s recorded; you are its accountable person (首问责任人).")
                                 % {"n": c.tracking_no})
                return redirect("service_desk:detail", complaint_id=c.pk)
    return render(request, "service_desk/complaint_form.html", {"form": form, "customer": customer}, status=status)


def _customer(request, customer_id):
    """The customer a complaint is recorded for, in the actor's scope (404 otherwise)."""
    if not str(customer_id or "").isdigit():
        return None
    from kehu.customers.selectors import customer_get

    return customer_get(actor=request.user, customer_id=int(customer_id))


# ---------------------------------------------------------------- detail and the steps

@page
@require_http_methods(["GET"])
def complaint_detail(request, complaint_id: int):
    _require(request)
    return render(request, "service_desk/detail.html", _detail_context(request, complaint_id))


def _step_form(action: str, complaint: Complaint, handlers, data=None) -> StepForm:
    form_class = STEP_FORMS[action]
    if form_class is AssignForm:
        return form_class(data, complaint=complaint, handlers=handlers)
    return form_class(data, complaint=complaint)


def _detail_context(request, complaint_id: int, *, step_form: StepForm | None = None, alert: str = "",
                    reassign_form: ReassignForm | None = None, extension_form: ExtensionForm | None = None) -> dict:
    complaint = selectors.complaint_get(actor=request.user, complaint_id=complaint_id)
    handlers = selectors.complaint_handler_list(actor=request.user)
    step_forms = []
    for action in workflow.allowed_actions(complaint.state):
        if step_form is not None and step_form.action_name == action:
            step_forms.append(step_form)
        else:
            step_forms.append(_step_form(action, complaint, handlers))
    events = history_for_display(selectors.complaint_events(actor=request.user, complaint_id=complaint.pk),
                                 labels=EVENT_LABELS, state_labels=STATE_LABELS)
    _with_due([complaint], timezone.now())
    is_open = complaint.state != workflow.CLOSED
    can_reassign = request.user.has_kehu_perm(Perm.COMPLAINT_REASSIGN)
    can_act = may_act(request.user, accountable_id=complaint.accountable_id, department_id=complaint.department_id)
    customer_q = (request.GET.get("customer_q") or "").strip()[:100]
    candidates = (selectors.complaint_customer_candidates(actor=request.user, complaint_id=complaint.pk,
                                                          query=customer_q)
                  if can_act and (customer_q or complaint.customer_id is None) else [])
    for m in candidates:
        m["reason_label"] = MATCH_REASONS.get(m["reason"], m["reason"])
    from kehu.approvals.selectors import meetings_for

    return {
        "complaint": complaint,
        "events": events,
        # 经理办公会: the meetings that decided (or returned) this complaint's solution, as recorded.
        "meetings": list(meetings_for(actor=request.user, target=complaint)),
        "candidates": candidates,
        "customer_q": customer_q,
        # The step that moves the complaint on; the others (re-assigning while assigned) come second.
        # 谁受理、谁跟进、谁回复: only the accountable person or a manager above them sees the steps.
        "can_act": can_act,
        "next_form": step_forms[-1] if step_forms and can_act else None,
        "other_forms": step_forms[:-1] if can_act else [],
        "awaiting_approval": complaint.state == workflow.SOLUTION_PROPOSED,
        "alert": alert,
        "is_open": is_open,
        "reassign_form": (reassign_form or ReassignForm(handlers=handlers)) if can_reassign and is_open else None,
        "extension_form": (extension_form or ExtensionForm(complaint=complaint))
        if is_open and can_act and complaint.sla_days < settings.KEHU_COMPLAINT_SLA_MAX_DAYS else None,
    }


@page
@require_POST
def complaint_act(request, complaint_id: int):
    """Take the next step. An illegal step or one on a version someone else changed meanwhile is a
    409 shown above the fresh page; a step missing what it needs comes back with its errors."""
    _require(request)
    complaint = selectors.complaint_get(actor=request.user, complaint_id=complaint_id)
    action = request.POST.get("action", "")
    if action not in STEP_FORMS:
        raise Invalid(_("Unknown action."))
    form = _step_form(action, complaint, selectors.complaint_handler_list(actor=request.user), data=request.POST)
    status, alert = 400, ""
    if form.is_valid():
        try:
            c = services.complaint_act(actor=request.user, complaint_id=complaint.pk, action=action,
                                       data=form.service_data(),
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
            if c.state == workflow.SOLUTION_PROPOSED:
                messages.success(request, _("Solution submitted; it now awaits approval."))
            else:
                messages.success(request, _("Done: %(step)s.") % {"step": EVENT_LABELS[action]})
            return redirect("service_desk:detail", complaint_id=c.pk)
    context = _detail_context(request, complaint.pk, step_form=form, alert=alert)
    return render(request, "service_desk/detail.html", context, status=status)


@page
@require_POST
def complaint_reassign(request, complaint_id: int):
    _require(request)
    complaint = selectors.complaint_get(actor=request.user, complaint_id=complaint_id)
    form = ReassignForm(request.POST, handlers=selectors.complaint_handler_list(actor=request.user))
    status = 400
    if form.is_valid():
        try:
            services.complaint_reassign(actor=request.user, complaint_id=complaint.pk,
                                        user_id=form.cleaned_data["user"].pk, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if exc.status == 404:
                raise
            status = exc.status
            form_errors_from(form, exc, field_map={"user": "user"})
        else:
            messages.success(request, _("Accountability moved to %(who)s.") % {"who": form.cleaned_data["user"]})
            return redirect("service_desk:detail", complaint_id=complaint.pk)
    return render(request, "service_desk/detail.html", _detail_context(request, complaint.pk, reassign_form=form),
                  status=status)


@page
@require_POST
def complaint_link_customer(request, complaint_id: int):
    """Link (or re-link) the complaint to a customer with one action; a refusal shows above the page."""
    _require(request)
    complaint = selectors.complaint_get(actor=request.user, complaint_id=complaint_id)
    try:
        customer_id = int(request.POST.get("customer") or 0)
    except ValueError:
        customer_id = 0
    if customer_id <= 0:
        raise Invalid(_("Choose the customer."), fields={"customer": [_("Required.")]})
    services.complaint_link_customer(actor=request.user, complaint_id=complaint.pk, customer_id=customer_id)
    messages.success(request, _("The complaint is linked to the customer; the customer's owner has been told."))
    return redirect("service_desk:detail", complaint_id=complaint.pk)


@page
@require_POST
def complaint_extension(request, complaint_id: int):
    _require(request)
    complaint = selectors.complaint_get(actor=request.user, complaint_id=complaint_id)
    form = ExtensionForm(request.POST, complaint=complaint)
    status = 400
    if form.is_valid():
        try:
            services.complaint_request_extension(actor=request.user, complaint_id=complaint.pk,
                                                 days=form.cleaned_data["days"], reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if exc.status == 404:
                raise
            status = exc.status
            form_errors_from(form, exc)
        else:
            messages.success(request, _("Extension requested; the deadline changes once it is approved."))
            return redirect("service_desk:detail", complaint_id=complaint.pk)
    return render(request, "service_desk/detail.html",
                  _detail_context(request, complaint.pk, extension_form=form), status=status)


# ---------------------------------------------------------------- public: no account needed

@require_http_methods(["GET", "POST"])
def public_complaint(request):
    """The public complaint form; a service agent receives what is filed here."""
    form = PublicComplaintForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                c = services.complaint_public_submit(data=form.service_data(), ip=client_ip(request))
            except DomainError as exc:
                status = exc.status
                form_errors_from(form, exc)
            else:
                _blacklist_flag(c, form.cleaned_data)
                return render(request, "service_desk/public_done.html", {"complaint": c})
    return render(request, "service_desk/public_form.html", {"form": form}, status=status)


def _blacklist_flag(complaint, data: dict) -> None:
    """A complaint from a blacklisted company or phone is accepted like any other and flagged for review."""
    from kehu.qualification.blacklist.services import flag_public_form

    flag_public_form(name=data.get("company") or "", phones=[data.get("complainant_phone") or ""],
                     object_type="service_desk.complaint", object_id=complaint.pk,
                     owner_id=complaint.accountable_id, department_id=complaint.department_id)


@require_http_methods(["GET", "POST"])
def public_track(request):
    """State, deadline and (once answered) the reply, for whoever has the tracking number and the
    complainant's phone. POST keeps the phone out of addresses and logs."""
    form = TrackForm(request.POST or None, initial={"tracking_no": request.GET.get("no", "")[:32]})
    status, complaint, not_found = 200, None, False
    if request.method == "POST":
        status = 400
        if form.is_valid():
            complaint = selectors.complaint_track(tracking_no=form.cleaned_data["tracking_no"],
                                                  phone=form.cleaned_data["phone"])
            status, not_found = (200, False) if complaint else (404, True)
    return render(request, "service_desk/public_track.html",
                  {"form": form, "complaint": complaint, "not_found": not_found}, status=status)
