"""Allocation pages: monthly plans (list, form, import) and rounds (list + new, the round with its shares,
their explanation and the plan-vs-allocation chart). Parse → call a service/selector → render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.customers.selectors import customer_base
from kehu.errors import DomainError
from kehu.grading.allocation import explain, selectors, services
from kehu.grading.allocation.forms import (
    ImportForm,
    PlanEditForm,
    PlanFilterForm,
    PlanForm,
    RoundEditForm,
    RoundForm,
)
from kehu.grading.allocation.models import ParticipantType, RoundState
from kehu.web import form_errors_from, form_submit, page

PAGE_SIZE = 50
TYPE_LABELS = dict(ParticipantType.choices)


def _this_month() -> dt.date:
    return timezone.localdate().replace(day=1)


def _customer_id(actor, text: str) -> int | None:
    text = (text or "").strip()
    if text.isdigit():
        return int(text)
    pks = list(customer_base(actor=actor).filter(name=text).values_list("pk", flat=True)[:2])
    return pks[0] if len(pks) == 1 else None


def _suggestions(actor) -> dict:
    return {"participants": selectors.recent_participants(actor=actor),
            "product_lines": selectors.product_lines(actor=actor) or ["聚乙烯 PE", "聚丙烯 PP"]}


@page
@require_http_methods(["GET"])
def plan_list(request):
    month = services.parse_month(request.GET.get("month") or "") or _this_month()
    # The month chosen (or this month) shows in the filter even on the first visit.
    form = PlanFilterForm({**request.GET.dict(), "month": month.strftime("%Y-%m")})
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {"product_line": data.get("product_line") or None,
                   "participant_type": data.get("participant_type") or None}
    page_ = selectors.plan_list(actor=request.user, month=month, limit=PAGE_SIZE,
                                cursor=request.GET.get("cursor") or None, ordering="-quantity_t", **filters)
    totals = selectors.plan_month_totals(actor=request.user, month=month)
    for row in totals:
        row["type_label"] = TYPE_LABELS.get(row["participant_type"], row["participant_type"])
    context = {"form": form, "month": month, "plans": page_.items, "next": page_.next, "totals": totals,
               "month_value": month.strftime("%Y-%m"),
               "prev_month": (month - dt.timedelta(days=1)).strftime("%Y-%m"),
               "next_month": (month + dt.timedelta(days=32)).strftime("%Y-%m"),
               "can_manage": selectors.can_manage(request.user), **_suggestions(request.user)}
    return render(request, "allocation/plan_list.html", context)


@page
@require_http_methods(["GET", "POST"])
def plan_new(request):
    services.require_manage(request.user)
    initial = {"month": request.GET.get("month") or _this_month().strftime("%Y-%m"),
               "product_line": request.GET.get("product_line") or ""}  # the type: as declared at account opening
    form, status = PlanForm(initial=initial), 200
    if request.method == "POST":
        form = PlanForm(request.POST)

        def write():
            data = {**form.cleaned_data, "customer": _customer_id(request.user, form.cleaned_data["customer"])}
            return services.plan_create(actor=request.user, data=data)

        ok, plan, status = form_submit(form, write)
        if ok:
            messages.success(request, _("Plan saved."))
            return redirect(f"{_plans_url()}?month={plan.month:%Y-%m}")
    return render(request, "allocation/plan_form.html",
                  {"form": form, "plan": None, **_suggestions(request.user)}, status=status)


def _plans_url() -> str:
    from django.urls import reverse

    return reverse("allocation:plans")


@page
@require_http_methods(["GET", "POST"])
def plan_edit(request, plan_id: int):
    services.require_manage(request.user)
    plan = selectors.plan_get(actor=request.user, plan_id=plan_id)
    initial = {"month": plan.month.strftime("%Y-%m"), "product_line": plan.product_line,
               "participant_type": plan.participant_type, "quantity_t": plan.quantity_t,
               "capacity_t": plan.capacity_t, "pickup_note": plan.pickup_note}
    form, status = PlanEditForm(initial=initial), 200
    if request.method == "POST":
        form = PlanEditForm(request.POST)
        ok, plan_, status = form_submit(form, lambda: services.plan_update(actor=request.user, plan_id=plan_id,
                                                                           data=form.cleaned_data))
        if ok:
            messages.success(request, _("Plan saved."))
            return redirect(f"{_plans_url()}?month={plan_.month:%Y-%m}")
    return render(request, "allocation/plan_form.html",
                  {"form": form, "plan": plan, **_suggestions(request.user)}, status=status)


@page
@require_POST
def plan_delete(request, plan_id: int):
    plan = selectors.plan_get(actor=request.user, plan_id=plan_id)
    services.plan_delete(actor=request.user, plan_id=plan_id)
    messages.success(request, _("Plan withdrawn."))
    return redirect(f"{_plans_url()}?month={plan.month:%Y-%m}")


@page
@require_http_methods(["GET", "POST"])
def plan_import(request):
    services.require_manage(request.user)
    form, status, result = ImportForm(), 200, None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = services.plan_import(actor=request.user, file_name=upload.name, content=upload.read(),
                                              dry_run=form.cleaned_data["dry_run"])
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                form_errors_from(form, exc)
                status = exc.status
            else:
                if not result["dry_run"]:
                    messages.success(request, _("%(created)d plans created, %(updated)d updated.") % result)
                    return redirect("allocation:plans")
        else:
            status = 400
    return render(request, "allocation/plan_import.html", {"form": form, "result": result}, status=status)


def _round_initial(query=None) -> dict:
    """The new round form's defaults: the month and product line asked for (the workbench's "no round yet"
    link), else this month; the weights and look-back from KEHU_ALLOCATION."""
    cfg = services.config()
    query = query or {}
    month = services.parse_month(query.get("month") or "") or _this_month()
    return {"month": month.strftime("%Y-%m"), "product_line": (query.get("product_line") or "")[:100],
            "weight_review": cfg["weights"]["review"],
            "weight_completion": cfg["weights"]["completion"], "weight_regularity": cfg["weights"]["regularity"],
            "lookback_months": cfg["lookback_months"]}


@page
@require_http_methods(["GET", "POST"])
def round_list(request):
    page_ = selectors.round_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor") or None)
    can_manage = selectors.can_manage(request.user)
    form, status = RoundForm(initial=_round_initial(request.GET)), 200
    if request.method == "POST":
        services.require_manage(request.user)
        form = RoundForm(request.POST)
        ok, rnd, status = form_submit(form, lambda: services.round_create(actor=request.user,
                                                                          data=form.cleaned_data))
        if ok:
            messages.success(request, _("Round created. Compute it to preview the shares."))
            return redirect("allocation:round", rnd.pk)
    rounds = page_.items
    for rnd in rounds:
        rnd.totals = selectors.round_totals(actor=request.user, rnd=rnd)
    return render(request, "allocation/round_list.html",
                  {"rounds": rounds, "next": page_.next, "form": form, "can_manage": can_manage,
                   **_suggestions(request.user)}, status=status)


@page
@require_http_methods(["GET", "POST"])
def round_detail(request, round_id: int):
    rnd = selectors.round_get(actor=request.user, round_id=round_id)
    can_manage = selectors.can_manage(request.user)
    edit_form, status = None, 200
    if can_manage and rnd.state == RoundState.DRAFT:
        edit_form = RoundEditForm(initial={"available_t": rnd.available_t, "weight_review": rnd.weight_review,
                                           "weight_completion": rnd.weight_completion,
                                           "weight_regularity": rnd.weight_regularity,
                                           "lookback_months": rnd.lookback_months, "note": rnd.note})
        if request.method == "POST":
            edit_form = RoundEditForm(request.POST)
            ok, _r, status = form_submit(edit_form, lambda: services.round_update(
                actor=request.user, round_id=round_id, data=edit_form.cleaned_data))
            if ok:
                messages.success(request, _("Round saved. Compute it again to preview the shares."))
                return redirect("allocation:round", round_id)
    elif request.method == "POST":
        services.require_manage(request.user)
        services.round_update(actor=request.user, round_id=round_id, data={})  # 409: confirmed
    shares = selectors.share_list(actor=request.user, rnd=rnd)
    for share in shares:
        share.words = explain.share_lines(share)
    classes = []
    totals = selectors.round_totals(actor=request.user, rnd=rnd)
    if totals:
        for c in totals["summary"].get("classes", []):
            classes.append({**c, "label": TYPE_LABELS.get(c["class"], c["class"])})
    return render(request, "allocation/round_detail.html",
                  {"round": rnd, "shares": shares, "totals": totals, "classes": classes, "can_manage": can_manage,
                   "edit_form": edit_form, "type_labels": TYPE_LABELS,
                   "class_labels": [TYPE_LABELS.get(c, c) for c in rnd.class_order]}, status=status)


@page
@require_http_methods(["GET"])
def round_export(request, round_id: int):
    """The shares table of the page as CSV (UTF-8 with BOM, so Excel and WPS open the Chinese)."""
    import csv
    import io

    from django.http import HttpResponse

    from kehu.imports.exports import neutralise

    rnd = selectors.round_get(actor=request.user, round_id=round_id)
    shares = selectors.share_list(actor=request.user, rnd=rnd)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([_("Customer name"), _("Participant type"), _("Plan (t)"), _("Capacity (t)"), _("Review score"),
                     _("Plan completion rate"), _("Order regularity"), _("Weighted score"), _("Allocated (t)")])
    for s in shares:  # a customer name is user text: neutralised against formula injection like every export
        writer.writerow([neutralise(s.customer.name), s.get_participant_type_display(), s.plan_t,
                         "" if s.capacity_t is None else s.capacity_t,
                         "" if s.review_score is None else s.review_score,
                         "" if s.completion_rate is None else s.completion_rate,
                         "" if s.regularity is None else s.regularity, s.score, s.allocated_t])
    response = HttpResponse("\ufeff" + buf.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"allocation-{rnd.month:%Y-%m}-{rnd.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@page
@require_POST
def round_compute(request, round_id: int):
    services.round_compute(actor=request.user, round_id=round_id)
    messages.success(request, _("Shares computed. Check them, then confirm."))
    return redirect("allocation:round", round_id)


@page
@require_POST
def round_confirm(request, round_id: int):
    services.round_confirm(actor=request.user, round_id=round_id)
    messages.success(request, _("Allocation confirmed."))
    return redirect("allocation:round", round_id)


@page
@require_POST
def round_delete(request, round_id: int):
    services.round_delete(actor=request.user, round_id=round_id)
    messages.success(request, _("Draft round deleted."))
    return redirect("allocation:rounds")
