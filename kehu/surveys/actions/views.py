"""Survey report pages: the report of a survey (generate / regenerate at the analysis and report steps, the
figures with their ECharts charts and tables, the action plan), its printable page (A4) and XLSX export; the
action items I own (update the status, close with a note) and the follow-ups of detractors and low scores
(close with what was done). Parse → call a service/selector → render; a DomainError is its status."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kehu.errors import DomainError
from kehu.surveys import selectors as survey_selectors
from kehu.surveys.actions import present, selectors, services
from kehu.surveys.actions.api import XLSX
from kehu.surveys.actions.models import ItemStatus
from kehu.surveys.models import Dimension, Stage
from kehu.web import page

PAGE_SIZE = 50


def _errors(exc: DomainError) -> dict:
    return {"__all__": [exc.message], **exc.fields}


def _raise_if_access(exc: DomainError) -> None:
    if exc.status in (401, 403, 404):
        raise exc


def _post(request, success: str, apply) -> tuple[HttpResponse | None, dict]:
    """Run one POSTed change: on success a message and a redirect back to the same list (so a reload does not
    post again); on a refusal the errors to show on the page (4xx), access errors raised as such."""
    try:
        apply()
    except (DomainError, ValueError) as exc:
        if isinstance(exc, ValueError):
            exc = DomainError(_("Not valid."))
        _raise_if_access(exc)
        return None, _errors(exc)
    messages.success(request, success)
    return redirect(request.get_full_path()), {}


def _owners(actor):
    """Who may own an action: active users of the actor's scope (departments), for the select."""
    User = get_user_model()
    qs = User.objects.filter(is_active=True).order_by("department_id", "id")
    key = selectors.scope_key(actor)
    if key.startswith("subtree:"):
        qs = qs.filter(department_id__in=[int(x) for x in key[8:].split(",")])
    return qs[:300]


def _item_data(p) -> dict:
    return {
        "title": p.get("title", ""),
        "detail": p.get("detail", ""),
        "dimension": p.get("dimension", ""),
        "owner": p.get("owner") or None,
        "due_date": p.get("due_date", ""),
    }


def _report_or_live(actor, campaign_id: int):
    """The survey and its stored report; a report over a wider scope than the reader's is not shown (the
    reader gets the live figures of their own scope instead, and cannot overwrite it)."""
    from kehu.errors import NotFound

    try:
        c, stored = selectors.report_get(actor=actor, campaign_id=campaign_id)
        return c, stored, False
    except NotFound as exc:
        if exc.code != "report_out_of_scope":
            raise
        return survey_selectors.campaign_get(actor=actor, campaign_id=campaign_id), None, True


