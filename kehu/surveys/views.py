"""Survey pages: the survey list (plan a survey), a survey with its procedure records, response rate, target
list and the form of its next step; the questionnaires and their editor (questions by dimension, versions,
review); the agent's interviews and entry form (phone / face to face); and the public response page of a
personal link (no login, phone-first, plain HTML) with its thank-you page and clear refusals. Parse → call
a service/selector → render; the same permissions as the API (a DomainError is its status)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kehu.errors import Conflict, DomainError
from kehu.surveys import rules, selectors, services
from kehu.surveys.models import Channel, Dimension, QuestionKind, QuestionnaireStatus, Stage
from kehu.web import page

PAGE_SIZE = 50


def _errors(exc: DomainError) -> dict:
    return {"__all__": [exc.message], **exc.fields}


def _raise_if_access(exc: DomainError) -> None:
    if exc.status in (401, 403, 404):
        raise exc


# ---------------------------------------------------------------- questions as a form

def question_blocks(questionnaire, *, form=None, errors=None) -> list[dict]:
    """The questionnaire's questions, grouped in sections by dimension (in the order they first appear),
    each with what its widget needs and the values already given."""
    form, errors = form or {}, errors or {}
    sections: dict[str, dict] = {}
    for q in questionnaire.questions.order_by("position"):
        name = f"q{q.pk}"
        given = form.get(name) or []
        block = {"q": q, "name": name, "given": given, "error": (errors.get(name) or [None])[0]}
        if q.kind in rules.SCALES and q.kind != "matrix":
            block["scale"] = [str(v) for v in rules.SCALES[q.kind]]
        elif q.kind in rules.CHOICE_KINDS:
            block["options"] = [{"value": str(o.get("value")), "label": o.get("label") or o.get("value")}
                                for o in q.options]
        elif q.kind == "matrix":
            block["scale"] = [str(v) for v in rules.SCALES["matrix"]]
            block["rows"] = [{"value": str(o.get("value")), "label": o.get("label") or o.get("value"),
                              "name": f"{name}__{o.get('value')}", "given": (form.get(f"{name}__{o.get('value')}") or [""])[0]}
                             for o in q.options]
        section = sections.setdefault(q.dimension, {"label": Dimension(q.dimension).label, "blocks": []})
        section["blocks"].append(block)
    return list(sections.values())


def _form_of(request) -> dict[str, list[str]]:
    return {k: request.POST.getlist(k) for k in request.POST if k.startswith("q")}


# ---------------------------------------------------------------- surveys

@page
@require_http_methods(["GET", "POST"])
def campaign_list(request):
    if not selectors.can_manage(request.user) and selectors.can_enter(request.user):
        return redirect("surveys:interviews")
    selectors.require_manage(request.user)
    errors, values = {}, {}
    if request.method == "POST":
        values = request.POST
        try:
            c = services.campaign_create(actor=request.user, name=request.POST.get("name", ""),
                                         plan=request.POST.get("plan", ""),
                                         previous_id=request.POST.get("previous") or None)
            messages.success(request, _("Survey planned."))
            return redirect("surveys:campaign", c.pk)
        except DomainError as exc:
            _raise_if_access(exc)
            errors = _errors(exc)
    page_ = selectors.campaign_list(actor=request.user, stage=request.GET.get("stage") or None, limit=PAGE_SIZE,
                                    cursor=request.GET.get("cursor"))
    items = [{"c": c, "rate": rules.response_rate(c.n_responded, c.n_invited)} for c in page_.items]
    return render(request, "surveys/campaign_list.html", {
        "items": items, "next": page_.next, "errors": errors, "values": values, "stages": Stage.choices,
        "stage": request.GET.get("stage") or ""}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def campaign_detail(request, campaign_id: int):
    c = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    errors, link = {}, None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "link":
                inv, token = services.invitation_link_issue(actor=request.user,
                                                            invitation_id=int(request.POST.get("invitation") or 0))
                link = {"customer": inv.customer.name, "url": request.build_absolute_uri(services.response_path(token)),
                        "expires_at": inv.expires_at}
            else:
                p = request.POST
                segment = {"grades": p.getlist("grades"), "industries": p.getlist("industries"),
                           "provinces": p.getlist("provinces"), "owners": p.getlist("owners"),
                           "complaint_days": p.get("complaint_days") or None}
                services.campaign_advance(actor=request.user, campaign_id=c.pk, to=p.get("to", ""),
                                          note=p.get("note", ""), segment=segment, channel=p.get("channel") or None,
                                          questionnaire_id=p.get("questionnaire") or None,
                                          closes_on=dt.date.fromisoformat(p["closes_on"]) if p.get("closes_on")
                                          else None)
                messages.success(request, _("The survey moved to its next step."))
                return redirect("surveys:campaign", c.pk)
        except (DomainError, ValueError) as exc:
            if isinstance(exc, ValueError):
                exc = DomainError(_("Not valid."))
            _raise_if_access(exc)
            errors = _errors(exc)
        c = selectors.campaign_get(actor=request.user, campaign_id=campaign_id)
    nxt = rules.next_stage(c.stage) if c.stage != Stage.CLOSED else None
    invitations = selectors.invitation_list(actor=request.user, campaign_id=c.pk, limit=PAGE_SIZE,
                                            cursor=request.GET.get("cursor"))
    ctx = {
        "c": c, "rates": selectors.campaign_rates(campaign=c), "steps": selectors.campaign_steps(campaign=c),
        "next_stage": nxt, "next_label": Stage(nxt).label if nxt else "", "can_return": c.stage == Stage.REVIEW,
        "invitations": invitations.items, "next": invitations.next, "errors": errors, "link": link,
        "stage_index": rules.STAGES.index(c.stage), "stages": [(i, v, lbl) for i, (v, lbl) in enumerate(Stage.choices)],
        "channels": Channel.choices, "questionnaires": selectors.approved_questionnaires()[:50]
        if c.stage in (Stage.EXPECTATIONS, Stage.DRAFTING) else [],
        "draft_questionnaires": [], "options": selectors.segment_options(actor=request.user) if nxt == Stage.TARGETING else {},
    }
    if c.stage in (Stage.EXPECTATIONS, Stage.DRAFTING):
        from kehu.surveys.models import Questionnaire

        ctx["questionnaires"] = Questionnaire.objects.exclude(status=QuestionnaireStatus.RETIRED).order_by("title",
                                                                                                         "-version")[:50]
    return render(request, "surveys/campaign_detail.html", ctx, status=400 if errors else 200)


@page
@require_http_methods(["POST"])
def links_export(request, campaign_id: int):
    """The personal links not given out yet, as a CSV (UTF-8 with a BOM, formula-safe), issued once."""
    import csv
    import io

    rows = services.invitation_links_issue(actor=request.user, campaign_id=campaign_id,
                                           base_url=request.build_absolute_uri("/").rstrip("/"))
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([_("Customer"), _("Contact"), _("Account manager"), _("Personal link"), _("Valid until")])
    for r in rows:
        writer.writerow([_safe(r[k]) for k in ("customer", "contact", "owner", "url", "expires_at")])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{campaign_id}-links.csv"'
    return response


def _safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


# ---------------------------------------------------------------- questionnaires

@page
@require_http_methods(["GET", "POST"])
def questionnaire_list(request):
    selectors.require_manage(request.user)
    errors = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "default":
                q = services.questionnaire_default_create(actor=request.user)
            else:
                q = services.questionnaire_create(actor=request.user, title=request.POST.get("title", ""),
                                                  introduction=request.POST.get("introduction", ""))
            return redirect("surveys:questionnaire", q.pk)
        except DomainError as exc:
            _raise_if_access(exc)
            errors = _errors(exc)
    page_ = selectors.questionnaire_list(actor=request.user, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "surveys/questionnaire_list.html", {"items": page_.items, "next": page_.next,
                                                               "errors": errors}, status=400 if errors else 200)


@page
@require_http_methods(["GET", "POST"])
def questionnaire_detail(request, questionnaire_id: int):
    q = selectors.questionnaire_get(actor=request.user, questionnaire_id=questionnaire_id)
    errors = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "add":
                p = request.POST
                question = services.question_add(actor=request.user, questionnaire_id=q.pk, data={
                    "dimension": p.get("dimension"), "kind": p.get("kind"), "text": p.get("text", ""),
                    "options": p.get("options", ""), "required": p.get("required") == "on"})
                target = question.questionnaire_id
            elif action == "remove":
                target = services.question_remove(actor=request.user, questionnaire_id=q.pk,
                                                  question_id=int(request.POST.get("question") or 0)).pk
            elif action == "submit":
                services.questionnaire_submit(actor=request.user, questionnaire_id=q.pk)
                messages.success(request, _("Sent for review and approval."))
                target = q.pk
            elif action == "version":
                target = services.questionnaire_new_version(actor=request.user, questionnaire_id=q.pk).pk
            else:
                raise DomainError(_("Unknown action."))
            if target != q.pk:
                messages.info(request, _("The questionnaire was approved; your change went into a new version."))
            return redirect("surveys:questionnaire", target)
        except DomainError as exc:
            _raise_if_access(exc)
            errors = _errors(exc)
    return render(request, "surveys/questionnaire_detail.html", {
        "q": q, "sections": question_blocks(q), "errors": errors, "dimensions": Dimension.choices,
        "kinds": QuestionKind.choices, "editable": q.status == QuestionnaireStatus.DRAFT,
        "versions": q.__class__.objects.filter(title=q.title).order_by("-version")}, status=400 if errors else 200)


# ---------------------------------------------------------------- agents

@page
def interview_list(request):
    selectors.require_enter(request.user)
    mine = request.GET.get("all") != "1"
    page_ = selectors.interview_list(actor=request.user, mine=mine, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
    return render(request, "surveys/interview_list.html", {
        "items": page_.items, "next": page_.next, "mine": mine,
        "campaigns": selectors.fieldwork_campaigns_for_entry(actor=request.user)[:20]})


@page
@require_http_methods(["GET", "POST"])
def entry_form(request, campaign_id: int, customer_id: int):
    inv = selectors.interview_get(actor=request.user, campaign_id=campaign_id, customer_id=customer_id)
    if inv.campaign.stage != Stage.FIELDWORK:
        raise Conflict(_("This survey is not in fieldwork."), code="survey_not_in_fieldwork")
    errors, form = {}, {}
    if request.method == "POST":
        form = _form_of(request)
        try:
            services.response_enter(actor=request.user, campaign_id=campaign_id, customer_id=customer_id,
                                    channel=request.POST.get("channel", ""), form=form)
            messages.success(request, _("The answers were saved."))
            return redirect("surveys:interviews")
        except DomainError as exc:
            _raise_if_access(exc)
            errors = _errors(exc)
    return render(request, "surveys/entry_form.html", {
        "inv": inv, "sections": question_blocks(inv.campaign.questionnaire, form=form, errors=errors),
        "errors": errors, "channel": request.POST.get("channel") or (inv.channel if inv.channel in ("phone", "face")
                                                                     else "phone")},
        status=400 if errors else 200)


# ---------------------------------------------------------------- the public response page

def _refusal(request, exc: DomainError) -> HttpResponse:
    return render(request, "surveys/public_refused.html", {"code": exc.code, "message": exc.message},
                  status=exc.status)


@never_cache
@require_http_methods(["GET", "POST"])
def respond(request, token: str):
    """The customer's questionnaire behind a personal link: no login, one response per link."""
    errors, form = {}, {}
    try:
        inv = services.link_open(token)
    except DomainError as exc:
        return _refusal(request, exc)
    if request.method == "POST":
        form = _form_of(request)
        try:
            services.response_submit(token=token, form=form)
            return redirect("surveys:thanks")
        except DomainError as exc:
            if exc.code != "answers_invalid":
                return _refusal(request, exc)
            errors = {**exc.fields, "__all__": [exc.message]}
    questionnaire = inv.campaign.questionnaire
    return render(request, "surveys/public_respond.html", {
        "inv": inv, "questionnaire": questionnaire, "errors": errors,
        "sections": question_blocks(questionnaire, form=form, errors=errors)}, status=400 if errors else 200)


def thanks(request):
    return render(request, "surveys/public_thanks.html")
