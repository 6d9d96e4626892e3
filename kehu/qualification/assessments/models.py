"""Customer assessments (客户考评, seed 004 第13篇 第十、十六条): a run per quarter, half-year or year scores every
customer set-based (admission re-checked, plan completion, order regularity, cooperation by hand, credit);
finalising it hands the scores to grading; an assessment may propose changed payment terms (款到发货 /
credit limit), decided through the approval chain ``customer.credit_terms``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PeriodKind(models.TextChoices):
    QUARTER = "quarter", _("Quarterly")
    HALF = "half", _("Half-yearly")
    YEAR = "year", _("Yearly")


class RunState(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("assessment", "Draft")
    FINAL = "final", pgettext_lazy("assessment", "Final")


class CustomerType(models.TextChoices):
    DIRECT = "direct", _("Direct customer")
    EXCLUSIVE_AGENT = "exclusive_agent", _("Exclusive agent")
    DEALER = "dealer", _("Dealer")


class Result(models.TextChoices):
    EXCELLENT = "excellent", _("Excellent")
    GOOD = "good", pgettext_lazy("assessment", "Good")
    QUALIFIED = "qualified", _("Qualified")
    UNQUALIFIED = "unqualified", _("Unqualified")
    UNRATED = "unrated", _("Not rated")


class AssessmentRun(models.Model):
    """The assessment of one period (e.g. 2026Q3), computed for every customer at once."""

    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("number"))
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    label = models.CharField(_("period"), max_length=10)
    state = models.CharField(_("state"), max_length=6, choices=RunState.choices, default=RunState.DRAFT)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("run by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("run at"), auto_now_add=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    finalized_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("finalised by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    finalized_at = models.DateTimeField(_("finalised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["period_kind", "year", "number"], name="assessment_run_one_per_period"),
            models.CheckConstraint(condition=Q(period_kind__in=PeriodKind.values), name="assessment_run_kind_known"),
            models.CheckConstraint(condition=Q(state__in=RunState.values), name="assessment_run_state_known"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="assessment_run_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.get_period_kind_display()}"


class Assessment(models.Model):
    """One customer's assessment in a run: the facts, the item scores, the total and the result."""

    run = models.ForeignKey(AssessmentRun, verbose_name=_("assessment run"), on_delete=models.CASCADE,
                            related_name="assessments")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="+", db_index=False)
    customer_name = models.CharField(_("customer"), max_length=200)
    # The customer's account manager and department when assessed: the row's scope.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    customer_type = models.CharField(_("customer type"), max_length=16, choices=CustomerType.choices)
    planned_t = models.DecimalField(_("planned (t)"), max_digits=16, decimal_places=3, default=0)
    ordered_t = models.DecimalField(_("taken (t)"), max_digits=16, decimal_places=3, default=0)
    months_with_orders = models.PositiveSmallIntegerField(_("months with orders"), default=0)
    due_amount = models.DecimalField(_("amount due"), max_digits=18, decimal_places=2, default=0)
    paid_on_time_amount = models.DecimalField(_("paid on time"), max_digits=18, decimal_places=2, default=0)
    admission_score = models.DecimalField(_("admission"), max_digits=5, decimal_places=2, null=True, blank=True)
    plan_score = models.DecimalField(_("plan completion"), max_digits=5, decimal_places=2, null=True, blank=True)
    regularity_score = models.DecimalField(_("order regularity"), max_digits=5, decimal_places=2, null=True,
                                           blank=True)
    cooperation_score = models.DecimalField(_("cooperation"), max_digits=5, decimal_places=2, null=True, blank=True)
    cooperation_note = models.CharField(_("cooperation note"), max_length=500, blank=True, default="")
    cooperation_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("cooperation scored by"), null=True,
                                       blank=True, on_delete=models.SET_NULL, related_name="+")
    cooperation_at = models.DateTimeField(_("cooperation scored at"), null=True, blank=True)
    credit_score = models.DecimalField(_("credit"), max_digits=5, decimal_places=2, null=True, blank=True)
    total = models.DecimalField(_("score"), max_digits=5, decimal_places=2, null=True, blank=True)
    result = models.CharField(_("result"), max_length=12, choices=Result.choices, default=Result.UNRATED)
    terms_kind = models.CharField(_("payment terms"), max_length=10, blank=True, default="")

    class Meta:
        verbose_name = _("customer assessment")
        verbose_name_plural = _("customer assessments")
        ordering = ["run", "-total", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="assessment_once_per_run"),
            models.CheckConstraint(condition=Q(result__in=Result.values), name="assessment_result_known"),
            models.CheckConstraint(condition=Q(cooperation_score__isnull=True)
                                   | (Q(cooperation_score__gte=0) & Q(cooperation_score__lte=100)),
                                   name="assessment_cooperation_0_100"),
        ]
        indexes = [models.Index(fields=["customer", "run"], name="assessment_customer"),
                   models.Index(fields=["run", "department"], name="assessment_run_department")]

    def __str__(self) -> str:
        return f"{self.run.label} {self.customer_name}"


class TermsProposal(models.Model):
    """Changed payment terms proposed by an assessment (款到发货 ↔ 信用额度), decided by the line manager, finance and the general
    manager; the approval applies them through kehu.orders.services.payment_terms_set."""

    assessment = models.ForeignKey(Assessment, verbose_name=_("customer assessment"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="terms_proposals")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    current = models.JSONField(_("current terms"), default=dict, blank=True)
    kind = models.CharField(_("payment terms"), max_length=10)
    credit_limit = models.DecimalField(_("credit limit"), max_digits=16, decimal_places=2, null=True, blank=True)
    credit_days = models.PositiveIntegerField(_("credit days"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=10, default="pending")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment terms proposal")
        verbose_name_plural = _("payment terms proposals")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["prepay", "credit"]), name="terms_proposal_kind_known"),
            models.CheckConstraint(condition=Q(kind="prepay") | Q(credit_limit__isnull=False, credit_days__isnull=False),
                                   name="terms_proposal_credit_complete"),
            models.CheckConstraint(condition=~Q(reason=""), name="terms_proposal_reason_present"),
            models.UniqueConstraint(fields=["customer"], condition=Q(state__in=["pending", "returned"]),
                                    name="terms_proposal_one_open_per_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.kind}"