@page
@require_http_methods(["GET", "POST"])
def report(request, campaign_id: int):
    c, stored, wider = _report_or_live(request.user, campaign_id)
    errors, values = {}, {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "generate":
                services.report_generate(
                    actor=request.user, campaign_id=c.pk, summary=request.POST.get("summary")
                )
                messages.success(request, _("The report was generated."))
            elif action == "add_item":
                values = request.POST
                services.action_item_create(
                    actor=request.user, campaign_id=c.pk, data=_item_data(request.POST)
                )
                messages.success(request, _("The action was added to the plan."))
            elif action == "item_status":
                services.action_item_update(
                    actor=request.user,
                    item_id=int(request.POST.get("item") or 0),
                    data={
                        "status": request.POST.get("status") or None,
                        "closing_note": request.POST.get("closing_note"),
                    },
                )
                messages.success(request, _("The action was updated."))
            elif action == "delete_item":
                services.action_item_delete(actor=request.user, item_id=int(request.POST.get("item") or 0))
                messages.success(request, _("The action was deleted."))
            else:
                raise DomainError(_("Unknown action."))
            return redirect("survey_actions:report", c.pk)
        except (DomainError, ValueError) as exc:
            if isinstance(exc, ValueError):
                exc = DomainError(_("Not valid."))
            _raise_if_access(exc)
            errors = _errors(exc)
        c, stored, wider = _report_or_live(request.user, campaign_id)
    live = request.GET.get("live") == "1" or stored is None
    figures = selectors.analyse(actor=request.user, campaign=c) if live else stored.figures
    items = selectors.action_items_of(campaign=c)
    ctx = {
        "c": c,
        "report": stored,
        "live": live,
        "f": present.labelled(figures),
        "items": items,
        "errors": errors,
        "values": values,
        "can_generate": c.stage in selectors.REPORT_STAGES and not wider,
        "wider": wider,
        "can_plan": c.stage in services.ITEM_EDITABLE_STAGES,
        "owners": _owners(request.user) if c.stage in services.ITEM_EDITABLE_STAGES else [],
        "dimensions": Dimension.choices,
        "statuses": ItemStatus.choices,
        "today": timezone.localdate(),
        "follow_ups": selectors.follow_up_counts(actor=request.user, campaign_id=c.pk),
        "before_analysis": survey_selectors_stage_index(c.stage)
        < survey_selectors_stage_index(Stage.ANALYSIS),
        "chart_src": f"/api/v1/survey-reports/campaigns/{c.pk}/charts" + ("?live=true" if live else ""),
    }
    return render(request, "survey_actions/report.html", ctx, status=400 if errors else 200)


def survey_selectors_stage_index(stage: str) -> int:
    from kehu.surveys.rules import STAGES

    return STAGES.index(stage)


@page
def report_print(request, campaign_id: int):
    c, stored = selectors.report_get(actor=request.user, campaign_id=campaign_id)
    if stored is None:
        messages.info(request, _("Generate the report first."))
        return redirect("survey_actions:report", c.pk)
    items = selectors.action_items_of(campaign=c)
    return render(
        request,
        "survey_actions/report_print.html",
        {"c": c, "report": stored, "f": present.labelled(stored.figures), "items": items},
    )


@page
def report_export(request, campaign_id: int):
    c, stored = selectors.report_get(actor=request.user, campaign_id=campaign_id)
    if stored is None:
        messages.info(request, _("Generate the report first."))
        return redirect("survey_actions:report", c.pk)
    items = selectors.action_items_of(campaign=c)
    name, body = present.workbook(campaign=c, report=stored, items=items)
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@page
@require_http_methods(["GET", "POST"])
def my_actions(request):
    """The action items I own (and, for a survey manager, every open item of the surveys in scope)."""
    errors = {}
    if request.method == "POST":
        done, errors = _post(request, _("The action was updated."), lambda: services.action_item_update(
            actor=request.user,
            item_id=int(request.POST.get("item") or 0),
            data={"status": request.POST.get("status") or None, "closing_note": request.POST.get("closing_note")},
        ))
        if done:
            return done
    mine = request.GET.get("all") != "1" or not survey_selectors.can_manage(request.user)
    show = request.GET.get("show") or "open"
    page_ = selectors.action_item_list(
        actor=request.user,
        mine=mine,
        status=None if show == "all" else show,
        limit=PAGE_SIZE,
        cursor=request.GET.get("cursor"),
    )
    return render(
        request,
        "survey_actions/my_actions.html",
        {
            "items": page_.items,
            "next": page_.next,
            "mine": mine,
            "show": show,
            "errors": errors,
            "statuses": ItemStatus.choices,
            "today": timezone.localdate(),
            "can_manage": survey_selectors.can_manage(request.user),
        },
        status=400 if errors else 200,
    )


@page
@require_http_methods(["GET", "POST"])
def follow_ups(request):
    """Follow-ups of detractors and low scores: mine (the account manager's), or every one in my scope."""
    errors = {}
    if request.method == "POST":
        done, errors = _post(request, _("The follow-up was closed."), lambda: services.follow_up_close(
            actor=request.user,
            follow_up_id=int(request.POST.get("follow_up") or 0),
            note=request.POST.get("note", ""),
        ))
        if done:
            return done
    mine = request.GET.get("all") != "1"
    status = request.GET.get("status") or "open"
    campaign = request.GET.get("campaign")
    page_ = selectors.follow_up_list(
        actor=request.user,
        mine=mine,
        status=None if status == "all" else status,
        campaign_id=int(campaign) if campaign and campaign.isdigit() else None,
        limit=PAGE_SIZE,
        cursor=request.GET.get("cursor"),
    )
    return render(
        request,
        "survey_actions/follow_ups.html",
        {
            "items": page_.items,
            "next": page_.next,
            "mine": mine,
            "status": status,
            "errors": errors,
            "campaign": campaign or "",
        },
        status=400 if errors else 200,
    )
