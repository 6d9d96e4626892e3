"""Every write of the survey's analysis and action: generating the report (a stored snapshot of the figures,
regenerable at the analysis and report steps), the action plan's items (create, change, close with a note,
delete while the plan is being written), the follow-ups that detractors and low scores create for the
account manager (with the response, in its transaction, once per response) and their closing, and the
keywords of a free-text answer. Each function takes the acting user first, runs in one transaction and
writes its audit entry in it."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.services import audit_record
from kehu.errors import Conflict, Forbidden, Invalid, from_django_validation
from kehu.surveys import selectors as survey_selectors
from kehu.surveys.actions import figures as fx
from kehu.surveys.actions import selectors
from kehu.surveys.actions.models import (
    CLOSED_STATUSES,
    ActionItem,
    AnswerTerm,
    FollowUp,
    FollowUpReason,
    FollowUpStatus,
    ItemStatus,
    ResponseScore,
    SurveyReport,
)
from kehu.surveys.models import Question, Stage

ITEM_EDITABLE_STAGES = (Stage.ANALYSIS, Stage.REPORT, Stage.REEVALUATION)


def _clean(obj) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from exc


# ---------------------------------------------------------------- the report


@transaction.atomic
def report_generate(*, actor, campaign_id: int, summary: str | None = None) -> SurveyReport:
    """Compute the survey's figures over the customers in the actor's scope and store them as its report
    (again, replacing the earlier snapshot, while the survey is at its analysis or report step)."""
    survey_selectors.require_manage(actor)
    c = survey_selectors.campaign_get(actor=actor, campaign_id=campaign_id, for_update=True)
    if c.stage not in selectors.REPORT_STAGES:
        if c.stage in (Stage.REEVALUATION, Stage.CLOSED):
            raise Conflict(
                _("The report is final once the survey has passed its report step."),
                code="survey_report_frozen",
            )
        raise Conflict(
            _("The report is generated at the analysis step, after the fieldwork."),
            code="survey_not_in_analysis",
        )
    backfill(campaign=c)
    figures = selectors.analyse(actor=actor, campaign=c)
    now = timezone.now()
    report = SurveyReport.objects.select_for_update().filter(campaign=c).first()
    if report is None:
        report = SurveyReport(campaign=c, generations=0)
    report.figures, report.scope_key = figures, figures["scope"]
    report.generated_at, report.generated_by, report.generations = now, actor, report.generations + 1
    if summary is not None:
        report.summary = summary.strip()[:20000]
    report.save()
    nps = (figures.get("nps") or {}).get("nps")
    audit_record(
        actor=actor,
        action="survey.report_generate",
        obj=c,
        changes={
            "report": report.pk,
            "responses": figures["responded"],
            "nps": nps,
            "csat": figures["overall"]["top_box_pct"],
            "scope": report.scope_key,
            "generation": report.generations,
        },
    )
    return report


def report_required(campaign, to: str) -> None:
    """The procedure's gates of this app (called by campaign_advance): moving to the report step needs a
    generated report; moving past it needs an action plan of at least one item."""
    if to == Stage.REPORT and not SurveyReport.objects.filter(campaign_id=campaign.pk).exists():
        raise Conflict(
            _("Generate the survey report before moving to the report step."), code="survey_report_missing"
        )
    if (
        to == Stage.REEVALUATION
        and not ActionItem.objects.filter(campaign_id=campaign.pk)
        .exclude(status=ItemStatus.CANCELLED)
        .exists()
    ):
        raise Conflict(
            _("Write the action plan (at least one item) before moving past the report step."),
            code="survey_action_plan_missing",
        )


# ---------------------------------------------------------------- action items


def _owner(owner_id) -> object:
    User = get_user_model()
    try:
        owner = User.objects.filter(pk=int(owner_id), is_active=True).first()
    except (TypeError, ValueError):
        owner = None
    if owner is None:
        raise Invalid(_("Choose who owns this action."), fields={"owner": [_("Unknown user.")]})
    return owner


def _due(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or ""))
    except ValueError:
        raise Invalid(
            _("Give the due date."), fields={"due_date": [_("A date is expected (YYYY-MM-DD).")]}
        ) from None


@transaction.atomic
def action_item_create(*, actor, campaign_id: int, data: dict) -> ActionItem:
    """An item of the survey's action plan (what, owner, due date), written at the analysis, report or
    re-evaluation step."""
    survey_selectors.require_manage(actor)
    c = survey_selectors.campaign_get(actor=actor, campaign_id=campaign_id, for_update=True)
    if c.stage not in ITEM_EDITABLE_STAGES:
        raise Conflict(
            _("The action plan is written after the fieldwork, at the analysis or report step."),
            code="survey_not_in_analysis",
        )
    title = str(data.get("title") or "").strip()
    if not title:
        raise Invalid(_("Say what is to be done."), fields={"title": [_("Required.")]})
    due = _due(data.get("due_date"))
    item = ActionItem(
        campaign=c,
        title=title,
        detail=str(data.get("detail") or "").strip(),
        dimension=str(data.get("dimension") or ""),
        owner=_owner(data.get("owner")),
        due_date=due,
        created_by=actor,
    )
    _clean(item)
    item.save()
    audit_record(
        actor=actor,
        action="survey.action_create",
        obj=item,
        changes={"campaign": c.pk, "title": title, "owner": item.owner_id, "due_date": str(due)},
    )
    return item


@transaction.atomic
def action_item_update(*, actor, item_id: int, data: dict) -> ActionItem:
    """Change an item: a survey manager may change anything; the item's owner only its status and closing
    note. Done or cancelled needs a closing note; a closed item is reopened by setting it open again."""
    item = selectors.action_item_get(actor=actor, item_id=item_id, for_update=True)
    manager = (
        survey_selectors.can_manage(actor)
        and survey_selectors.campaign_base(actor=actor).filter(pk=item.campaign_id).exists()
    )
    fields = set(k for k, v in data.items() if v is not None)
    if not manager and fields - {"status", "closing_note"}:
        raise Forbidden(_("Only a survey manager may change this action; you may update its status."))
    if item.campaign.stage == Stage.CLOSED and fields - {"status", "closing_note"}:
        # a closed survey's plan is still tracked to closure, but no longer rewritten
        raise Conflict(
            _("The survey is closed: only the status of its actions can change."), code="survey_closed"
        )
    before = {
        "status": item.status,
        "owner": item.owner_id,
        "due_date": str(item.due_date),
        "title": item.title,
    }
    if "title" in fields:
        item.title = str(data["title"]).strip()
        if not item.title:
            raise Invalid(_("Say what is to be done."), fields={"title": [_("Required.")]})
    if "detail" in fields:
        item.detail = str(data["detail"]).strip()
    if "owner" in fields:
        item.owner = _owner(data["owner"])
    if "due_date" in fields:
        item.due_date = _due(data["due_date"])
    if "closing_note" in fields:
        item.closing_note = str(data["closing_note"]).strip()
    if "status" in fields:
        status = str(data["status"])
        if status not in ItemStatus.values:
            raise Invalid(_("Unknown status."), fields={"status": [_("Unknown status.")]})
        if status in CLOSED_STATUSES:
            if not item.closing_note:
                raise Invalid(
                    _("Write how the action was closed."), fields={"closing_note": [_("Required.")]}
                )
            if item.status not in CLOSED_STATUSES:
                item.closed_at = timezone.now()
        else:
            item.closed_at = None
        item.status = status
    if item.status not in CLOSED_STATUSES:
        item.closed_at = None
    _clean(item)
    item.save()
    after = {
        "status": item.status,
        "owner": item.owner_id,
        "due_date": str(item.due_date),
        "title": item.title,
    }
    audit_record(
        actor=actor,
        action="survey.action_update",
        obj=item,
        changes={k: [before[k], after[k]] for k in before if before[k] != after[k]}
        | ({"closing_note": item.closing_note} if item.status in CLOSED_STATUSES else {}),
    )
    return item


@transaction.atomic
def action_item_delete(*, actor, item_id: int) -> None:
    """Delete an item written by mistake: only an open item, while the plan is being written (analysis or
    report step); later an item is cancelled with a note instead."""
    survey_selectors.require_manage(actor)
    item = selectors.action_item_get(actor=actor, item_id=item_id, for_update=True)
    if not survey_selectors.campaign_base(actor=actor).filter(pk=item.campaign_id).exists():
        raise Forbidden(_("Only a survey manager may delete an action."))
    if item.status != ItemStatus.OPEN or item.campaign.stage not in selectors.REPORT_STAGES:
        raise Conflict(
            _(
                "Only an open action of a plan still being written can be deleted; cancel it with a note "
                "instead."
            ),
            code="action_item_not_deletable",
        )
    audit_record(
        actor=actor,
        action="survey.action_delete",
        obj=item,
        changes={"title": item.title, "campaign": item.campaign_id},
    )
    item.delete()


# ---------------------------------------------------------------- follow-ups


def response_recorded(response, answers, *, questions: dict) -> FollowUp | None:
    """Called with a response's stored answers, in the transaction that records them (``questions`` maps a
    question id to (kind, text)): its score row, its comments' keywords, and — for a detractor or a low
    score — the follow-up for the customer's account manager."""
    score_for_response(response, answers, questions=questions)
    terms_for_answers(
        [a for a in answers if a.text and questions.get(a.question_id, ("",))[0] == "text"],
        campaign_id=response.campaign_id,
    )
    return follow_up_for_response(response, answers, questions=questions)


