"""Grading pages: policies (list, edit, export, import). Parse → call a service/selector → render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.roles import Perm
from kehu.errors import NotFound
from kehu.grading import policies, selectors, services
from kehu.grading.forms import (
    AsOfForm,
    HandScoresForm,
    ImportForm,
    OverrideForm,
    PolicyForm,
    RenewForm,
    ScheduleForm,
    ServicePolicyForm,
    config_to_yaml,
    dimension_label,
)
from kehu.grading.kinds import KINDS, ConfigError
from kehu.web import form_submit, page


def _policy_kwargs(form: PolicyForm) -> dict:
    data = form.cleaned_data
    return {"name": data["name"], "kind": data["kind"], "config": data["config_yaml"],
            "description": data["description"], "active_from": data["active_from"]}


def _form_with_config_errors(form: PolicyForm, write):
    """form_submit, with each ``config.<part>`` error shown under the YAML field as ``<part>: message``."""
    from kehu.errors import DomainError

    if not form.is_valid():
        return False, None, 400
    try:
        return True, write(), 200
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        for key, messages in exc.fields.items():
            for message in messages:
                if key.startswith("config"):
                    part = key.removeprefix("config").lstrip(".")
                    form.add_error("config_yaml", f"{part}: {message}" if part else message)
                elif key in form.fields:
                    form.add_error(key, message)
                else:
                    form.add_error(None, message)
        return False, None, exc.status


@page
@require_http_methods(["GET"])
def policy_list(request):
    versions = list(selectors.policy_list(actor=request.user))
    return render(request, "grading/policy_list.html", {"versions": versions, "import_form": ImportForm()})


@page
@require_http_methods(["GET", "POST"])
def policy_new(request):
    services.require_manage(request.user)
    kind = request.GET.get("kind") if request.GET.get("kind") in KINDS else "threshold"
    if request.method == "POST":
        form = PolicyForm(request.POST)
        ok, policy, status = _form_with_config_errors(
            form, lambda: services.policy_create(actor=request.user, **_policy_kwargs(form)))
        if ok:
            return redirect("grading:policy_detail", policy.pk)
    else:
        form = PolicyForm(initial={"kind": kind, "config_yaml": config_to_yaml(KINDS[kind].DEFAULT_CONFIG)})
        status = 200
    examples = {name: config_to_yaml(k.DEFAULT_CONFIG) for name, k in KINDS.items()}
    return render(request, "grading/policy_form.html", {"form": form, "policy": None, "examples": examples},
                  status=status)


@page
@require_http_methods(["GET", "POST"])
def policy_edit(request, policy_id: int):
    policy = selectors.policy_get(actor=request.user, policy_id=policy_id)
    if request.method == "POST":
        form = PolicyForm(request.POST)
        ok, policy_saved, status = _form_with_config_errors(
            form, lambda: services.policy_update(actor=request.user, policy_id=policy.pk, **_policy_kwargs(form)))
        if ok:
            return redirect("grading:policy_detail", policy.pk)
    else:
        form = PolicyForm(initial={"name": policy.name, "kind": policy.kind, "description": policy.description,
                                   "active_from": policy.active_from, "config_yaml": config_to_yaml(policy.config)})
        status = 200
    examples = {name: config_to_yaml(k.DEFAULT_CONFIG) for name, k in KINDS.items()}
    return render(request, "grading/policy_form.html", {"form": form, "policy": policy, "examples": examples},
                  status=status)


@page
@require_http_methods(["GET"])
def policy_detail(request, policy_id: int):
    return _detail(request, policy_id)


def _detail(request, policy_id: int, *, schedule_form=None, status: int = 200):
    policy = selectors.policy_get(actor=request.user, policy_id=policy_id)
    return render(request, "grading/policy_detail.html", {
        "policy": policy, "config_yaml": config_to_yaml(policy.config), "as_of_form": AsOfForm(),
        "schedule_form": schedule_form or ScheduleForm(),
        "runs": list(selectors.run_list(actor=request.user, policy_id=policy.pk))}, status=status)


@page
@require_POST
def policy_schedule(request, policy_id: int):
    """Activate a draft at a later date (activation.py); a bad date shows on the form."""
    from kehu.grading import activation

    services.require_manage(request.user)
    form = ScheduleForm(request.POST)
    ok, policy, status = form_submit(form, lambda: activation.policy_schedule(
        actor=request.user, policy_id=policy_id, active_from=form.cleaned_data["active_from"]))
    if ok:
        messages.success(request, _("Scheduled: this version takes effect on %(day)s.") % {
            "day": policy.active_from.isoformat()})
        return redirect("grading:policy_detail", policy_id)
    return _detail(request, policy_id, schedule_form=form, status=status)


@page
@require_POST
def policy_unschedule(request, policy_id: int):
    from kehu.grading import activation

    activation.policy_unschedule(actor=request.user, policy_id=policy_id)
    messages.success(request, _("The schedule is cancelled; the version is a draft again."))
    return redirect("grading:policy_detail", policy_id)


@page
@require_http_methods(["GET"])
def policy_export(request, policy_id: int):
    policy = selectors.policy_get(actor=request.user, policy_id=policy_id)
    response = HttpResponse(policies.policy_to_yaml(policy), content_type="application/x-yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="grading-policy-{policy.pk}-v{policy.version}.yaml"'
    return response


@page
@require_POST
def policy_import(request):
    services.require_manage(request.user)
    form = ImportForm(request.POST)
    ok, policy, status = form_submit(
        form, lambda: services.policy_import_yaml(actor=request.user, text=form.cleaned_data["yaml_text"]),
        field_map={"yaml": "yaml_text"})
    if ok:
        return redirect("grading:policy_detail", policy.pk)
    versions = list(selectors.policy_list(actor=request.user))
    return render(request, "grading/policy_list.html", {"versions": versions, "import_form": form}, status=status)


@page
@require_POST
def policy_retire(request, policy_id: int):
    services.policy_retire(actor=request.user, policy_id=policy_id)
    return redirect(reverse("grading:policy_detail", args=[policy_id]))


def _as_of(request) -> dt.date | None:
    form = AsOfForm(request.POST or request.GET or None)
    if form.is_bound and form.is_valid():
        return form.cleaned_data["as_of"]
    return None


@page
@require_http_methods(["GET", "POST"])
def policy_preview(request, policy_id: int):
    """Preview: how many customers would move from which grade to which (writes nothing)."""
    policy = selectors.policy_get(actor=request.user, policy_id=policy_id)
    preview = services.run_preview(actor=request.user, policy_id=policy.pk, as_of=_as_of(request))
    return render(request, "grading/policy_preview.html", {
        "policy": policy, "preview": preview, "as_of_form": AsOfForm(initial={"as_of": preview["as_of"]})})


def _start(request, run):
    from kehu.grading.tasks import grading_run_task

    transaction.on_commit(lambda: grading_run_task(run.pk))


@page
@require_POST
def policy_activate(request, policy_id: int):
    with transaction.atomic():
        run = services.policy_activate_and_run(actor=request.user, policy_id=policy_id, as_of=_as_of(request))
        _start(request, run)
    messages.success(request, _("The policy is active; its first run grades every customer."))
    return redirect("grading:policy_detail", policy_id)


@page
@require_POST
def policy_run(request, policy_id: int):
    with transaction.atomic():
        run = services.run_start(actor=request.user, policy_id=policy_id, as_of=_as_of(request))
        _start(request, run)
    messages.success(request, _("A regrading run has started."))
    return redirect("grading:policy_detail", policy_id)


def _levels(policy) -> list[str]:
    kind = KINDS.get(policy.kind)
    try:
        return kind.levels(kind.validate(policy.config)) if kind else []
    except ConfigError:
        return []


def _customer_page(request, customer_id: int, *, scores_form=None, bound: dict | None = None, status: int = 200):
    """The customer's grading page: its grades (override / renewal forms), hand scores and history."""
    customer, grades, history = selectors.customer_grades(actor=request.user, customer_id=customer_id)
    _c, dims, retired, score_history = selectors.customer_hand_scores(actor=request.user, customer_id=customer.pk)
    can_write = request.user.has_kehu_perm(Perm.CUSTOMER_WRITE)
    bound = bound or {}
    cards = []
    pending = selectors.pending_override_requests(grades)
    for g in grades:
        levels = _levels(g.policy)
        override_form = bound.get(("override", g.policy_name)) or OverrideForm(
            levels=[lv for lv in levels if lv != g.grade], initial={"policy_name": g.policy_name},
            prefix=f"o{g.pk}")
        renew_form = bound.get(("renew", g.policy_name)) or RenewForm(initial={"policy_name": g.policy_name},
                                                                      prefix=f"r{g.pk}")
        cards.append({"g": g, "expiry": services.override_expiry(g), "override_form": override_form,
                      "pending": pending.get(g.pk),
                      "renew_form": renew_form, "kept": (g.explanation or {}).get("kept_override")})
    if scores_form is None and dims:
        scores_form = HandScoresForm(dimensions=dims)
        if not can_write:
            for f in scores_form.fields.values():
                f.disabled = True
    return render(request, "grading/customer_grades.html", {
        "customer": customer, "grades": grades, "cards": cards, "history": history, "can_write": can_write,
        "scores_form": scores_form, "retired_scores": [(dimension_label(s.dimension), s) for s in retired],
        "score_history": [(dimension_label(e.changes.get("dimension", "")), e) for e in score_history],
        "schedule_months": services.schedule_months()}, status=status)


