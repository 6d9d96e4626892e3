"""HTML views of inspections: parse → call a selector/service → render. Scope, permissions and audit
live in the selectors and services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.roles import Perm
from kehu.service_desk.inspections import selectors, services
from kehu.service_desk.inspections.forms import (
    CancelForm,
    ChecklistForm,
    DeactivateForm,
    PlanForm,
    ReportForm,
    VisitFilterForm,
)
from kehu.service_desk.inspections.models import VisitState
from kehu.web import form_submit, page, render_page

PAGE_SIZE = 50
CUSTOMER_SEARCH_LIMIT = 20


def _can_manage(user) -> bool:
    return user.has_kehu_perm(Perm.INSPECTION_MANAGE)


def _can_file(user, visit) -> bool:
    return visit.state == VisitState.SCHEDULED and (
        visit.inspector_id == user.pk or user.has_kehu_perm(Perm.COMPLAINT_HANDLE))


def _customer(request, customer_id):
    """The customer named in the address, in the actor's scope (404 otherwise), or None."""
    if not str(customer_id or "").isdigit():
        return None
    from kehu.customers.selectors import customer_get

    return customer_get(actor=request.user, customer_id=int(customer_id))


def _tone(visit, today) -> str:
    """red: flagged overdue (or past due, before the hourly sweep); orange: due within 3 days."""
    if visit.state != VisitState.SCHEDULED:
        return "secondary"
    if visit.overdue_at is not None or visit.due_date < today:
        return "red"
    if (visit.due_date - today).days <= 3:
        return "orange"
    return "green"


def _with_tone(visits) -> list:
    today = timezone.localdate()
    for v in visits:
        v.tone = _tone(v, today)
        v.days_left = (v.due_date - today).days
        v.days_over = max(-v.days_left, 0)
    return list(visits)


# ---------------------------------------------------------------- visits

@page
@require_http_methods(["GET"])
def visit_list(request):
    """Upcoming and overdue inspections (overdue in red), filtered, soonest due first, cursor-paged."""
    selectors.require_read(request.user)
    form = VisitFilterForm(request.GET or None)
    form.is_valid()
    args = form.selector_args(request.user)
    customer = _customer(request, args["customer"])
    result = selectors.visit_list(actor=request.user, limit=PAGE_SIZE, **args)
    filters = form.filters()
    context = {
        "form": form, "customer": customer, "visits": _with_tone(result.items), "filtered": bool(filters),
        "can_manage": _can_manage(request.user), "view": "visits", "horizon": services.horizon_days(),
        "next_url": f"?{urlencode({**filters, 'cursor': result.next})}" if result.next else None,
        "first_url": f"?{urlencode(filters)}" if args["cursor"] else None,
    }
    return render_page(request, "inspections/visit_list.html", "inspections/_visit_rows.html", context)


def _visit_context(request, visit_id: int, *, cancel_form: CancelForm | None = None) -> dict:
    visit = selectors.visit_detail(actor=request.user, visit_id=visit_id)
    _with_tone([visit])
    can_cancel = _can_manage(request.user) and visit.state == VisitState.SCHEDULED
    return {"visit": visit, "report": visit.report_or_none, "can_file": _can_file(request.user, visit),
            "cancel_form": (cancel_form or CancelForm()) if can_cancel else None, "view": "visits"}


@page
@require_http_methods(["GET"])
def visit_detail(request, visit_id: int):
    return render(request, "inspections/visit_detail.html", _visit_context(request, visit_id))


