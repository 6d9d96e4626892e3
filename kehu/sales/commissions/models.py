"""Commissions (佣金): the split rules and the rates as rows (the policy's values seeded by data migration),
each won deal's split — versioned, never overwritten: an approved adjustment adds a new version and the
old one stays as history —, its lines (who, share, amount, rule), and the adjustments asked after
closing (approved through the approval chain ``commission.adjustment``)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.sales.commissions import splits

PCT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class RuleCode(models.TextChoices):
    COMPANY_OTHER_STAFF = "company_other_staff", _("Company customer followed up by other staff")
    COMPANY_ARRANGED = "company_arranged", _("Company customer, deal arranged by the company")
    COMPANY_CUSTOMER = "company_customer", _("Company customer followed by the rep")
    DESIGNATED_MID_VISIT = "designated_mid_visit", _("Another rep designated mid-visit")
    REFERRAL = "referral", _("Referral by an employee")
    SPOUSES = "spouses", _("Spouses registered separately")
    WITHIN_VALIDITY = "within_validity", _("Another rep within the registration's validity")
    FORGOTTEN_REP = "forgotten_rep", _("Earlier rep found later")
    RETURNED_WITHIN_MONTH = "returned_within_month", _("Returned within a month after no deal")
    SAME_DAY_DOUBLE = "same_day_double", _("Received twice the same day")
    DEFAULT = "default", _("Received and closed by the rep")


class SpousesVariant(models.TextChoices):
    SPLIT = "split", _("Half each (50 / 50)")
    FIRST_RECEIVER = "first_receiver", _("All to the first receiver")


class CommissionRule(models.Model):
    """One split rule (佣金分配规则): party A's share (party B gets the rest), its precedence, on or off."""

    code = models.CharField(_("rule"), max_length=32, choices=RuleCode.choices, unique=True)
    name = models.CharField(_("name"), max_length=100)
    share_percent = models.DecimalField(_("party A's share (%)"), max_digits=5, decimal_places=2, validators=PCT)
    precedence = models.PositiveIntegerField(_("precedence"), unique=True)
    active = models.BooleanField(_("active"), default=True)
    variant = models.CharField(_("variant"), max_length=16, blank=True, default="",
                               choices=SpousesVariant.choices)
    source = models.CharField(_("policy source"), max_length=100, blank=True, default="")
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering = ["precedence"]
        constraints = [
            models.CheckConstraint(condition=Q(share_percent__gte=0) & Q(share_percent__lte=100),
                                   name="commission_rule_share_0_100"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def other_percent(self) -> Decimal:
        return Decimal("100") - self.share_percent

    def spec(self) -> splits.RuleSpec:
        return splits.RuleSpec(code=self.code, share=self.share_percent, precedence=self.precedence,
                               active=self.active, variant=self.variant)


class CommissionRate(models.Model):
    """The commission rate (佣金比例) of a product or deal type: deals whose object code starts with
    ``prefix`` (the longest matching prefix wins; the empty prefix is every deal's fallback)."""

    prefix = models.CharField(_("object code prefix"), max_length=50, unique=True, blank=True)
    name = models.CharField(_("product or deal type"), max_length=100)
    rate_percent = models.DecimalField(_("rate (%)"), max_digits=6, decimal_places=3, validators=PCT)
    active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("commission rate")
        verbose_name_plural = _("commission rates")
        ordering = ["prefix"]
        constraints = [
            models.CheckConstraint(condition=Q(rate_percent__gte=0) & Q(rate_percent__lte=100),
                                   name="commission_rate_0_100"),
        ]

    def __str__(self) -> str:
        return self.name


class EnteredBase(models.Model):
    """A commission base entered for one deal before it is won (instead of the rate)."""

    deal = models.OneToOneField("sales.Deal", verbose_name=_("deal"), on_delete=models.CASCADE,
                                related_name="commission_base_entry")
    amount = models.DecimalField(_("commission base"), max_digits=14, decimal_places=2)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), on_delete=models.PROTECT,
                                   related_name="+")
    entered_at = models.DateTimeField(_("entered"), auto_now_add=True)

    class Meta:
        verbose_name = _("entered commission base")
        verbose_name_plural = _("entered commission bases")
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="commission_entered_base_not_negative")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.amount}"


class CompanyDeclaration(models.Model):
    """公司客户申报: a sales manager declares, before the deal is won, that the customer is a company customer
    (introduced or arranged by the company or its leadership, 004 第12篇 6(1)) — a fact no registration
    shows. The commission app's facts provider passes it to the split."""

    deal = models.OneToOneField("sales.Deal", verbose_name=_("deal"), on_delete=models.CASCADE,
                                related_name="company_declaration")
    arranged_by_company = models.BooleanField(_("deal arranged directly by the company"), default=False)
    followed_up_by_other_staff = models.BooleanField(_("after-sale followed up by other staff"), default=False)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("declared by"), on_delete=models.PROTECT,
                                    related_name="+")
    declared_at = models.DateTimeField(_("declared"), auto_now=True)

    class Meta:
        verbose_name = _("company customer declaration")
        verbose_name_plural = _("company customer declarations")

    def __str__(self) -> str:
        return f"{self.deal_id}"