def _score(response_id: int, campaign_id: int, customer_id: int, numbers) -> ResponseScore:
    """numbers: (kind, number) of the response's answers."""
    c, nps = fx.Csat(), None
    for kind, number in numbers:
        if number is None:
            continue
        if kind == "nps":
            nps = number
        elif kind in fx.RATING_KINDS:
            c.add(kind, number)
    return ResponseScore(
        response_id=response_id,
        campaign_id=campaign_id,
        customer_id=customer_id,
        ratings=c.n,
        top=c.top,
        low=c.low,
        norm_sum=c.norm_sum,
        nps=nps,
    )


def score_for_response(response, answers, *, questions: dict) -> None:
    score = _score(
        response.pk,
        response.campaign_id,
        response.customer_id,
        [(questions.get(a.question_id, ("",))[0], a.number) for a in answers],
    )
    ResponseScore.objects.bulk_create([score], ignore_conflicts=True)


def follow_up_for_response(response, answers, *, questions: dict) -> FollowUp | None:
    """A detractor (NPS 0–6) or a rating in the bottom box of its scale makes one follow-up for the
    customer's account manager (once per response: a second call leaves the first)."""
    nps, low = None, []
    for a in answers:
        kind, text = questions.get(a.question_id, ("", ""))
        if kind == "nps" and a.number is not None:
            nps = a.number
        elif kind in fx.RATING_KINDS and fx.is_low(kind, a.number):
            low.append({"question": a.question_id, "row": a.row, "number": a.number, "text": text[:120]})
    detractor = nps is not None and nps <= fx.DETRACTOR_MAX
    if not detractor and not low:
        return None
    reason = (
        FollowUpReason.BOTH
        if detractor and low
        else FollowUpReason.DETRACTOR
        if detractor
        else FollowUpReason.LOW_SCORE
    )
    follow_up, created = FollowUp.objects.get_or_create(
        response=response,
        defaults={
            "campaign_id": response.campaign_id,
            "customer_id": response.customer_id,
            "assigned_to_id": response.customer.owner_id,
            "reason": reason,
            "nps": nps,
            "low_answers": low,
            "created_at": response.submitted_at,
        },
    )
    if created:
        audit_record(
            actor=None,
            action="survey.follow_up_create",
            obj=follow_up,
            changes={
                "campaign": response.campaign_id,
                "customer": response.customer_id,
                "reason": reason,
                "nps": nps,
                "assigned_to": follow_up.assigned_to_id,
            },
        )
    return follow_up


