"""Visit plans and reports (客户走访, 004 第十一条 and 附件《客户走访报告单》), and executive mutual visits
(高层互访, 002 05).

- ``VisitPlan``: one account manager's annual visit plan (年度客户走访计划), with its state
  (draft → submitted → approved, or returned to draft) and the history of its moves (``PlanEvent``).
- ``ScheduledVisit``: the plan decomposed, one row per planned visit to a customer on a working day.
  A return visit to a key account (大客户回访, 004 第1篇 7) waits for a leader's authorisation before it
  can be reported.
- ``ScaleItem``: the report form's three scales as rows (quality, service attitude, product reputation),
  versioned; a report keeps the rows it was scored with, so a later version never rescales old reports.
- ``VisitReport``: the paper form's fields and the computed score.
- ``Suggestion``: a suggestion of a report, routed to a leader and departments and tracked to an answer.
- ``ExecutiveVisit``: purpose, time, place, participants on both sides, outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PlanState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")


# The allowed moves of a plan's state (an illegal move is a 409).
PLAN_TRANSITIONS = {
    PlanState.DRAFT: {PlanState.SUBMITTED},
    PlanState.SUBMITTED: {PlanState.APPROVED, PlanState.DRAFT},
    PlanState.APPROVED: {PlanState.DRAFT},
}


class VisitState(models.TextChoices):
    SCHEDULED = "scheduled", _("To visit")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class VisitSource(models.TextChoices):
    GENERATED = "generated", _("Generated from the grade's frequency")
    ADDED = "added", _("Added by hand")


class Scale(models.TextChoices):
    QUALITY = "quality", _("Quality")
    SERVICE = "service", _("Service attitude")
    REPUTATION = "reputation", _("Product reputation")


class SuggestionState(models.TextChoices):
    OPEN = "open", _("Awaiting an answer")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class SuggestionTopic(models.TextChoices):
    QUALITY = "quality", _("Product quality")
    SERVICE = "service", _("Service")
    DELIVERY = "delivery", _("Delivery")
    PRICE = "price", _("Price and terms")
    PRODUCT = "product", _("Products and new needs")
    OTHER = "other", _("Other")


class ExecutiveVisitDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Our executives visit the customer")
    INBOUND = "inbound", _("The customer's executives visit us")


class ExecutiveVisitState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class VisitPlan(models.Model):
    """An account manager's annual visit plan (年度客户走访计划)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), on_delete=models.PROTECT,
                              related_name="visit_plans")
    # The owner's department when the plan was made: the plan's data scope (a manager sees the subtree's).
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    state = models.CharField(_("state"), max_length=10, choices=PlanState.choices, default=PlanState.DRAFT)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("annual visit plan")
        verbose_name_plural = _("annual visit plans")
        ordering = ["-year", "owner_id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "year"], name="visitplan_one_per_owner_year"),
            models.CheckConstraint(condition=Q(state__in=PlanState.values), name="visitplan_state_known"),
            models.CheckConstraint(condition=Q(year__gte=2000) & Q(year__lte=2100), name="visitplan_year_range"),
            models.CheckConstraint(condition=~Q(state="approved") | Q(approved_at__isnull=False),
                                   name="visitplan_approved_has_time"),
        ]
        indexes = [models.Index(fields=["department", "year"], name="visitplan_dept_year")]

    def __str__(self) -> str:
        return f"{self.year} {self.owner_id}"


