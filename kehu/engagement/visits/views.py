"""Visit pages: annual plans (list + generate, a plan with its visits and history), a scheduled visit (move,
cancel, authorise), the visit report form (on a phone after the visit) and its printable A4 form, the
overdue list, completion per rep and department, suggestions (answer, close), executive mutual visits.
Parse → call a service/selector → render; the same permissions as the API (a DomainError is its status)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.models import Department, User
from kehu.customers.selectors import customer_base
from kehu.engagement.visits import selectors, services
from kehu.engagement.visits.models import (
    ExecutiveVisitDirection,
    PlanState,
    SuggestionTopic,
    VisitReport,
    VisitState,
)
from kehu.errors import DomainError, Invalid
from kehu.web import page

PAGE_SIZE = 50
VISITS_PAGE = 100


def _year(request) -> int:
    text = (request.GET.get("year") or "").strip()
    if text.isdigit() and 2000 <= int(text) <= 2100:
        return int(text)
    return timezone.localdate().year


def _nav(request, active: str) -> dict:
    return {"nav_active": active, "can_manage": selectors.can_manage(request.user)}


# ---------------------------------------------------------------- plans

@page
@require_http_methods(["GET", "POST"])
def plan_list(request):
    selectors.require_read(request.user)
    year = _year(request)
    errors = {}
    if request.method == "POST":
        try:
            plan = services.plan_generate(actor=request.user, year=request.POST.get("year"),
                                          owner_id=request.POST.get("owner") or None)
            messages.success(request, _("Visit plan generated."))
            return redirect("visits:plan", plan.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = {"__all__": [exc.message], **exc.fields}
    page_ = selectors.plan_list(actor=request.user, year=year, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    reps = []
    if selectors.can_manage(request.user):
        from kehu.access.scopes import scope_q

        reps = list(User.objects.filter(scope_q(request.user, owner_field="pk"), is_active=True,
                                        role="account_manager").order_by("display_name", "username")[:300])
    today = timezone.localdate()
    mine = selectors.visit_list(actor=request.user, owner=request.user.pk, state=VisitState.SCHEDULED,
                                date_from=today, limit=5).items
    return render(request, "visits/plan_list.html", {
        "plans": page_.items, "next": page_.next, "year": year, "years": [year - 1, year, year + 1],
        "reps": reps, "errors": errors, "upcoming": mine, **_nav(request, "plans")}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def plan_detail(request, plan_id: int):
    plan = selectors.plan_get(actor=request.user, plan_id=plan_id)
    errors = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "submit":
                services.plan_submit(actor=request.user, plan_id=plan.pk)
            elif action == "approve":
                services.plan_approve(actor=request.user, plan_id=plan.pk, note=request.POST.get("note", ""))
            elif action == "return":
                services.plan_return(actor=request.user, plan_id=plan.pk, note=request.POST.get("note", ""))
            elif action == "regenerate":
                services.plan_generate(actor=request.user, year=plan.year, owner_id=plan.owner_id)
            elif action == "add":
                services.visit_add(actor=request.user, plan_id=plan.pk, data={
                    "customer": _customer_id(request.user, request.POST.get("customer", "")),
                    "planned_on": request.POST.get("planned_on"), "purpose": request.POST.get("purpose", ""),
                    "is_return_visit": request.POST.get("is_return_visit")})
            else:
                raise Invalid(_("Unknown action."), fields={"action": [_("Unknown action.")]})
            messages.success(request, _("Saved."))
            return redirect("visits:plan", plan.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = {"__all__": [exc.message], **exc.fields}
            plan = selectors.plan_get(actor=request.user, plan_id=plan_id)
    month = (request.GET.get("month") or "").strip()
    month_n = int(month) if month.isdigit() and 1 <= int(month) <= 12 else None
    date_from = dt.date(plan.year, month_n, 1) if month_n else None
    date_to = ((dt.date(plan.year + (month_n == 12), month_n % 12 + 1, 1) - dt.timedelta(days=1))
               if month_n else None)
    visits = selectors.visit_list(actor=request.user, plan=plan.pk, date_from=date_from, date_to=date_to,
                                  limit=VISITS_PAGE, cursor=request.GET.get("cursor"))
    today = timezone.localdate()
    cutoff = selectors.overdue_cutoff(today)
    is_owner = plan.owner_id == request.user.pk
    return render(request, "visits/plan_detail.html", {
        "plan": plan, "visits": visits.items, "next": visits.next, "events": selectors.plan_events(plan=plan, limit=30),
        "cutoff": cutoff, "month": month_n, "months": range(1, 13), "errors": errors, "is_owner": is_owner,
        "can_edit": (is_owner or selectors.can_manage(request.user)) and plan.state != PlanState.SUBMITTED,
        "can_submit": plan.state == PlanState.DRAFT and (is_owner or selectors.can_manage(request.user)),
        "can_decide": plan.state == PlanState.SUBMITTED and selectors.can_manage(request.user) and not is_owner,
        "can_reopen": plan.state == PlanState.APPROVED and selectors.can_manage(request.user) and not is_owner,
        "customers": list(customer_base(actor=request.user).filter(owner_id=plan.owner_id)
                          .order_by("name").values_list("pk", "name")[:500]),
        "today": today, **_nav(request, "plans")}, status=400 if errors else 200)


def _customer_id(actor, text: str):
    text = (text or "").strip()
    if text.isdigit():
        return int(text)
    pks = list(customer_base(actor=actor).filter(name=text).values_list("pk", flat=True)[:2])
    return pks[0] if len(pks) == 1 else None


# ---------------------------------------------------------------- one scheduled visit

@page
@require_http_methods(["GET", "POST"])
def visit_detail(request, visit_id: int):
    visit = selectors.visit_get(actor=request.user, visit_id=visit_id)
    errors = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "move":
                services.visit_move(actor=request.user, visit_id=visit.pk, planned_on=request.POST.get("planned_on"),
                                    reason=request.POST.get("reason", ""))
            elif action == "cancel":
                services.visit_cancel(actor=request.user, visit_id=visit.pk, reason=request.POST.get("reason", ""))
            elif action == "authorise":
                services.visit_authorise(actor=request.user, visit_id=visit.pk, note=request.POST.get("note", ""))
            else:
                raise Invalid(_("Unknown action."), fields={"action": [_("Unknown action.")]})
            messages.success(request, _("Saved."))
            return redirect("visits:visit", visit.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = {"__all__": [exc.message], **exc.fields}
            visit = selectors.visit_get(actor=request.user, visit_id=visit_id)
    try:
        report = visit.report
    except VisitReport.DoesNotExist:
        report = None
    is_owner = visit.owner_id == request.user.pk
    can_manage = selectors.can_manage(request.user)
    return render(request, "visits/visit_detail.html", {
        "visit": visit, "report": report, "errors": errors,
        "overdue": visit.state == VisitState.SCHEDULED and visit.planned_on < selectors.overdue_cutoff(
            timezone.localdate()),
        "can_edit": (is_owner or can_manage) and visit.state == VisitState.SCHEDULED
        and visit.plan.state != PlanState.SUBMITTED,
        "can_report": (is_owner or can_manage) and report is None and visit.state != VisitState.CANCELLED
        and not visit.awaiting_authorisation,
        "can_authorise": can_manage and not is_owner and visit.awaiting_authorisation
        and visit.state != VisitState.CANCELLED, **_nav(request, "plans")}, status=400 if errors else 200)


# ---------------------------------------------------------------- the report form

REPORT_TEXTS = ("customer_name", "customer_address", "legal_representative", "product_info", "market_info", "needs",
                "other_suggestions", "principal_name", "principal_title", "principal_phone", "principal_mobile",
                "handler_name", "handler_title", "handler_phone", "handler_mobile", "signatory_name", "visited_on",
                "signed_on", "quality", "service", "reputation")
SUGGESTION_ROWS = 3


@page
@require_http_methods(["GET", "POST"])
def report_new(request, visit_id: int):
    visit = selectors.visit_get(actor=request.user, visit_id=visit_id)
    services._require_write(request.user)
    customer = visit.customer
    values = {"customer_name": customer.name, "customer_address": customer.address,
              "visited_on": timezone.localdate().isoformat(), "signed_on": timezone.localdate().isoformat()}
    errors, status = {}, 200
    rows = [{"topic": "", "text": "", "departments": []} for _i in range(SUGGESTION_ROWS)]
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in REPORT_TEXTS}
        rows = [{"topic": request.POST.get(f"s{i}_topic", ""), "text": request.POST.get(f"s{i}_text", ""),
                 "departments": [d for d in request.POST.getlist(f"s{i}_departments") if d]}
                for i in range(SUGGESTION_ROWS)]
        data = dict(values)
        data["suggestions"] = [{"topic": r["topic"] or "other", "text": r["text"], "departments": r["departments"],
                                "addressee": request.POST.get(f"s{i}_addressee") or None}
                               for i, r in enumerate(rows)]
        try:
            report = services.report_file(actor=request.user, visit_id=visit.pk, data=data)
            messages.success(request, _("Visit report filed."))
            return redirect("visits:report", report.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors, status = {"__all__": [exc.message], **exc.fields}, exc.status
    return render(request, "visits/report_form.html", {
        "visit": visit, "values": values, "errors": errors, "scales": _scales(values, errors), "rows": rows,
        "topics": SuggestionTopic.choices, "departments": Department.objects.order_by("path")[:200],
        **_nav(request, "plans")}, status=status)


def _scales(values: dict, errors: dict) -> list[dict]:
    items = selectors.scale_items()
    return [{"key": key, "label": label, "items": items.get(key, []), "selected": str(values.get(key) or ""),
             "error": (errors.get(key) or [""])[0]}
            for key, label in (("quality", _("Quality")), ("service", _("Service attitude")),
                               ("reputation", _("Product reputation")))]


def _report_context(request, report_id: int) -> dict:
    report = selectors.report_get(actor=request.user, report_id=report_id)
    items = selectors.scale_items(version=report.quality.version)
    chosen = {"quality": report.quality_id, "service": report.service_id, "reputation": report.reputation_id}
    scales = [(key, label, items.get(key, []), chosen[key]) for key, label in (
        ("quality", _("Quality")), ("service", _("Service attitude")), ("reputation", _("Product reputation")))]
    return {"report": report, "scales": scales, "suggestions": selectors.report_suggestions(report=report)}


@page
@require_http_methods(["GET"])
def report_detail(request, report_id: int):
    return render(request, "visits/report_detail.html", {**_report_context(request, report_id),
                                                          **_nav(request, "reports")})


@page
@require_http_methods(["GET"])
def report_print(request, report_id: int):
    return render(request, "visits/report_print.html", _report_context(request, report_id))


@page
@require_http_methods(["GET"])
def report_list(request):
    page_ = selectors.report_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "visits/report_list.html", {"reports": page_.items, "next": page_.next,
                                                       **_nav(request, "reports")})


# ---------------------------------------------------------------- overdue, completion

@page
@require_http_methods(["GET"])
def overdue(request):
    today = timezone.localdate()
    page_ = selectors.visit_list(actor=request.user, overdue=True, today=today, limit=PAGE_SIZE,
                                 cursor=request.GET.get("cursor"))
    awaiting = []
    if selectors.can_manage(request.user):
        awaiting = selectors.visit_list(actor=request.user, awaiting_authorisation=True, limit=20).items
    return render(request, "visits/overdue.html", {"visits": page_.items, "next": page_.next, "today": today,
                                                   "awaiting": awaiting, **_nav(request, "overdue")})


@page
@require_http_methods(["GET"])
def completion(request):
    today = timezone.localdate()
    year = _year(request)
    by_owner = selectors.completion(actor=request.user, year=year, today=today, by="owner")
    by_dept = selectors.completion(actor=request.user, year=year, today=today, by="department")
    return render(request, "visits/completion.html", {
        "year": year, "years": [year - 1, year, year + 1], "by_owner": by_owner, "by_dept": by_dept,
        "total": selectors.completion_total(by_owner),
        "chart": {"labels": [r["name"] for r in by_owner], "rates": [r["rate"] for r in by_owner],
                  "done": [r["done"] for r in by_owner], "due": [r["due"] for r in by_owner]},
        **_nav(request, "completion")})


# ---------------------------------------------------------------- suggestions

@page
@require_http_methods(["GET"])
def suggestion_list(request):
    state = request.GET.get("state") or None
    state = state if state in ("open", "answered", "closed") else None
    mine = request.GET.get("mine") == "1"
    page_ = selectors.suggestion_list(actor=request.user, state=state, mine=mine, limit=PAGE_SIZE,
                                      cursor=request.GET.get("cursor"))
    return render(request, "visits/suggestion_list.html", {
        "suggestions": page_.items, "next": page_.next, "state": state or "", "mine": mine,
        "today": timezone.localdate(), **_nav(request, "suggestions")})


@page
@require_http_methods(["GET", "POST"])
def suggestion_detail(request, suggestion_id: int):
    s = selectors.suggestion_get(actor=request.user, suggestion_id=suggestion_id)
    errors = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "close":
                services.suggestion_close(actor=request.user, suggestion_id=s.pk)
            else:
                services.suggestion_answer(actor=request.user, suggestion_id=s.pk, answer=request.POST.get("answer", ""))
            messages.success(request, _("Saved."))
            return redirect("visits:suggestion", s.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = {"__all__": [exc.message], **exc.fields}
    can_answer = selectors.can_answer(request.user, s)
    return render(request, "visits/suggestion_detail.html", {
        "s": s, "errors": errors, "can_answer": can_answer and s.state == "open",
        "can_close": s.state == "answered" and (can_answer or s.report.owner_id == request.user.pk),
        "today": timezone.localdate(), **_nav(request, "suggestions")}, status=400 if errors else 200)


# ---------------------------------------------------------------- executive visits

@page
@require_http_methods(["GET"])
def executive_list(request):
    page_ = selectors.executive_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "visits/executive_list.html", {"visits": page_.items, "next": page_.next,
                                                          **_nav(request, "executive")})


def _executive_form_data(request) -> dict:
    return {"customer": _customer_id(request.user, request.POST.get("customer", "")),
            "direction": request.POST.get("direction"), "purpose": request.POST.get("purpose", ""),
            "starts_at": request.POST.get("starts_at", ""), "place": request.POST.get("place", ""),
            "our_participants": [p for p in request.POST.getlist("our_participants") if p],
            "customer_participants": [p for p in request.POST.getlist("customer_participants") if p],
            "customer_participants_note": request.POST.get("customer_participants_note", "")}


def _executive_choices(request) -> dict:
    return {"users": User.objects.filter(is_active=True).exclude(role="auditor").order_by("display_name")[:300],
            "directions": ExecutiveVisitDirection.choices,
            "customers": list(customer_base(actor=request.user).order_by("name").values_list("pk", "name")[:500])}


@page
@require_http_methods(["GET", "POST"])
def executive_new(request):
    services.require_manage(request.user)
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        values = _executive_form_data(request)
        try:
            visit = services.executive_create(actor=request.user, data=values)
            messages.success(request, _("Executive visit planned."))
            return redirect("visits:executive", visit.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors, status = {"__all__": [exc.message], **exc.fields}, exc.status
        values["starts_at_local"] = request.POST.get("starts_at", "")
    return render(request, "visits/executive_form.html", {"errors": errors, "values": values,
                                                          **_executive_choices(request),
                                                          **_nav(request, "executive")}, status=status)


@page
@require_http_methods(["GET", "POST"])
def executive_detail(request, visit_id: int):
    visit = selectors.executive_get(actor=request.user, visit_id=visit_id)
    errors = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "outcome":
                services.executive_record_outcome(actor=request.user, visit_id=visit.pk,
                                                  outcome=request.POST.get("outcome", ""))
            elif action == "cancel":
                services.executive_cancel(actor=request.user, visit_id=visit.pk, reason=request.POST.get("reason", ""))
            elif action == "edit":
                data = _executive_form_data(request)
                data.pop("customer")
                services.executive_update(actor=request.user, visit_id=visit.pk, data=data)
            else:
                raise Invalid(_("Unknown action."), fields={"action": [_("Unknown action.")]})
            messages.success(request, _("Saved."))
            return redirect("visits:executive", visit.pk)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            errors = {"__all__": [exc.message], **exc.fields}
            visit = selectors.executive_get(actor=request.user, visit_id=visit_id)
    contacts = visit.customer.contacts.order_by("name")[:100]
    return render(request, "visits/executive_detail.html", {
        "visit": visit, "errors": errors, "contacts": contacts, **_executive_choices(request),
        "our_ids": {u.pk for u in visit.our_participants.all()},
        "their_ids": {c.pk for c in visit.customer_participants.all()},
        **_nav(request, "executive")}, status=400 if errors else 200)


@page
@require_POST
def remind_now(request):
    """Managers may run the reminder sweep by hand (the worker runs it daily)."""
    services.require_manage(request.user)
    n = services.visits_remind()
    messages.success(request, _("%(n)d reminders sent.") % {"n": n})
    return redirect(reverse("visits:overdue"))