@page
@require_http_methods(["GET"])
def customer_grades(request, customer_id: int):
    return _customer_page(request, customer_id)


@page
@require_POST
def customer_scores(request, customer_id: int):
    """Save the hand scores that changed (each one audited); all or none."""
    _c, dims, _r, _h = selectors.customer_hand_scores(actor=request.user, customer_id=customer_id)
    form = HandScoresForm(request.POST, dimensions=dims)

    def write():
        with transaction.atomic():
            changes = form.changes()
            for key, score, note in changes:
                services.hand_score_set(actor=request.user, customer_id=customer_id, dimension=key, score=score,
                                        note=note)
            return len(changes)

    ok, count, status = form_submit(form, write)
    if ok:
        messages.success(request, _("%(count)d scores saved.") % {"count": count} if count
                         else _("No score changed."))
        return redirect(reverse("grading:customer_grades", args=[customer_id]) + "#hand-scores")
    return _customer_page(request, customer_id, scores_form=form, status=status)


def _grade_form(request, customer_id: int, action: str):
    """The override (or renewal) form of one of the customer's grades, bound to the POST."""
    customer, grades, _h = selectors.customer_grades(actor=request.user, customer_id=customer_id)
    by_name = {g.policy_name: g for g in grades}
    prefix_key = "o" if action == "override" else "r"
    row = next((g for g in grades if f"{prefix_key}{g.pk}-policy_name" in request.POST), None)
    if row is None or by_name.get(request.POST.get(f"{prefix_key}{row.pk}-policy_name")) is None:
        raise NotFound(_("This customer has no grade under this policy yet."))
    if action == "override":
        return row, OverrideForm(request.POST, levels=_levels(row.policy), prefix=f"o{row.pk}")
    return row, RenewForm(request.POST, prefix=f"r{row.pk}")


