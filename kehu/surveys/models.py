"""Satisfaction surveys (客户满意度调查): the core tables, fixed here so that the survey app (builder,
procedure, campaigns, links) and the analysis app (surveys.actions: CSAT / NPS, report, action plan)
can be built side by side. Each app adds its own columns and tables in its own migrations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class QuestionnaireStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")  # usable by a campaign; never edited again (a new version is)
    RETIRED = "retired", _("Retired")


class Dimension(models.TextChoices):
    """The sections a questionnaire reports on (seed 001 四, 004 第4篇)."""

    PRODUCT_QUALITY = "product_quality", _("Product quality")
    PRODUCT_FUNCTION = "product_function", _("Product function")
    PRODUCT_PRICE = "product_price", _("Price")
    PRESALE = "presale", _("Pre-sale service")
    INSALE = "insale", _("In-sale service")
    AFTERSALE = "aftersale", _("After-sale service")
    IMAGE = "image", _("Overall image")
    BRAND = "brand", _("Brand")
    OVERALL = "overall", _("Overall satisfaction")
    OTHER = "other", _("Other")


class QuestionKind(models.TextChoices):
    RATING_5 = "rating_5", _("Rating 1–5")
    RATING_10 = "rating_10", _("Rating 1–10")
    VISIT_QUALITY = "visit_quality", _("Quality scale of the visit report (100/90/85/80/70/60)")
    VISIT_ATTITUDE = "visit_attitude", _("Attitude scale of the visit report (100/90/85/80/30/0)")
    NPS = "nps", _("Likelihood to recommend 0–10 (NPS)")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    MATRIX = "matrix", _("Matrix (rows rated 1–5)")
    TEXT = "text", _("Free text")


class Questionnaire(models.Model):
    """A questionnaire (调查问卷) in one version; approved versions are frozen."""

    title = models.CharField(_("title"), max_length=200)
    version = models.PositiveIntegerField(_("version"), default=1)
    based_on = models.ForeignKey("self", verbose_name=_("previous version"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="next_versions")
    status = models.CharField(_("status"), max_length=16, choices=QuestionnaireStatus.choices,
                              default=QuestionnaireStatus.DRAFT)
    introduction = models.TextField(_("introduction"), blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=QuestionnaireStatus.values),
                                   name="questionnaire_status_known"),
            models.CheckConstraint(condition=~Q(status="approved") | Q(approved_at__isnull=False),
                                   name="questionnaire_approved_dated"),
            models.UniqueConstraint(fields=["title", "version"], name="questionnaire_title_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Question(models.Model):
    questionnaire = models.ForeignKey(Questionnaire, verbose_name=_("questionnaire"), on_delete=models.CASCADE,
                                      related_name="questions")
    position = models.PositiveIntegerField(_("position"))
    dimension = models.CharField(_("dimension"), max_length=20, choices=Dimension.choices,
                                 default=Dimension.OTHER)
    kind = models.CharField(_("kind"), max_length=16, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=500)
    # Choices for single / multiple, row labels for a matrix: [{"value": "a", "label": "…"}, …].
    options = models.JSONField(_("options"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["questionnaire", "position"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "position"], name="question_position_unique"),
            models.CheckConstraint(condition=Q(kind__in=QuestionKind.values), name="question_kind_known"),
            models.CheckConstraint(condition=Q(dimension__in=Dimension.values), name="question_dimension_known"),
        ]

    def __str__(self) -> str:
        return self.text


class Stage(models.TextChoices):
    """The survey procedure (seed 004 第4篇), in order; a step cannot be skipped."""

    PLAN = "plan", _("Plan")
    TARGETING = "targeting", _("Target list")
    EXPECTATIONS = "expectations", _("Customer expectations")
    DRAFTING = "drafting", _("Questionnaire draft")
    REVIEW = "review", _("Review")
    FIELDWORK = "fieldwork", _("Fieldwork")
    ANALYSIS = "analysis", _("Analysis")
    REPORT = "report", _("Report and action plan")
    REEVALUATION = "reevaluation", _("Re-evaluation")
    CLOSED = "closed", _("Closed")


STAGE_ORDER = list(Stage.values)


class Channel(models.TextChoices):
    LINK = "link", _("Personal link")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone (entered by an agent)")
    FACE = "face", _("Face to face (entered by an agent)")


class Campaign(models.Model):
    """One satisfaction survey run through the procedure (满意度调查活动)."""

    name = models.CharField(_("name"), max_length=200)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.PLAN)
    questionnaire = models.ForeignKey(Questionnaire, verbose_name=_("questionnaire"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="campaigns")
    # The survey it is compared with in the report (usually last year's).
    previous = models.ForeignKey("self", verbose_name=_("previous survey"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="survey_campaigns")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    opens_on = models.DateField(_("opens on"), null=True, blank=True)
    closes_on = models.DateField(_("closes on"), null=True, blank=True)
    fieldwork_started_at = models.DateTimeField(_("fieldwork started"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Added by the survey app (0002): the plan's text, the segment the target list was drawn from, the
    # channel of the invitations, how long a personal link stays valid.
    plan = models.TextField(_("survey plan"), blank=True, default="")
    segment = models.JSONField(_("segment"), default=dict, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices,
                               default=Channel.LINK)
    link_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=30)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="campaign_stage_known"),
            models.CheckConstraint(condition=Q(opens_on__isnull=True) | Q(closes_on__isnull=True)
                                   | Q(closes_on__gte=models.F("opens_on")), name="campaign_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """One targeted customer (and contact) of a campaign; a link invitation carries a token, stored
    only as its hash, answerable once before it expires."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("survey"), on_delete=models.CASCADE,
                                 related_name="invitations")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="survey_invitations")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.LINK)
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    # Added by the survey app (0002): who interviews the customer by phone or face to face (the account
    # manager by default), and how many reminders went out.
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("interviewer"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reminders = models.PositiveSmallIntegerField(_("reminders sent"), default=0)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="invitation_one_per_customer"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="invitation_channel_known"),
        ]
        indexes = [models.Index(fields=["campaign", "responded_at"], name="invitation_campaign_resp")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}"


