"""Every write of the satisfaction survey (客户满意度调查): questionnaires (versions, review and approval
through the approval engine), the procedure's moves (plan → target list → expectations → draft → review →
fieldwork → analysis → report → re-evaluation → closed, each with its record), the set-based target list,
personal links (random, stored only as a hash, one response, expiring), e-mail invitations and reminders,
and responses (through a link, or entered by an agent). Each function takes the acting user first, runs
in one transaction and writes its audit entry in it."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, F, IntegerField, OuterRef, Subquery, Value
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, from_django_validation
from kehu.surveys import rules, selectors
from kehu.surveys.models import (
    Answer,
    Campaign,
    CampaignStep,
    Channel,
    Invitation,
    Question,
    Questionnaire,
    QuestionnaireStatus,
    Response,
    Stage,
)

CHAIN = "survey.questionnaire"


class LinkInvalid(DomainError):
    status = 404
    code = "link_invalid"


class LinkUsed(DomainError):
    status = 409
    code = "link_used"


class LinkExpired(DomainError):
    status = 410
    code = "link_expired"


class LinkClosed(DomainError):
    status = 410
    code = "survey_not_in_fieldwork"


def config() -> dict:
    """settings.KEHU_SURVEYS over the defaults: days a personal link stays valid, days of fieldwork, days
    before a non-respondent is reminded and how many times, days the account manager has to call back a
    detractor (the follow-up's due date)."""
    base = {"link_days": 30, "fieldwork_days": 30, "remind_after_days": 7, "max_reminders": 2, "follow_up_days": 3}
    return {**base, **getattr(settings, "KEHU_SURVEYS", {})}


def _clean(obj) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from exc


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def response_path(token: str) -> str:
    return reverse("surveys:respond", args=[token])


def response_url(token: str) -> str:
    return settings.KEHU_SITE_URL + response_path(token)


# ---------------------------------------------------------------- questionnaires

def _editable(actor, questionnaire_id: int) -> Questionnaire:
    """The questionnaire to edit: a draft itself; an approved (or retired) one is never edited again —
    a new draft version is made from it; one in review is locked."""
    q = selectors.questionnaire_get(actor=actor, questionnaire_id=questionnaire_id, for_update=True)
    if q.status == QuestionnaireStatus.IN_REVIEW:
        raise Conflict(_("The questionnaire is in review and cannot be changed."), code="questionnaire_in_review")
    if q.status in (QuestionnaireStatus.APPROVED, QuestionnaireStatus.RETIRED):
        return _new_version(actor, q)
    return q


def _new_version(actor, q: Questionnaire) -> Questionnaire:
    latest = Questionnaire.objects.filter(title=q.title).order_by("-version").first()
    if latest.status == QuestionnaireStatus.DRAFT and latest.pk != q.pk:
        return latest  # a draft of the next version exists already: edit that one
    new = Questionnaire.objects.create(title=q.title, version=latest.version + 1, based_on=q,
                                       introduction=q.introduction, created_by=actor)
    Question.objects.bulk_create([Question(questionnaire=new, position=x.position, dimension=x.dimension, kind=x.kind,
                                           text=x.text, options=x.options, required=x.required)
                                  for x in q.questions.all()])
    audit_record(actor=actor, action="questionnaire.version", obj=new, changes={"based_on": q.pk,
                                                                               "version": new.version})
    return new


@transaction.atomic
def questionnaire_create(*, actor, title: str, introduction: str = "", questions: list[dict] | None = None
                         ) -> Questionnaire:
    """A new questionnaire (version 1, draft), with its questions if given."""
    selectors.require_manage(actor)
    title = (title or "").strip()
    if Questionnaire.objects.filter(title=title).exists():
        raise Conflict(_("A questionnaire with this title exists; edit it to make a new version."),
                       fields={"title": [_("Already used.")]}, code="questionnaire_title_taken")
    q = Questionnaire(title=title, introduction=(introduction or "").strip(), created_by=actor)
    _clean(q)
    q.save()
    for data in questions or []:
        _question_insert(q, data)
    audit_record(actor=actor, action="questionnaire.create", obj=q, changes={"title": title,
                                                                           "questions": len(questions or [])})
    return q


def _question_insert(q: Questionnaire, data: dict) -> Question:
    kind = str(data.get("kind") or "")
    options = data.get("options") or []
    if isinstance(options, str):
        options = [{"value": str(i), "label": line.strip()}
                   for i, line in enumerate([x for x in options.splitlines() if x.strip()], start=1)]
    if not isinstance(options, list):
        raise Invalid(_("The options are not valid."), fields={"options": [_("A list is expected.")]})
    problems = rules.question_problems(kind=kind, text=str(data.get("text") or ""), options=options)
    if problems:
        messages = {"required": _("Required."), "unknown_kind": _("Unknown question kind."),
                    "too_few_options": _("Give at least two options (one row for a matrix)."),
                    "duplicate_options": _("The options repeat."), "too_long": _("An option is too long.")}
        raise Invalid(_("The question is not valid."),
                      fields={k: [str(messages.get(v, v))] for k, v in problems.items()})
    position = (q.questions.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    question = Question(questionnaire=q, position=position, dimension=data.get("dimension") or "other", kind=kind,
                        text=str(data.get("text") or "").strip(), options=options if kind in ("single", "multiple",
                                                                                              "matrix") else [],
                        required=bool(data.get("required", True)))
    _clean(question)
    question.save()
    return question


@transaction.atomic
def question_add(*, actor, questionnaire_id: int, data: dict) -> Question:
    """Add a question at the end (editing an approved questionnaire makes its next version)."""
    q = _editable(actor, questionnaire_id)
    question = _question_insert(q, data)
    audit_record(actor=actor, action="questionnaire.question_add", obj=q,
                 changes={"question": question.pk, "kind": question.kind, "dimension": question.dimension})
    return question


@transaction.atomic
def question_remove(*, actor, questionnaire_id: int, question_id: int) -> Questionnaire:
    """Remove a question (from the next version when the questionnaire is approved); returns the
    questionnaire edited."""
    original = selectors.questionnaire_get(actor=actor, questionnaire_id=questionnaire_id)
    target = original.questions.filter(pk=question_id).first()
    if target is None:
        raise NotFound(_("Question not found."))
    q = _editable(actor, questionnaire_id)
    q.questions.filter(position=target.position).delete()
    audit_record(actor=actor, action="questionnaire.question_remove", obj=q, changes={"position": target.position})
    return q


@transaction.atomic
def questionnaire_new_version(*, actor, questionnaire_id: int) -> Questionnaire:
    """The next draft version of an approved questionnaire (the draft already there, if any)."""
    return _editable(actor, questionnaire_id)


@transaction.atomic
def questionnaire_submit(*, actor, questionnaire_id: int):
    """Send a draft for review and approval (chain survey.questionnaire: manager → executive)."""
    from kehu.approvals.services import approval_request

    q = selectors.questionnaire_get(actor=actor, questionnaire_id=questionnaire_id, for_update=True)
    if q.status != QuestionnaireStatus.DRAFT:
        raise Conflict(_("Only a draft can be sent for review."), code="questionnaire_not_draft")
    if not q.questions.exists():
        raise Invalid(_("The questionnaire has no question."), fields={"questions": [_("Required.")]},
                      code="questionnaire_empty")
    q.status = QuestionnaireStatus.IN_REVIEW
    q.save(update_fields=["status"])
    returned = _returned_request(q)
    if returned is not None:  # sent back for changes earlier: the same request goes round again
        from kehu.approvals.services import approval_resubmit

        req = approval_resubmit(actor=actor, request_id=returned.pk, comment=_("Questionnaire changed."))
        audit_record(actor=actor, action="questionnaire.submit", obj=q, changes={"request": req.pk})
        return req
    req = approval_request(actor=actor, chain_code=CHAIN, target=q,
                           title=_("Questionnaire review: %(t)s v%(v)d") % {"t": q.title, "v": q.version},
                           payload={"questionnaire": q.pk, "version": q.version})
    audit_record(actor=actor, action="questionnaire.submit", obj=q, changes={"request": req.pk})
    return req


def _returned_request(q: Questionnaire):
    from django.contrib.contenttypes.models import ContentType

    from kehu.approvals.models import ApprovalRequest, RequestStatus

    return ApprovalRequest.objects.filter(content_type=ContentType.objects.get_for_model(Questionnaire),
                                          object_id=str(q.pk), chain__code=CHAIN, status=RequestStatus.RETURNED).first()


def on_approval_outcome(request, outcome: str) -> None:
    """The engine's answer (same transaction): approved → the version is frozen and usable (the previous
    approved version of the same title is retired); returned or rejected or cancelled → back to draft."""
    q = Questionnaire.objects.select_for_update().get(pk=request.object_id)
    if q.status != QuestionnaireStatus.IN_REVIEW:
        return
    if outcome == "approved":
        approver = (request.events.exclude(actor__isnull=True).exclude(action="submitted").order_by("-at", "-id")
                    .values_list("actor_id", flat=True).first())
        Questionnaire.objects.filter(title=q.title, status=QuestionnaireStatus.APPROVED).exclude(pk=q.pk).update(
            status=QuestionnaireStatus.RETIRED)
        q.status, q.approved_at, q.approved_by_id = QuestionnaireStatus.APPROVED, timezone.now(), approver
    else:
        q.status = QuestionnaireStatus.DRAFT
    q.save(update_fields=["status", "approved_at", "approved_by"])
    audit_record(actor=None, action=f"questionnaire.{outcome}", obj=q, changes={"request": request.pk})


def register_approval_handlers() -> None:
    from kehu.approvals.hooks import register_outcome_handler

    register_outcome_handler("surveys.questionnaire", on_approval_outcome)


DEFAULT_TITLE = "客户满意度调查问卷"
DEFAULT_QUESTIONS = [
    ("product_quality", "rating_5", "您对我公司产品质量（稳定性、一致性）的满意程度", []),
    ("product_function", "rating_5", "您对我公司产品功能、性能满足您需求的满意程度", []),
    ("product_price", "rating_5", "您对我公司产品价格的满意程度", []),
    ("presale", "rating_5", "您对售前服务（产品介绍、技术咨询、报价响应）的满意程度", []),
    ("insale", "matrix", "您对售中服务各方面的评价", [
        {"value": "order", "label": "订单处理"}, {"value": "delivery", "label": "交货及时性"},
        {"value": "logistics", "label": "物流与包装"}]),
    ("aftersale", "rating_5", "您对售后服务（投诉处理、技术支持、回访）的满意程度", []),
    ("aftersale", "multiple", "您认为我公司售后服务最需要改进的方面（可多选）", [
        {"value": "speed", "label": "响应速度"}, {"value": "skill", "label": "技术能力"},
        {"value": "attitude", "label": "服务态度"}, {"value": "followup", "label": "回访跟踪"}]),
    ("image", "rating_5", "您对我公司整体形象的评价", []),
    ("brand", "single", "与同类供应商相比，我公司品牌在您心目中", [
        {"value": "better", "label": "更好"}, {"value": "same", "label": "差不多"}, {"value": "worse", "label": "较差"}]),
    ("overall", "rating_10", "综合来看，您对我公司的总体满意程度（1–10 分）", []),
    ("overall", "nps", "您有多大可能向朋友或同行推荐我公司（0–10 分）", []),
    ("other", "text", "您对我公司还有哪些意见和建议？", []),
]


@transaction.atomic
def questionnaire_default_create(*, actor) -> Questionnaire:
    """The default questionnaire of the policy (product quality / function / price; pre-, in- and after-sale
    service; image and brand; overall; NPS; free text), as a draft."""
    existing = Questionnaire.objects.filter(title=DEFAULT_TITLE).order_by("-version").first()
    if existing is not None:
        return existing
    questions = [{"dimension": d, "kind": k, "text": t, "options": o, "required": k != "text"}
                 for d, k, t, o in DEFAULT_QUESTIONS]
    return questionnaire_create(actor=actor, title=DEFAULT_TITLE, questions=questions,
                                introduction="尊敬的客户：感谢您一直以来的支持。为了持续改进产品和服务，请您抽出几分钟填写本问卷。")


# ---------------------------------------------------------------- campaigns and the procedure

def _step(campaign: Campaign, *, actor, from_stage: str, to_stage: str, note: str = "", data: dict | None = None,
          at: dt.datetime | None = None) -> CampaignStep:
    return CampaignStep.objects.create(campaign=campaign, from_stage=from_stage, to_stage=to_stage, actor=actor,
                                       at=at or timezone.now(), note=note, data=data or {})


@transaction.atomic
def campaign_create(*, actor, name: str, plan: str, previous_id: int | None = None) -> Campaign:
    """A survey at its first step, the plan (调查计划: purpose, scope, timing), recorded."""
    selectors.require_manage(actor)
    plan = (plan or "").strip()
    if not plan:
        raise Invalid(_("Write the survey plan."), fields={"plan": [_("Required.")]})
    previous = None
    if previous_id:
        previous = selectors.campaign_get(actor=actor, campaign_id=int(previous_id))
    c = Campaign(name=(name or "").strip(), plan=plan, owner=actor, department_id=actor.department_id,
                 previous=previous, link_days=config()["link_days"])
    _clean(c)
    c.save()
    _step(c, actor=actor, from_stage="", to_stage=Stage.PLAN, note=plan)
    audit_record(actor=actor, action="survey.create", obj=c, changes={"name": c.name})
    return c


def _segment(data) -> dict:
    """The segment as stored: lists of grades, industries, provinces (region), owner ids, and the days of
    "customers with a complaint in the last N days" (None: not a criterion)."""
    data = data or {}
    if not isinstance(data, dict):
        raise Invalid(_("The segment is not valid."), fields={"segment": [_("An object is expected.")]})

    def strings(key):
        value = data.get(key) or []
        if isinstance(value, str):
            value = [v for v in value.replace("，", ",").split(",")]
        if not isinstance(value, list):
            raise Invalid(_("The segment is not valid."), fields={key: [_("A list is expected.")]})
        return sorted({str(v).strip()[:50] for v in value if str(v).strip()})

    owners = []
    for v in data.get("owners") or []:
        try:
            owners.append(int(v))
        except (TypeError, ValueError) as exc:
            raise Invalid(_("The segment is not valid."), fields={"owners": [_("Not a user.")]}) from exc
    days = data.get("complaint_days")
    if days in ("", None):
        days = None
    else:
        try:
            days = int(days)
        except (TypeError, ValueError):
            days = -1
        if not 1 <= days <= 3650:
            raise Invalid(_("The days must be between 1 and 3650."), fields={"complaint_days": [_("Out of range.")]})
    return {"grades": strings("grades"), "industries": strings("industries"), "provinces": strings("provinces"),
            "owners": sorted(set(owners)), "complaint_days": days}


def _build_target_list(actor, campaign: Campaign, segment: dict, channel: str) -> dict:
    """One INSERT … SELECT: every customer of the segment within the actor's scope who (or one of whose
    contacts) consented to being contacted; the contact who consented is the one invited. Returns counts."""
    from kehu.engagement.care.selectors import customer_consent_exists, live_consents

    base = selectors.segment_customers(actor=actor, segment=segment)
    contact = (live_consents().filter(customer_id=OuterRef("pk"), contact__isnull=False,
                                      contact__erased_at__isnull=True)
               .order_by("contact_id").values("contact_id")[:1])
    interviewer = F("owner_id") if channel in (Channel.PHONE, Channel.FACE) else Value(None, output_field=BigIntegerField())
    rows = (base.filter(customer_consent_exists("pk")).order_by()
            .annotate(s_campaign=Value(campaign.pk, output_field=BigIntegerField()),
                      s_contact=Subquery(contact, output_field=BigIntegerField()),
                      s_channel=Value(channel), s_interviewer=interviewer,
                      s_reminders=Value(0, output_field=IntegerField()))
            .values_list("s_campaign", "pk", "s_contact", "s_channel", "s_interviewer", "s_reminders"))
    sql, params = rows.query.sql_with_params()
    table = Invitation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (campaign_id, customer_id, contact_id, channel, assigned_to_id, reminders) "
                       f"{sql}", params)
        targeted = cursor.rowcount
    in_segment = base.count()
    return {"targeted": targeted, "in_segment": in_segment, "excluded_no_consent": in_segment - targeted}


def _issue(invitation: Invitation, *, now: dt.datetime, days: int) -> str:
    token = secrets.token_urlsafe(24)
    invitation.token_hash = token_hash(token)
    invitation.expires_at = now + dt.timedelta(days=days)
    return token


def _send_invitation_mails(campaign: Campaign, *, now: dt.datetime, reminder: bool = False,
                           invitations=None) -> int:
    """Issue a fresh link for each e-mail invitation given (or every unsent one) and send the message
    once the transaction has committed. A reminder replaces the earlier link (only its hash is kept)."""
    from django.core.mail import EmailMessage, get_connection

    qs = invitations if invitations is not None else campaign.invitations.filter(
        channel=Channel.EMAIL, sent_at__isnull=True, responded_at__isnull=True)
    messages, batch = [], []
    for inv in qs.select_related("contact", "customer").exclude(contact__email="").filter(contact__isnull=False):
        token = _issue(inv, now=now, days=campaign.link_days)
        inv.sent_at = inv.sent_at or now
        if reminder:
            inv.reminded_at, inv.reminders = now, inv.reminders + 1
        batch.append(inv)
        subject = (_("Reminder: %(s)s") if reminder else "%(s)s") % {"s": campaign.name}
        body = _("Dear %(name)s,\n\nPlease tell us how satisfied %(customer)s is with our products and service. "
                 "The questionnaire takes a few minutes:\n\n%(url)s\n\nThe link is personal and valid until "
                 "%(until)s.\n") % {"name": inv.contact.name, "customer": inv.customer.name, "url": response_url(token),
                                    "until": timezone.localtime(inv.expires_at).strftime("%Y-%m-%d")}
        messages.append(EmailMessage(subject=subject, body=body, to=[inv.contact.email]))
    Invitation.objects.bulk_update(batch, ["token_hash", "expires_at", "sent_at", "reminded_at", "reminders"],
                                   batch_size=1000)
    if messages:
        transaction.on_commit(lambda: get_connection(fail_silently=True).send_messages(messages))
    return len(messages)


STAGE_NOTES_REQUIRED = {Stage.EXPECTATIONS, Stage.ANALYSIS, Stage.REPORT, Stage.REEVALUATION, Stage.CLOSED}


@transaction.atomic
def campaign_advance(*, actor, campaign_id: int, to: str, note: str = "", segment: dict | None = None,
                     channel: str | None = None, questionnaire_id: int | None = None, closes_on: dt.date | None = None
                     ) -> Campaign:
    """Move the survey one step along the procedure, with the step's record: the target list (set-based,
    with its counts), the expectations summary, the questionnaire drafted, the review decision (to
    fieldwork: approved; back to drafting: returned), the fieldwork's dates, the notes of analysis,
    report, re-evaluation and closing. A skipped step, a move back or a move of a closed survey: 409."""
    selectors.require_manage(actor)
    c = selectors.campaign_get(actor=actor, campaign_id=campaign_id, for_update=True)
    to = str(to or "")
    code = rules.transition_error(c.stage, to)
    if code:
        messages = {"survey_step_skipped": _("A step of the survey procedure cannot be skipped: the next step is "
                                             "“%(next)s”."),
                    "survey_step_backwards": _("The survey cannot go back to an earlier step."),
                    "survey_closed": _("The survey is closed."),
                    "survey_unknown_step": _("Unknown step.")}
        nxt = rules.next_stage(c.stage) if c.stage != Stage.CLOSED else None
        raise Conflict(messages[code] % {"next": Stage(nxt).label if nxt else ""}, code=code,
                       fields={"to": [str(rules.next_stage(c.stage) or "")]})
    note = (note or "").strip()
    if to in STAGE_NOTES_REQUIRED and not note:
        raise Invalid(_("Write the record of this step."), fields={"note": [_("Required.")]})
    if to in (Stage.REPORT, Stage.REEVALUATION):
        from kehu.surveys.actions.services import report_required

        report_required(c, to)
    now = timezone.now()
    data: dict = {}
    frm = c.stage
    if to == Stage.TARGETING:
        channel = channel or Channel.LINK
        if channel not in Channel.values:
            raise Invalid(_("Unknown channel."), fields={"channel": [_("Unknown channel.")]})
        seg = _segment(segment)
        counts = _build_target_list(actor, c, seg, channel)
        if counts["targeted"] == 0:
            raise Invalid(_("No customer of this segment in your scope has consented to be contacted."),
                          fields={"segment": [_("Empty target list.")]}, code="survey_target_list_empty")
        c.segment, c.channel = seg, channel
        data = {"segment": seg, "channel": channel, **counts}
    elif frm == Stage.REVIEW and to == Stage.DRAFTING:
        if not note:
            raise Invalid(_("Say why the draft is returned."), fields={"note": [_("Required.")]})
        data = {"decision": "returned"}
    elif to == Stage.DRAFTING:
        if questionnaire_id:
            q = selectors.questionnaire_get(actor=actor, questionnaire_id=int(questionnaire_id))
            c.questionnaire = q
        if c.questionnaire_id is None:
            raise Invalid(_("Choose the questionnaire."), fields={"questionnaire": [_("Required.")]})
        data = {"questionnaire": c.questionnaire_id}
    elif to == Stage.REVIEW:
        if questionnaire_id:  # the draft can still be swapped for another version before review
            c.questionnaire = selectors.questionnaire_get(actor=actor, questionnaire_id=int(questionnaire_id))
        data = {"questionnaire": c.questionnaire_id}
    elif to == Stage.FIELDWORK:
        q = c.questionnaire
        if q is None or q.status != QuestionnaireStatus.APPROVED:
            raise Conflict(_("The questionnaire must be approved before the fieldwork starts."),
                           code="questionnaire_not_approved")
        today = timezone.localdate()
        closes_on = closes_on or today + dt.timedelta(days=config()["fieldwork_days"])
        if closes_on < today:
            raise Invalid(_("The fieldwork cannot close before it opens."), fields={"closes_on": [_("Too early.")]})
        c.fieldwork_started_at, c.opens_on, c.closes_on = now, today, closes_on
        sent = _send_invitation_mails(c, now=now) if c.channel == Channel.EMAIL else 0
        data = {"decision": "approved", "questionnaire": q.pk, "version": q.version, "opens_on": str(today),
                "closes_on": str(closes_on), "emails_sent": sent}
    elif to == Stage.ANALYSIS:
        data = {"invited": c.invitations.count(), "responses": c.responses.count()}
    elif to == Stage.REPORT:
        report = c.report
        data = {"report_generated_at": report.generated_at.isoformat(), "nps": (report.figures.get("nps") or {}).get(
            "nps"), "csat": (report.figures.get("overall") or {}).get("top_box_pct")}
    elif to == Stage.REEVALUATION:
        data = {"action_items": c.action_items.exclude(status="cancelled").count()}
    elif to == Stage.CLOSED:
        from kehu.surveys.actions.models import FollowUp

        data = {"action_items_open": c.action_items.filter(status__in=["open", "in_progress"]).count(),
                "follow_ups_open": FollowUp.objects.filter(campaign=c, status="open").count()}
    c.stage = to
    _clean(c)
    c.save()
    _step(c, actor=actor, from_stage=frm, to_stage=to, note=note, data=data, at=now)
    audit_record(actor=actor, action="survey.advance", obj=c, changes={"from": frm, "to": to, **{
        k: v for k, v in data.items() if k != "segment"}})
    return c


# ---------------------------------------------------------------- links

@transaction.atomic
def invitation_link_issue(*, actor, invitation_id: int) -> tuple[Invitation, str]:
    """A personal link for one invitation (the customer's account manager passes it on): a fresh random
    token, stored only as its hash; an earlier link of the invitation stops working."""
    inv = selectors.invitation_get(actor=actor, invitation_id=invitation_id, for_update=True)
    if inv.campaign.stage != Stage.FIELDWORK:
        raise Conflict(_("Links are given out during the fieldwork."), code="survey_not_in_fieldwork")
    if inv.responded_at is not None:
        raise Conflict(_("This customer has already answered."), code="already_answered")
    now = timezone.now()
    token = _issue(inv, now=now, days=inv.campaign.link_days)
    inv.sent_at = inv.sent_at or now
    inv.save(update_fields=["token_hash", "expires_at", "sent_at"])
    audit_record(actor=actor, action="survey.link_issue", obj=inv, changes={"campaign": inv.campaign_id,
                                                                           "customer": inv.customer_id})
    return inv, token


@transaction.atomic
def invitation_links_issue(*, actor, campaign_id: int, base_url: str = "") -> list[dict]:
    """Personal links for every link invitation not given out yet (the account managers pass them on by
    text message or WeChat): a fresh token each, stored only as its hash; returned once, with the
    customer and contact. Links already given out are left working (not re-issued)."""
    c = selectors.campaign_get(actor=actor, campaign_id=campaign_id, for_update=True)
    if c.stage != Stage.FIELDWORK:
        raise Conflict(_("Links are given out during the fieldwork."), code="survey_not_in_fieldwork")
    now = timezone.now()
    rows, batch = [], []
    for inv in (c.invitations.select_related("customer", "contact", "customer__owner")
                .filter(channel=Channel.LINK, sent_at__isnull=True, responded_at__isnull=True).order_by("id")):
        token = _issue(inv, now=now, days=c.link_days)
        inv.sent_at = now
        batch.append(inv)
        rows.append({"customer": inv.customer.name, "contact": inv.contact.name if inv.contact_id else "",
                     "owner": str(inv.customer.owner), "url": (base_url or settings.KEHU_SITE_URL) + response_path(token),
                     "expires_at": timezone.localtime(inv.expires_at).strftime("%Y-%m-%d")})
    Invitation.objects.bulk_update(batch, ["token_hash", "expires_at", "sent_at"], batch_size=1000)
    audit_record(actor=actor, action="survey.links_issue", obj=c, changes={"links": len(rows)})
    return rows


def link_open(token: str, *, now: dt.datetime | None = None, lock: bool = False) -> Invitation:
    """The invitation of a personal link, or the refusal: tampered/unknown (404), used (409), expired or
    the survey no longer in fieldwork (410)."""
    token = token or ""
    if not 16 <= len(token) <= 64:
        raise LinkInvalid(_("This survey link is not valid."))
    qs = Invitation.objects.select_related("campaign", "campaign__questionnaire", "customer")
    if lock:
        qs = qs.select_for_update(of=("self",))
    inv = qs.filter(token_hash=token_hash(token)).first()
    if inv is None:
        raise LinkInvalid(_("This survey link is not valid."))
    state = rules.link_state(expires_at=inv.expires_at, responded_at=inv.responded_at, now=now or timezone.now(),
                             open_for_answers=inv.campaign.stage == Stage.FIELDWORK)
    if state == "used":
        raise LinkUsed(_("This survey has already been answered through this link. Thank you!"))
    if state == "expired":
        raise LinkExpired(_("This survey link has expired."))
    if state == "closed":
        raise LinkClosed(_("This survey is closed."))
    return inv


def _answers(questionnaire: Questionnaire, form: dict[str, list[str]]) -> list[rules.AnswerValue]:
    specs = [rules.QuestionSpec(id=q.pk, kind=q.kind, options=q.options, required=q.required)
             for q in questionnaire.questions.all()]
    answers, errors = rules.validate_answers(specs, form)
    if errors:
        messages = {"required": _("Please answer this question."), "out_of_range": _("Choose a value of the scale."),
                    "unknown_choice": _("Choose one of the options."), "too_long": _("The text is too long."),
                    "unknown_kind": _("Unknown question kind.")}
        raise Invalid(_("Some answers are missing or not valid."), code="answers_invalid",
                      fields={k: [str(messages.get(c, c)) for c in v] for k, v in errors.items()})
    return answers


def _store(inv: Invitation, *, channel: str, answers, entered_by=None, now: dt.datetime) -> Response:
    try:
        with transaction.atomic():
            response = Response.objects.create(campaign=inv.campaign, invitation=inv, customer=inv.customer,
                                               channel=channel, entered_by=entered_by, submitted_at=now)
    except IntegrityError as exc:
        raise LinkUsed(_("This customer has already answered."), code="already_answered") from exc
    stored = Answer.objects.bulk_create([Answer(response=response, campaign_id=inv.campaign_id, question_id=a.question_id,
                                                row=a.row, number=a.number, choices=a.choices, text=a.text)
                                         for a in answers])
    inv.responded_at = now
    inv.save(update_fields=["responded_at"])
    # In the same transaction: a detractor or a low score makes a follow-up for the account manager, and the
    # free-text answers' keywords are stored once (the report only counts them).
    from kehu.surveys.actions.services import response_recorded

    response_recorded(response, stored, questions={q.pk: (q.kind, q.text)
                                                   for q in inv.campaign.questionnaire.questions.all()})
    return response


@transaction.atomic
def response_submit(*, token: str, form: dict[str, list[str]]) -> Response:
    """A customer's answers through a personal link (no login): every answer validated (required, scale,
    choices), the response and its answers stored together, the link used up."""
    now = timezone.now()
    inv = link_open(token, now=now, lock=True)
    answers = _answers(inv.campaign.questionnaire, form)
    response = _store(inv, channel=inv.channel if inv.channel in (Channel.LINK, Channel.EMAIL) else Channel.LINK,
                      answers=answers, now=now)
    audit_record(actor=None, action="survey.response", obj=response,
                 changes={"campaign": inv.campaign_id, "customer": inv.customer_id, "via": "link"})
    return response


@transaction.atomic
def response_enter(*, actor, campaign_id: int, customer_id: int, channel: str, form: dict[str, list[str]]) -> Response:
    """An agent enters a phone or face-to-face answer for a targeted customer in the agent's scope."""
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.SURVEY_ENTER):
        raise Forbidden(_("You are not allowed to enter survey answers."))
    if channel not in (Channel.PHONE, Channel.FACE):
        raise Invalid(_("Choose phone or face to face."), fields={"channel": [_("Unknown channel.")]})
    inv = selectors.interview_get(actor=actor, campaign_id=campaign_id, customer_id=customer_id, for_update=True)
    if inv.campaign.stage != Stage.FIELDWORK:
        raise Conflict(_("This survey is not in fieldwork."), code="survey_not_in_fieldwork")
    if inv.responded_at is not None:
        raise Conflict(_("This customer has already answered."), code="already_answered")
    now = timezone.now()
    answers = _answers(inv.campaign.questionnaire, form)
    response = _store(inv, channel=channel, answers=answers, entered_by=actor, now=now)
    audit_record(actor=actor, action="survey.response_enter", obj=response,
                 changes={"campaign": inv.campaign_id, "customer": inv.customer_id, "channel": channel})
    return response


# ---------------------------------------------------------------- reminders

def invitations_remind(*, now: dt.datetime | None = None) -> int:
    """Remind the non-respondents of e-mail invitations of the surveys in fieldwork (a fresh link each
    time, at most max_reminders times, remind_after_days after the last message). Returns how many."""
    cfg = config()
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=cfg["remind_after_days"])
    total = 0
    for campaign in Campaign.objects.filter(stage=Stage.FIELDWORK, channel=Channel.EMAIL):
        with transaction.atomic():
            due = campaign.invitations.select_for_update(of=("self",)).filter(
                channel=Channel.EMAIL, responded_at__isnull=True, sent_at__lte=cutoff,
                reminders__lt=cfg["max_reminders"]).exclude(reminded_at__gt=cutoff)
            sent = _send_invitation_mails(campaign, now=now, reminder=True, invitations=due)
            if sent:
                audit_record(actor=None, action="survey.remind", obj=campaign, changes={"reminded": sent})
            total += sent
    return total
