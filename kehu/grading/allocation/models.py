"""Resource allocation (资源量分配, 004 第13篇 第十条): the participants' monthly plans (月度计划), allocation
rounds of a month's available quantity of a product line, and each round's shares with their explanation.

A plan carries its participant type (直销 / 独家代理 / 经销商) because customers have no type yet; once they
do (issue 14), the plan form will take the customer's type as its default and this column stays as the
type the plan was allocated under. A confirmed round is history: its shares are never recomputed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ParticipantType(models.TextChoices):
    DIRECT = "direct", _("Direct customer")
    EXCLUSIVE_AGENT = "exclusive_agent", _("Exclusive agent")
    DEALER = "dealer", _("Dealer")


class RoundState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")


class SalesPlan(models.Model):
    """A participant's plan for a month and product line (客户需求计划: 销售数量、提货时间)."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+", db_index=False)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    product_line = models.CharField(_("product line"), max_length=100)
    participant_type = models.CharField(_("participant type"), max_length=20, choices=ParticipantType.choices)
    quantity_t = models.DecimalField(_("planned quantity (t)"), max_digits=16, decimal_places=3)
    capacity_t = models.DecimalField(_("capacity (t)"), max_digits=16, decimal_places=3, null=True, blank=True,
                                     help_text=_("The most the participant can take this month; empty: no limit."))
    pickup_note = models.CharField(_("pickup time"), max_length=200, blank=True, default="")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("monthly plan")
        verbose_name_plural = _("monthly plans")
        ordering = ["-month", "product_line", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "month", "product_line"], name="salesplan_one_per_month_line"),
            models.CheckConstraint(condition=Q(quantity_t__gt=0), name="salesplan_quantity_positive"),
            models.CheckConstraint(condition=Q(capacity_t__isnull=True) | Q(capacity_t__gte=0),
                                   name="salesplan_capacity_not_negative"),
            models.CheckConstraint(condition=Q(participant_type__in=ParticipantType.values),
                                   name="salesplan_type_known"),
            models.CheckConstraint(condition=~Q(product_line=""), name="salesplan_product_line_present"),
        ]
        indexes = [models.Index(fields=["month", "product_line"], name="salesplan_month_line"),
                   models.Index(fields=["customer", "month"], name="salesplan_customer_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.product_line} {self.quantity_t} t"


class AllocationRound(models.Model):
    """One allocation of a month's available quantity of a product line among that month's plans."""

    month = models.DateField(_("month"))
    product_line = models.CharField(_("product line"), max_length=100)
    available_t = models.DecimalField(_("available quantity (t)"), max_digits=16, decimal_places=3)
    weight_review = models.DecimalField(_("weight of the review score"), max_digits=4, decimal_places=3)
    weight_completion = models.DecimalField(_("weight of the plan completion rate"), max_digits=4, decimal_places=3)
    weight_regularity = models.DecimalField(_("weight of the order regularity"), max_digits=4, decimal_places=3)
    lookback_months = models.PositiveSmallIntegerField(_("look-back (months)"))
    class_order = models.JSONField(_("class order"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=RoundState.choices, default=RoundState.DRAFT)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    # Filled by the computation (a preview while a draft; fixed once confirmed).
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    inputs_digest = models.CharField(max_length=64, blank=True, default="")
    total_plan_t = models.DecimalField(_("planned in total (t)"), max_digits=18, decimal_places=3, default=0)
    total_allocated_t = models.DecimalField(_("allocated in total (t)"), max_digits=18, decimal_places=3, default=0)
    summary = models.JSONField(_("summary"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("allocation round")
        verbose_name_plural = _("allocation rounds")
        ordering = ["-month", "product_line", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["month", "product_line"], condition=Q(state="confirmed"),
                                    name="allocationround_one_confirmed"),
            models.CheckConstraint(condition=Q(state__in=RoundState.values), name="allocationround_state_known"),
            models.CheckConstraint(condition=Q(available_t__gte=0), name="allocationround_available_not_negative"),
            models.CheckConstraint(condition=Q(weight_review__gte=0) & Q(weight_completion__gte=0)
                                   & Q(weight_regularity__gte=0), name="allocationround_weights_not_negative"),
            models.CheckConstraint(condition=~Q(state="confirmed") | Q(computed_at__isnull=False),
                                   name="allocationround_confirmed_was_computed"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.product_line} {self.available_t} t"


class AllocationShare(models.Model):
    """A participant's share of a round, with the inputs and the rule behind it."""

    round = models.ForeignKey(AllocationRound, verbose_name=_("round"), on_delete=models.CASCADE,
                              related_name="shares")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+")
    plan = models.ForeignKey(SalesPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="shares")
    participant_type = models.CharField(_("participant type"), max_length=20, choices=ParticipantType.choices)
    plan_t = models.DecimalField(_("planned quantity (t)"), max_digits=16, decimal_places=3)
    capacity_t = models.DecimalField(_("capacity (t)"), max_digits=16, decimal_places=3, null=True, blank=True)
    review_score = models.DecimalField(_("review score"), max_digits=6, decimal_places=2, null=True, blank=True)
    completion_rate = models.DecimalField(_("plan completion rate"), max_digits=8, decimal_places=4, null=True,
                                          blank=True)
    regularity = models.DecimalField(_("order regularity"), max_digits=6, decimal_places=4, null=True, blank=True)
    score = models.DecimalField(_("weighted score"), max_digits=6, decimal_places=2)
    allocated_t = models.DecimalField(_("allocated quantity (t)"), max_digits=16, decimal_places=3)
    rule = models.CharField(_("rule"), max_length=20)
    explanation = models.JSONField(_("explanation"), default=dict)

    class Meta:
        verbose_name = _("allocation share")
        verbose_name_plural = _("allocation shares")
        ordering = ["round", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "customer"], name="allocationshare_one_per_customer"),
            models.CheckConstraint(condition=Q(allocated_t__gte=0), name="allocationshare_allocated_not_negative"),
            models.CheckConstraint(condition=Q(allocated_t__lte=models.F("plan_t")),
                                   name="allocationshare_not_above_plan"),
            models.CheckConstraint(condition=Q(capacity_t__isnull=True) | Q(allocated_t__lte=models.F("capacity_t")),
                                   name="allocationshare_not_above_capacity"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.allocated_t} t"