@page
@require_http_methods(["GET", "POST"])
def visit_report(request, visit_id: int):
    """The report form an engineer fills in on site (phone-sized): a radio group per checklist item."""
    visit = selectors.visit_detail(actor=request.user, visit_id=visit_id)
    if not _can_file(request.user, visit):
        if visit.state != VisitState.SCHEDULED:
            return redirect("inspections:visit_detail", visit_id=visit.pk)
        from kehu.errors import Forbidden

        raise Forbidden(_("Only the inspector, or someone who handles service work, may file this report."))
    form = ReportForm(request.POST or None, items=visit.checklist_items)
    status = 200
    if request.method == "POST":
        ok, __, status = form_submit(form, lambda: services.visit_report(
            actor=request.user, visit_id=visit.pk, data=form.service_data()))
        if ok:
            messages.success(request, _("Inspection report filed."))
            return redirect("inspections:visit_detail", visit_id=visit.pk)
    return render(request, "inspections/report_form.html", {"visit": visit, "form": form, "view": "visits"},
                  status=status)


@page
@require_POST
def visit_cancel(request, visit_id: int):
    selectors.require_manage(request.user)
    visit = selectors.visit_get(actor=request.user, visit_id=visit_id, manage=True)
    form = CancelForm(request.POST)
    ok, __, status = form_submit(form, lambda: services.visit_cancel(
        actor=request.user, visit_id=visit.pk, reason=form.cleaned_data["reason"], missed=form.cleaned_data["missed"]))
    if ok:
        messages.success(request, _("The inspection was closed without a report."))
        return redirect("inspections:visit_detail", visit_id=visit.pk)
    return render(request, "inspections/visit_detail.html", _visit_context(request, visit.pk, cancel_form=form),
                  status=status)


# ---------------------------------------------------------------- plans

@page
@require_http_methods(["GET"])
def plan_list(request):
    """Inspection plans in scope (of one customer with ?customer=), soonest next inspection first."""
    selectors.require_read(request.user)
    customer = _customer(request, request.GET.get("customer"))
    show = request.GET.get("show") or "active"
    cursor = (request.GET.get("cursor") or "")[:500] or None
    result = selectors.plan_list(actor=request.user, customer=customer.pk if customer else None,
                                 active=True if show == "active" else None, limit=PAGE_SIZE, cursor=cursor)
    filters = {k: v for k, v in {"customer": customer.pk if customer else None, "show": show}.items() if v}
    from kehu.workdays.selectors import calendar_get

    calendar = calendar_get()
    for p in services.with_default_cycles(result.items):
        p.deadline = services.cycles.due_on_working_day(p.next_due, calendar)
    return render(request, "inspections/plan_list.html", {
        "plans": result.items, "customer": customer, "show": show, "can_manage": _can_manage(request.user),
        "view": "plans",
        "next_url": f"?{urlencode({**filters, 'cursor': result.next})}" if result.next else None,
        "first_url": f"?{urlencode(filters)}" if cursor else None,
    })


def _plan_form(request, data=None, **kwargs) -> PlanForm:
    return PlanForm(data, checklists=selectors.checklist_choices(actor=request.user),
                    inspectors=selectors.inspector_choices(actor=request.user), **kwargs)


@page
@require_http_methods(["GET", "POST"])
def plan_create(request):
    """Plan inspections for a customer: first find the customer (in scope), then fill in the plan."""
    selectors.require_manage(request.user)
    customer = _customer(request, request.GET.get("customer") or request.POST.get("customer"))
    q = (request.GET.get("q") or "").strip()[:100]
    found = []
    if customer is None and q:
        from kehu.customers.selectors import customer_list

        found = customer_list(actor=request.user, q=q, limit=CUSTOMER_SEARCH_LIMIT).items
    form = _plan_form(request, request.POST or None, initial={"inspector": request.user.pk}
                      if request.user.has_kehu_perm(Perm.COMPLAINT_HANDLE) else {})
    status = 200
    if request.method == "POST" and customer is not None:
        ok, plan, status = form_submit(form, lambda: services.plan_create(
            actor=request.user, data={**form.service_data(), "customer": customer.pk}))
        if ok:
            messages.success(request, _("Inspection plan saved; the next inspection is on %(d)s.")
                             % {"d": plan.next_due.isoformat()})
            return redirect(f"{redirect('inspections:plans').url}?customer={customer.pk}")
    return render(request, "inspections/plan_form.html", {
        "form": form, "customer": customer, "q": q, "found": found, "view": "plans",
        "grade_cycle": _grade_cycle(customer), "cycle_days": services.cycle_days_table()}, status=status)


