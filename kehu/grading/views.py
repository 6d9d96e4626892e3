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
from kehu.grading import policies, selectors, services
from kehu.grading.forms import AsOfForm, ImportForm, PolicyForm, config_to_yaml
from kehu.grading.kinds import KINDS
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
    policy = selectors.policy_get(actor=request.user, policy_id=policy_id)
    return render(request, "grading/policy_detail.html", {
        "policy": policy, "config_yaml": config_to_yaml(policy.config), "as_of_form": AsOfForm(),
        "runs": list(selectors.run_list(actor=request.user, policy_id=policy.pk))})


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


@page
@require_http_methods(["GET"])
def customer_grades(request, customer_id: int):
    customer, grades, history = selectors.customer_grades(actor=request.user, customer_id=customer_id)
    return render(request, "grading/customer_grades.html", {
        "customer": customer, "grades": grades, "history": history})


@page
@require_http_methods(["GET"])
def movements(request):
    rows = selectors.movement_summary(actor=request.user, policy_name=request.GET.get("policy") or None)
    return render(request, "grading/movements.html", {
        "rows": rows, "can_manage_grading": request.user.has_kehu_perm(Perm.GRADING_MANAGE)})