def terms_for_answers(answers, *, campaign_id: int) -> int:
    """Keyword rows for stored free-text answers (with the response, so reports only count them)."""
    rows = [
        AnswerTerm(answer_id=a.pk, campaign_id=campaign_id, term=t)
        for a in answers
        if a.text
        for t in fx.terms(a.text)
    ]
    AnswerTerm.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def backfill(*, campaign) -> dict:
    """Responses recorded before this app stored their derived rows (or loaded in bulk) get them now: the
    score row and the comments' keywords (both are written with the response, so a response with a score
    row has its keywords too). Two index-only counts when nothing is missing."""
    from kehu.surveys.models import Answer, Response

    if (
        Response.objects.filter(campaign=campaign).count()
        == ResponseScore.objects.filter(campaign=campaign).count()
    ):
        return {"scores": 0, "comments": 0}
    missing = dict(
        Response.objects.filter(campaign=campaign, score__isnull=True).values_list("pk", "customer_id")
    )
    kinds = dict(
        Question.objects.filter(questionnaire_id=campaign.questionnaire_id).values_list("pk", "kind")
    )
    numbers: dict[int, list] = {}
    terms, comments = [], 0
    for pk, rid, qid, number, text in (
        Answer.objects.filter(response_id__in=list(missing))
        .values_list("pk", "response_id", "question_id", "number", "text")
        .iterator(chunk_size=5000)
    ):
        numbers.setdefault(rid, []).append((kinds.get(qid, ""), number))
        if text and kinds.get(qid) == "text":
            comments += 1
            terms.extend(AnswerTerm(answer_id=pk, campaign_id=campaign.pk, term=t) for t in fx.terms(text))
    AnswerTerm.objects.bulk_create(terms, batch_size=2000, ignore_conflicts=True)
    ResponseScore.objects.bulk_create(
        [_score(rid, campaign.pk, missing[rid], numbers.get(rid, [])) for rid in missing],
        batch_size=2000,
        ignore_conflicts=True,
    )
    return {"scores": len(missing), "comments": comments}


@transaction.atomic
def follow_up_close(*, actor, follow_up_id: int, note: str) -> FollowUp:
    """Close a follow-up with what was done (the account manager called back, the issue was handled…)."""
    f = selectors.follow_up_get(actor=actor, follow_up_id=follow_up_id, for_update=True)
    if f.status == FollowUpStatus.CLOSED:
        raise Conflict(_("This follow-up is already closed."), code="follow_up_closed")
    note = (note or "").strip()
    if not note:
        raise Invalid(_("Write what was done."), fields={"note": [_("Required.")]})
    if len(note) > 5000:
        raise Invalid(_("The note is too long."), fields={"note": [_("At most 5000 characters.")]})
    f.status, f.closing_note, f.closed_at, f.closed_by = FollowUpStatus.CLOSED, note, timezone.now(), actor
    _clean(f)
    f.save(update_fields=["status", "closing_note", "closed_at", "closed_by"])
    audit_record(
        actor=actor,
        action="survey.follow_up_close",
        obj=f,
        changes={"campaign": f.campaign_id, "customer": f.customer_id},
    )
    return f