class BaseSource(models.TextChoices):
    RATE = "rate", _("Rate")
    ENTERED = "entered", _("Entered amount")


class DealSplit(models.Model):
    """One version of a won deal's commission split. Version 1 is computed when the deal is won; an
    approved adjustment adds the next version and marks it current. Rows are never changed otherwise."""

    deal = models.ForeignKey("sales.Deal", verbose_name=_("deal"), on_delete=models.PROTECT,
                             related_name="commission_splits")
    version = models.PositiveIntegerField(_("version"))
    current = models.BooleanField(_("current"), default=True)
    # the deal's rep and department, for scope (a manager sees the department subtree's splits)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    signed_on = models.DateField(_("signed on"))
    base = models.DecimalField(_("commission base"), max_digits=14, decimal_places=2)
    base_source = models.CharField(_("base from"), max_length=8, choices=BaseSource.choices)
    rate_percent = models.DecimalField(_("rate (%)"), max_digits=6, decimal_places=3, null=True, blank=True)
    rule = models.CharField(_("rule"), max_length=32)
    explanation_zh = models.TextField(_("explanation (Chinese)"))
    explanation_en = models.TextField(_("explanation (English)"), blank=True, default="")
    facts = models.JSONField(_("facts"), default=dict)
    adjustment = models.OneToOneField("commissions.Adjustment", verbose_name=_("adjustment"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="result")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("commission split")
        verbose_name_plural = _("commission splits")
        constraints = [
            models.UniqueConstraint(fields=["deal", "version"], name="commission_split_deal_version"),
            models.UniqueConstraint(fields=["deal"], condition=Q(current=True), name="commission_split_one_current"),
            models.CheckConstraint(condition=Q(base__gte=0), name="commission_split_base_not_negative"),
        ]
        indexes = [models.Index(fields=["signed_on", "department"], name="commission_split_month")]

    def __str__(self) -> str:
        return f"{self.deal_id} v{self.version}"

    @property
    def rule_name(self) -> str:
        if self.rule == "adjusted":
            return str(_("Adjusted after approval"))
        try:
            return str(RuleCode(self.rule).label)
        except ValueError:
            return self.rule


class SplitLine(models.Model):
    """One party's share of a split: a rep (user) or the pool (公佣, no user)."""

    split = models.ForeignKey(DealSplit, verbose_name=_("split"), on_delete=models.PROTECT, related_name="lines")
    role = models.CharField(_("role"), max_length=20)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="commission_lines")
    # the user's department when the line was written (a rep's statement is scoped by it)
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    share_percent = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2, validators=PCT)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    # copies of the split's, so a statement reads one table
    signed_on = models.DateField(_("signed on"))
    current = models.BooleanField(_("current"), default=True)

    class Meta:
        verbose_name = _("commission split line")
        verbose_name_plural = _("commission split lines")
        constraints = [
            models.CheckConstraint(condition=Q(share_percent__gt=0) & Q(share_percent__lte=100),
                                   name="commission_line_share_0_100"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="commission_line_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["user", "signed_on"], name="commission_line_user_month"),
            models.Index(fields=["signed_on", "department"], name="commission_line_month_dept"),
        ]

    def __str__(self) -> str:
        return f"{self.split_id} {self.role} {self.share_percent}%"

    @property
    def is_pool(self) -> bool:
        return self.user_id is None


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class Adjustment(models.Model):
    """A change of a closed deal's split (佣金调整), applied only once approved."""

    deal = models.ForeignKey("sales.Deal", verbose_name=_("deal"), on_delete=models.PROTECT,
                             related_name="commission_adjustments")
    from_split = models.ForeignKey(DealSplit, verbose_name=_("split changed"), on_delete=models.PROTECT,
                                   related_name="adjustments")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    base = models.DecimalField(_("commission base"), max_digits=14, decimal_places=2)
    lines = models.JSONField(_("proposed shares"))  # [{"role", "user": id|None, "share": "70.00"}]
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=12, choices=AdjustmentStatus.choices,
                              default=AdjustmentStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("commission adjustment")
        verbose_name_plural = _("commission adjustments")
        constraints = [
            models.UniqueConstraint(fields=["deal"], condition=Q(status="pending"),
                                    name="commission_adjustment_one_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id} #{self.pk} ({self.status})"