@page
@require_POST
def customer_override(request, customer_id: int):
    row, form = _grade_form(request, customer_id, "override")
    ok, req, status = form_submit(form, lambda: services.override_request(
        actor=request.user, customer_id=customer_id, policy_name=row.policy_name,
        grade=form.cleaned_data["grade"], reason=form.cleaned_data["reason"]))
    if ok:
        messages.success(request, _("The override was sent for approval."))
        return redirect("grading:customer_grades", customer_id)
    return _customer_page(request, customer_id, bound={("override", row.policy_name): form}, status=status)


@page
@require_POST
def customer_renew(request, customer_id: int):
    row, form = _grade_form(request, customer_id, "renew")
    ok, req, status = form_submit(form, lambda: services.override_renew_request(
        actor=request.user, customer_id=customer_id, policy_name=row.policy_name,
        reason=form.cleaned_data["reason"]))
    if ok:
        messages.success(request, _("The renewal was sent for approval."))
        return redirect("grading:customer_grades", customer_id)
    return _customer_page(request, customer_id, bound={("renew", row.policy_name): form}, status=status)


@page
@require_http_methods(["GET"])
def service_policies(request):
    """Every active policy's grades with what each earns (GRADING_MANAGE)."""
    table, orphans = selectors.service_policy_table(actor=request.user)
    return render(request, "grading/service_policies.html", {"table": table, "orphans": orphans,
                                                              "can_manage_grading": True})


SERVICE_FIELDS = ("dedicated_manager", "complaint_sla_working_days", "service_request_sla_working_days",
                  "inspection_cycle_days", "visit_every_days", "response_priority", "resource_priority")


@page
@require_http_methods(["GET", "POST"])
def service_policy_edit(request):
    """Set what one grade of an active policy earns (?policy=…&grade=…)."""
    table, _orphans = selectors.service_policy_table(actor=request.user)
    name, grade = request.GET.get("policy", ""), request.GET.get("grade", "")
    found = next(((t["policy"], row) for t in table if t["policy"].name == name for row in t["grades"]
                  if row["grade"] == grade), None)
    if found is None:
        raise NotFound(_("No active policy has this grade."))
    policy, current = found[0], found[1]["service"]
    if request.method == "POST":
        form = ServicePolicyForm(request.POST)
        ok, _row, status = form_submit(form, lambda: services.service_policy_set(
            actor=request.user, policy_name=name, grade=grade, **{k: form.cleaned_data[k] for k in SERVICE_FIELDS}))
        if ok:
            messages.success(request, _("The service policy of %(grade)s was saved.") % {"grade": grade})
            return redirect(reverse("grading:service_policies") + f"#policy-{policy.pk}")
    else:
        form = ServicePolicyForm(initial={k: getattr(current, k) for k in SERVICE_FIELDS} if current else None)
        status = 200
    return render(request, "grading/service_policy_form.html", {
        "form": form, "policy": policy, "grade": grade, "current": current}, status=status)


@page
@require_POST
def service_policy_delete(request, service_policy_id: int):
    services.service_policy_delete(actor=request.user, service_policy_id=service_policy_id)
    messages.success(request, _("The service policy was removed; the company defaults apply."))
    return redirect("grading:service_policies")


@page
@require_http_methods(["GET"])
def movements(request):
    """Up / down / new / lost per review date, policy and department, in the user's scope; filtered by
    ``policy`` and by the review date ``as_of`` (YYYY-MM-DD; an unreadable date is ignored)."""
    try:
        as_of = dt.date.fromisoformat((request.GET.get("as_of") or "").strip()) if request.GET.get("as_of") else None
    except ValueError:
        as_of = None
    policy = (request.GET.get("policy") or "").strip()[:100] or None
    rows = selectors.movement_summary(actor=request.user, policy_name=policy, as_of=as_of)
    return render(request, "grading/movements.html", {
        "rows": rows, "as_of": as_of, "policy": policy or "",
        "can_manage_grading": request.user.has_kehu_perm(Perm.GRADING_MANAGE)})