class PlanEvent(models.Model):
    """One move of a plan (generated, submitted, approved, returned, visit moved/added/cancelled)."""

    plan = models.ForeignKey(VisitPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("event time"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("moved by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(_("action"), max_length=30)
    from_state = models.CharField(_("from state"), max_length=10, blank=True, default="")
    to_state = models.CharField(_("to state"), max_length=10, blank=True, default="")
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("plan event")
        verbose_name_plural = _("plan events")
        ordering = ["plan", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.action}"


class ScheduledVisit(models.Model):
    """One planned visit of a plan to a customer, on a working day."""

    # Indexes: a company's plans write millions of rows at once, and every index is one more entry per row.
    # The plan and the customer are found through the composites below (schedvisit_plan_day,
    # schedvisit_customer_day: both lead with the key), so they have no single-column index of their own.
    plan = models.ForeignKey(VisitPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="visits",
                             db_index=False)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+", db_index=False)
    # The plan's owner and department, copied for the scope filter and its indexes. No database constraint of
    # their own (the plan's foreign keys hold them): a company's plans insert millions of rows, and each
    # deferred foreign-key check costs a trigger call at commit on PostgreSQL.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), on_delete=models.PROTECT,
                              related_name="+", db_index=False, db_constraint=False)
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    planned_on = models.DateField(_("planned date"))
    state = models.CharField(_("state"), max_length=10, choices=VisitState.choices, default=VisitState.SCHEDULED)
    source = models.CharField(_("source"), max_length=10, choices=VisitSource.choices, default=VisitSource.GENERATED)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True, default="")
    # 大客户回访 under the leadership's authorisation (004 第1篇 7).
    is_return_visit = models.BooleanField(_("return visit"), default=False)
    needs_authorisation = models.BooleanField(_("needs a leader's authorisation"), default=False)
    # Indexed only where set (schedvisit_authorised_by): nobody lists visits by their authoriser, but deleting
    # a user looks them up; generated visits never have one.
    authorised_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("authorised by"), null=True,
                                      blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    authorised_at = models.DateTimeField(_("authorised at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True, default="")
    # The follow-up that ticked the visit: at most one visit per follow-up (schedvisit_interaction_once, a
    # unique index of the linked rows only — a OneToOneField's index would hold an entry for every unlinked
    # visit on PostgreSQL, i.e. for nearly all of them).
    interaction = models.ForeignKey("engagement.Interaction", verbose_name=_("follow-up"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="scheduled_visits", db_index=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scheduled visit")
        verbose_name_plural = _("scheduled visits")
        ordering = ["planned_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=VisitState.values), name="scheduledvisit_state_known"),
            models.CheckConstraint(condition=~Q(state="cancelled") | ~Q(cancel_reason=""),
                                   name="scheduledvisit_cancel_has_reason"),
            models.CheckConstraint(condition=~Q(state="done") | Q(done_at__isnull=False),
                                   name="scheduledvisit_done_has_time"),
            models.CheckConstraint(condition=Q(authorised_at__isnull=True) | Q(needs_authorisation=True),
                                   name="scheduledvisit_authorised_only_if_needed"),
            models.UniqueConstraint(fields=["interaction"], condition=Q(interaction__isnull=False),
                                    name="schedvisit_interaction_once"),
        ]
        indexes = [
            models.Index(fields=["plan", "planned_on"], name="schedvisit_plan_day"),
            models.Index(fields=["owner", "state", "planned_on"], name="schedvisit_owner_state_day"),
            models.Index(fields=["department", "state", "planned_on"], name="schedvisit_dept_state_day"),
            models.Index(fields=["customer", "planned_on"], name="schedvisit_customer_day"),
            models.Index(fields=["authorised_by"], condition=Q(authorised_by__isnull=False),
                         name="schedvisit_authorised_by"),
            # The leaders' "awaiting authorisation" list and to-dos (a sequential scan of the table at 4M
            # visits). Generated visits never need authorisation: no entry for them, so free for the
            # company-wide generation.
            models.Index(fields=["planned_on", "id"], condition=Q(needs_authorisation=True, authorised_at__isnull=True),
                         name="schedvisit_awaiting_auth"),
        ]

    def __str__(self) -> str:
        return f"{self.planned_on} {self.customer_id}"

    @property
    def awaiting_authorisation(self) -> bool:
        return self.needs_authorisation and self.authorised_at is None


class ScaleItem(models.Model):
    """One choice of one scale of the visit report form, with its points (附件: 100, 90, 85 …)."""

    scale = models.CharField(_("scale"), max_length=12, choices=Scale.choices)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    position = models.PositiveSmallIntegerField(_("position"))
    label = models.CharField(_("label"), max_length=20)
    points = models.PositiveSmallIntegerField(_("points"))
    active = models.BooleanField(_("current version"), default=True)

    class Meta:
        verbose_name = _("report scale choice")
        verbose_name_plural = _("report scale choices")
        ordering = ["scale", "-version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["scale", "version", "position"], name="scaleitem_unique_position"),
            models.UniqueConstraint(fields=["scale", "version", "label"], name="scaleitem_unique_label"),
            models.CheckConstraint(condition=Q(points__lte=100), name="scaleitem_points_at_most_100"),
            models.CheckConstraint(condition=Q(scale__in=Scale.values), name="scaleitem_scale_known"),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.points}"


class VisitReport(models.Model):
    """A visit report (客户走访报告单, 004 附件): the customer, the three scored opinions, market
    information, needs and expectations, suggestions, and the customer's signatory."""

    visit = models.OneToOneField(ScheduledVisit, verbose_name=_("scheduled visit"), on_delete=models.PROTECT,
                                 related_name="report")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), on_delete=models.PROTECT,
                              related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField(_("visit date"))
    # The form's head, as it was on the day (the customer's record may change later).
    customer_name = models.CharField(_("customer (company name)"), max_length=200)
    customer_address = models.CharField(_("customer address"), max_length=300, blank=True, default="")
    legal_representative = models.CharField(_("legal representative (person in charge)"), max_length=100,
                                            blank=True, default="")
    quality = models.ForeignKey(ScaleItem, verbose_name=_("quality"), on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(ScaleItem, verbose_name=_("service attitude"), on_delete=models.PROTECT,
                                related_name="+")
    reputation = models.ForeignKey(ScaleItem, verbose_name=_("product reputation"), on_delete=models.PROTECT,
                                   related_name="+")
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1)
    product_info = models.TextField(_("product information"), max_length=4000, blank=True, default="")
    market_info = models.TextField(_("market information"), max_length=4000, blank=True, default="")
    needs = models.TextField(_("needs and expectations"), max_length=4000, blank=True, default="")
    other_suggestions = models.TextField(_("other suggestions"), max_length=4000, blank=True, default="")
    # 客户单位主要负责人 / 业务主办: 姓名 职务 电话 手机.
    principal_name = models.CharField(_("principal: name"), max_length=100, blank=True, default="")
    principal_title = models.CharField(_("principal: title"), max_length=100, blank=True, default="")
    principal_phone = models.CharField(_("principal: telephone"), max_length=40, blank=True, default="")
    principal_mobile = models.CharField(_("principal: mobile"), max_length=40, blank=True, default="")
    handler_name = models.CharField(_("business contact: name"), max_length=100, blank=True, default="")
    handler_title = models.CharField(_("business contact: title"), max_length=100, blank=True, default="")
    handler_phone = models.CharField(_("business contact: telephone"), max_length=40, blank=True, default="")
    handler_mobile = models.CharField(_("business contact: mobile"), max_length=40, blank=True, default="")
    # 客户单位盖章(签名) 年 月 日.
    signatory_name = models.CharField(_("customer's signatory"), max_length=100)
    signed_on = models.DateField(_("signed on"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("filed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("filed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit report")
        verbose_name_plural = _("visit reports")
        ordering = ["-visited_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="visitreport_score_0_100"),
            models.CheckConstraint(condition=~Q(signatory_name=""), name="visitreport_signatory_present"),
        ]
        indexes = [models.Index(fields=["owner", "-visited_on"], name="visitreport_owner_day"),
                   models.Index(fields=["department", "-visited_on"], name="visitreport_dept_day"),
                   models.Index(fields=["customer", "-visited_on"], name="visitreport_customer_day")]

    def __str__(self) -> str:
        return f"{self.customer_name} {self.visited_on}"


class Suggestion(models.Model):
    """A suggestion of a report, routed to the leader and departments concerned and tracked to an answer
    (004 第十一条(三): 将客户的意见及时反馈给主管领导和相关部门进行改进)."""

    report = models.ForeignKey(VisitReport, verbose_name=_("visit report"), on_delete=models.CASCADE,
                               related_name="suggestions")
    topic = models.CharField(_("topic"), max_length=12, choices=SuggestionTopic.choices)
    text = models.TextField(_("suggestion"), max_length=2000)
    addressee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("leader concerned"), null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="visit_suggestions")
    departments = models.ManyToManyField("access.Department", verbose_name=_("departments concerned"), blank=True,
                                         related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=SuggestionState.choices, default=SuggestionState.OPEN)
    due_on = models.DateField(_("answer due"))
    answer = models.TextField(_("answer"), max_length=4000, blank=True, default="")
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("answered by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer suggestion")
        verbose_name_plural = _("customer suggestions")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=SuggestionState.values), name="suggestion_state_known"),
            models.CheckConstraint(condition=Q(state="open") | (Q(answered_at__isnull=False) & ~Q(answer="")),
                                   name="suggestion_answered_has_answer"),
            models.CheckConstraint(condition=~Q(text=""), name="suggestion_text_present"),
        ]
        indexes = [models.Index(fields=["addressee", "state", "due_on"], name="suggestion_addressee_open")]

    def __str__(self) -> str:
        return self.text[:40]


class ExecutiveVisit(models.Model):
    """An executive mutual visit (高层互访): purpose, time, place, participants on both sides, outcome."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+")
    direction = models.CharField(_("direction"), max_length=10, choices=ExecutiveVisitDirection.choices,
                                 default=ExecutiveVisitDirection.OUTBOUND)
    purpose = models.CharField(_("purpose"), max_length=300)
    starts_at = models.DateTimeField(_("time"))
    place = models.CharField(_("place"), max_length=200)
    our_participants = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("our participants"),
                                              related_name="+")
    customer_participants = models.ManyToManyField("customers.Contact", verbose_name=_("customer's participants"),
                                                   blank=True, related_name="+")
    customer_participants_note = models.CharField(_("other participants of the customer"), max_length=300,
                                                  blank=True, default="")
    state = models.CharField(_("state"), max_length=10, choices=ExecutiveVisitState.choices,
                             default=ExecutiveVisitState.PLANNED)
    outcome = models.TextField(_("outcome"), max_length=4000, blank=True, default="")
    # Scope: the customer's owner and department at planning time.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), on_delete=models.PROTECT,
                              related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("planned by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("executive mutual visit")
        verbose_name_plural = _("executive mutual visits")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(purpose=""), name="execvisit_purpose_present"),
            models.CheckConstraint(condition=~Q(place=""), name="execvisit_place_present"),
            models.CheckConstraint(condition=~Q(state="done") | ~Q(outcome=""), name="execvisit_done_has_outcome"),
        ]
        indexes = [models.Index(fields=["department", "-starts_at"], name="execvisit_dept_time")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.starts_at:%Y-%m-%d}"

    @property
    def starts_at_local(self) -> str:
        """The time as a datetime-local input's value, in the local time zone."""
        from django.utils import timezone

        return timezone.localtime(self.starts_at).strftime("%Y-%m-%dT%H:%M") if self.starts_at else ""