class Response(models.Model):
    """A submitted questionnaire: through a link (no login) or entered by an agent."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("survey"), on_delete=models.CASCADE,
                                 related_name="responses")
    invitation = models.OneToOneField(Invitation, verbose_name=_("invitation"), null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="response")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="survey_responses")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted"))

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="response_one_per_customer"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="response_channel_known"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id}"


class Answer(models.Model):
    """One answer: a number for scales and NPS, a choice or choices, text; a matrix answers per row."""

    response = models.ForeignKey(Response, verbose_name=_("response"), on_delete=models.CASCADE,
                                 related_name="answers")
    # The response's survey, repeated (0004) so that a report's histogram of 1.4 M answers is one index-only
    # scan of (campaign, question, row, number) instead of a join through the responses.
    campaign = models.ForeignKey(Campaign, verbose_name=_("survey"), null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+", db_index=False)
    question = models.ForeignKey(Question, verbose_name=_("question"), on_delete=models.PROTECT,
                                 related_name="answers")
    row = models.CharField(_("matrix row"), max_length=50, blank=True, default="")
    number = models.SmallIntegerField(_("score"), null=True, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    text = models.TextField(_("text"), blank=True, default="")

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question", "row"], name="answer_one_per_question_row"),
            models.CheckConstraint(condition=Q(number__isnull=True) | Q(number__gte=0, number__lte=100),
                                   name="answer_number_range"),
        ]
        indexes = [models.Index(fields=["question", "number"], name="answer_question_number"),
                   models.Index(fields=["campaign", "question", "row", "number"], name="answer_campaign_histogram")]

    def __str__(self) -> str:
        return f"{self.question_id}{'/' + self.row if self.row else ''}"


class CampaignStep(models.Model):
    """The record of one move of the procedure (调查流程记录): who moved the survey from which step to which,
    when, and what the step produced — the plan text, the target list's segment and counts, the
    expectations summary, the questionnaire drafted, the review decision, …"""

    campaign = models.ForeignKey(Campaign, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="steps")
    from_stage = models.CharField(_("from step"), max_length=16, blank=True, default="")
    to_stage = models.CharField(_("to step"), max_length=16, choices=Stage.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("at"))
    note = models.TextField(_("record"), blank=True, default="")
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("survey step")
        verbose_name_plural = _("survey steps")
        ordering = ["campaign", "at", "id"]
        constraints = [models.CheckConstraint(condition=Q(to_stage__in=Stage.values), name="campaignstep_stage_known")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.from_stage}→{self.to_stage}"
