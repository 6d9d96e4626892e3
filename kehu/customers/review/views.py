"""Pages of the periodic review: runs with progress per department, my items as phone-friendly cards
(htmx resolve buttons), and the reassignment form with a preview before the commit."""

from __future__ import annotations

import hashlib
import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.access.roles import Perm
from kehu.customers.review import reassign, selectors, services
from kehu.customers.review.forms import ReassignForm, ResolveForm, RunForm
from kehu.customers.review.models import ItemState
from kehu.customers.review.rules import field_labels
from kehu.errors import DomainError, Forbidden
from kehu.web import form_errors_from, is_htmx, page, render_page

PAGE_SIZE = 30


def _require(request, *perms: str) -> None:
    if not all(request.user.has_kehu_perm(p) for p in perms):
        raise Forbidden(_("You are not allowed to do this."))


def _decorate(items, today):
    for item in items:
        item.overdue = item.state == ItemState.OPEN and item.due_date < today
        item.missing_labels = field_labels(item.details.get("missing", []))
        item.invalid_labels = field_labels(item.details.get("invalid", []))
    return items


@page
@require_http_methods(["GET", "POST"])
def run_list(request):
    _require(request, Perm.REVIEW_MANAGE)
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.review_run_start(actor=request.user, **{k: v for k, v in form.cleaned_data.items()
                                                                   if v not in (None, "") or k == "note"})
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            form_errors_from(form, exc)
        else:
            messages.success(request, _("The review run was started; items appear as the scan proceeds."))
            return redirect("review:run", run_id=run.pk)
    result = selectors.review_run_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "review/runs.html", {"form": form, "runs": result.items, "next": result.next})


@page
@require_http_methods(["GET"])
def run_detail(request, run_id: int):
    run = selectors.review_run_get(actor=request.user, run_id=run_id)
    progress = selectors.review_run_progress(actor=request.user, run=run)
    context = {"run": run, "progress": progress}
    return render_page(request, "review/run_detail.html", "review/_run_progress.html", context)


@page
@require_http_methods(["GET"])
def my_items(request):
    state = request.GET.get("state") or ItemState.OPEN
    if state not in ItemState.values:
        state = ItemState.OPEN
    result = selectors.review_item_list(actor=request.user, assignee="me", state=state, limit=PAGE_SIZE,
                                        cursor=request.GET.get("cursor") or None)
    today = timezone.localdate()
    context = {"items": _decorate(result.items, today), "next": result.next, "state": state,
               "states": ItemState.choices, "today": today}
    return render_page(request, "review/mine.html", "review/_item_cards.html", context)


@page
@require_POST
def item_resolve(request, item_id: int):
    form = ResolveForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.review_item_resolve(actor=request.user, item_id=item_id, state=form.cleaned_data["state"],
                                         note=form.cleaned_data["note"])
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            error = exc.message
    else:
        error = _("Choose confirmed, fixed or not applicable.")
    item = selectors.review_item_get(actor=request.user, item_id=item_id)
    _decorate([item], timezone.localdate())
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect("review:mine")
    # 200 even with a refusal: htmx swaps only 2xx answers, and the card carries the message.
    return render(request, "review/_item_card.html", {"item": item, "error": error})


@page
@require_http_methods(["GET", "POST"])
def reassign_page(request):
    _require(request, Perm.CUSTOMER_ASSIGN, Perm.REVIEW_MANAGE)
    users = list(selectors.reassign_user_choices(actor=request.user))
    form = ReassignForm(request.POST or None, users=users)
    preview = plan_key = None
    if request.method == "POST" and form.is_valid():
        args = form.service_args()
        try:
            if request.POST.get("confirm") == "1":
                # Only the plan that was previewed may be confirmed: a receiver, filter or strategy changed
                # after the preview gets a fresh preview instead of a move nobody has seen.
                if request.POST.get("plan") == _plan_key(args):
                    out = reassign.reassignment_commit(actor=request.user, **args)
                    messages.success(request, _("%(n)d customers were moved.") % {"n": out["moved"]})
                    return redirect(reverse("review:reassign"))
                messages.warning(request, _("The choices changed after the preview. Check the new preview, "
                                            "then confirm."))
            preview = reassign.reassignment_preview(actor=request.user, **args)
            plan_key = _plan_key({**args, "seed": preview.get("seed")})
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            form_errors_from(form, exc, field_map={"targets": "targets", "strategy": "strategy"})
    status = 422 if request.method == "POST" and form.errors else 200
    return render(request, "review/reassign.html", {"form": form, "preview": preview, "plan_key": plan_key},
                  status=status)


def _plan_key(args: dict) -> str:
    """A fingerprint of what a reassignment preview showed (who, to whom, how, which draw, which filter)."""
    canon = {**args, "target_ids": sorted(args["target_ids"])}
    return hashlib.sha256(json.dumps(canon, sort_keys=True, default=str).encode()).hexdigest()[:32]