def _grade_cycle(customer):
    """The inspection cycle the customer's grade sets (a DefaultCycle), or None."""
    if customer is None:
        return None
    default = services.default_cycle_for(customer.pk, "normal")
    return default if default.source == "grade" else None


@page
@require_http_methods(["GET", "POST"])
def plan_edit(request, plan_id: int):
    selectors.require_manage(request.user)
    plan = selectors.plan_get(actor=request.user, plan_id=plan_id, manage=True)
    services.with_default_cycles([plan])
    # A plan following the default shows "Every" empty; emptying it makes a hand-set plan follow it again.
    follows = plan.cycle_source != "set"
    initial = {"checklist": plan.checklist, "importance": plan.importance,
               "cycle_length": None if follows else plan.cycle_length, "cycle_unit": plan.cycle_unit,
               "inspector": plan.inspector, "next_due": plan.next_due, "note": plan.note}
    form = _plan_form(request, request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        ok, __, status = form_submit(form, lambda: services.plan_update(
            actor=request.user, plan_id=plan.pk,
            data={"cycle_length": None, "cycle_default": True, **form.service_data()}))
        if ok:
            messages.success(request, _("Inspection plan saved."))
            return redirect(f"{redirect('inspections:plans').url}?customer={plan.customer_id}")
    return render(request, "inspections/plan_form.html", {
        "form": form, "customer": plan.customer, "plan": plan, "deactivate_form": DeactivateForm(),
        "view": "plans", "grade_cycle": _grade_cycle(plan.customer),
        "cycle_days": services.cycle_days_table()}, status=status)


@page
@require_POST
def plan_deactivate(request, plan_id: int):
    selectors.require_manage(request.user)
    plan = selectors.plan_get(actor=request.user, plan_id=plan_id, manage=True)
    form = DeactivateForm(request.POST)
    form.is_valid()
    services.plan_deactivate(actor=request.user, plan_id=plan.pk, reason=form.cleaned_data.get("reason") or "")
    messages.success(request, _("Inspection plan stopped."))
    return redirect(f"{redirect('inspections:plans').url}?customer={plan.customer_id}")


# ---------------------------------------------------------------- checklists

@page
@require_http_methods(["GET", "POST"])
def checklist_list(request):
    """The checklists, and (for inspection managers) a form to define a new one."""
    can_manage = _can_manage(request.user)
    if request.method == "POST":
        selectors.require_manage(request.user)
    checklists = selectors.checklist_list(actor=request.user, limit=200).items
    form = ChecklistForm(request.POST or None) if can_manage else None
    status = 200
    if request.method == "POST":
        ok, __, status = form_submit(form, lambda: services.checklist_create(actor=request.user,
                                                                              data=form.service_data()))
        if ok:
            messages.success(request, _("Checklist saved."))
            return redirect("inspections:checklists")
    return render(request, "inspections/checklist_list.html", {
        "checklists": checklists, "form": form, "can_manage": can_manage, "view": "checklists"}, status=status)


@page
@require_http_methods(["GET", "POST"])
def checklist_edit(request, checklist_id: int):
    selectors.require_manage(request.user)
    checklist = selectors.checklist_get(actor=request.user, checklist_id=checklist_id)
    form = ChecklistForm(request.POST or None, initial={
        "name": checklist.name, "description": checklist.description, "active": checklist.active,
        "items": ChecklistForm.items_text(checklist)})
    status = 200
    if request.method == "POST":
        ok, __, status = form_submit(form, lambda: services.checklist_update(
            actor=request.user, checklist_id=checklist.pk, data=form.service_data()))
        if ok:
            messages.success(request, _("Checklist saved."))
            return redirect("inspections:checklists")
    return render(request, "inspections/checklist_form.html",
                  {"form": form, "checklist": checklist, "view": "checklists"}, status=status)
