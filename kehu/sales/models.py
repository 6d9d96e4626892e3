"""Sales (客户开发): the deal is fixed here because commissions (sales.commissions) and ownership
(sales.ownership) refer to it; the pipeline app adds prospects, plans, opportunities, deposits and
instalments around it in its own migrations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DealStage(models.TextChoices):
    SMALL_DEPOSIT = "small_deposit", _("Small deposit taken")  # 小定
    LARGE_DEPOSIT = "large_deposit", _("Large deposit taken")  # 大定
    SUBSCRIBED = "subscribed", _("Subscribed")  # 认购
    SIGNED = "signed", _("Contract signed")  # 签约: the deal is won
    CANCELLED = "cancelled", _("Cancelled")  # 退定 / 撤销


class Deal(models.Model):
    """A deal with a customer (成交): its object (a product or a unit), amount and stage; won when signed."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="deals")
    title = models.CharField(_("title"), max_length=200)
    # 标的: the product or unit sold; checked as still available before a deposit is taken.
    object_code = models.CharField(_("deal object"), max_length=100, blank=True, default="")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    stage = models.CharField(_("stage"), max_length=16, choices=DealStage.choices,
                             default=DealStage.SMALL_DEPOSIT)
    # The receiving rep (接待/成交置业顾问) accountable for the deal; commissions split from here.
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="deals")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="deals")
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Pipeline (issue 13): the opportunity it closes, the inventory object it reserves, the customer's source
    # when the deal was opened (the statistics group by it), when it was cancelled.
    opportunity = models.ForeignKey("sales.Opportunity", verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="deals")
    sale_object = models.ForeignKey("sales.SaleObject", verbose_name=_("deal object"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="deals")
    source = models.CharField(_("source channel"), max_length=50, blank=True, default="")
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(condition=Q(stage__in=DealStage.values), name="deal_stage_known"),
            models.CheckConstraint(condition=~Q(stage="signed") | Q(signed_on__isnull=False),
                                   name="deal_signed_has_date"),
            # One live deal per object (一房一定): a second deposit on a reserved unit fails in the database.
            models.UniqueConstraint(fields=["sale_object"], condition=Q(sale_object__isnull=False) & ~Q(stage="cancelled"),
                                    name="deal_one_live_per_object"),
        ]
        indexes = [
            models.Index(fields=["rep", "signed_on"], name="deal_rep_signed"),
            models.Index(fields=["customer", "-created_at"], name="deal_customer_created"),
            models.Index(fields=["signed_on"], name="deal_signed_on"),
            models.Index(fields=["department", "signed_on"], name="deal_dept_signed"),
        ]

    def __str__(self) -> str:
        return self.title


# ---------------------------------------------------------------- pipeline (issue 13): configurable rows

class ProspectSource(models.Model):
    """A source of prospects (客户来源: 来访, 来电, 转介绍, 网络, 展会 …) as data; a customer's ``source`` holds its
    code or its name."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=50)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("prospect source")
        verbose_name_plural = _("prospect sources")
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=~Q(code=""), name="prospectsource_code_required")]

    def __str__(self) -> str:
        return self.name


class OpportunityStage(models.Model):
    """A stage of the opportunity funnel (商机阶段) with its win probability; exactly the rows marked won or lost
    close an opportunity."""

    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=50)
    position = models.PositiveSmallIntegerField(_("order"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("opportunity stage")
        verbose_name_plural = _("opportunity stages")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="oppstage_probability_range"),
            models.CheckConstraint(condition=~(Q(is_won=True) & Q(is_lost=True)), name="oppstage_not_won_and_lost"),
            models.CheckConstraint(condition=~Q(is_won=True) | Q(probability=100), name="oppstage_won_is_certain"),
            models.CheckConstraint(condition=~Q(is_lost=True) | Q(probability=0), name="oppstage_lost_is_zero"),
        ]

    def __str__(self) -> str:
        return self.name


class LostReason(models.Model):
    """Why an opportunity or a customer was lost (丢单原因), as data for the lost-customer analysis."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Competitor(models.Model):
    """A competitor a deal was lost to (竞争对手)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SalesPolicy(models.Model):
    """The pipeline's business figures (one row, the policy's values as defaults): when an unpaid instalment gets
    its dunning notice (催款通知), how often it is repeated, and after how many months of arrears a breach case
    (违约) opens for the manager."""

    dunning_grace_days = models.PositiveSmallIntegerField(_("days overdue before the first dunning notice"),
                                                          default=1)
    dunning_repeat_days = models.PositiveSmallIntegerField(_("days between dunning notices"), default=7)
    breach_after_months = models.PositiveSmallIntegerField(_("months overdue that open a breach case"), default=2)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("sales policy")
        verbose_name_plural = _("sales policy")
        constraints = [
            models.CheckConstraint(condition=Q(dunning_repeat_days__gte=1), name="salespolicy_repeat_positive"),
            models.CheckConstraint(condition=Q(breach_after_months__gte=1), name="salespolicy_breach_positive"),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


# ---------------------------------------------------------------- development plans (开发计划)

class PlanState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class DevelopmentPlan(models.Model):
    """A rep's or a department's customer development plan (客户开发计划): targets, deadline, budget and the support
    needed from other departments; approved by the department head, then the managers' meeting (经理办公会)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="development_plans")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    title = models.CharField(pgettext_lazy("sales", "title"), max_length=200)
    starts_on = models.DateField(_("starts on"))
    deadline = models.DateField(_("deadline"))
    target_prospects = models.PositiveIntegerField(_("target: new prospects"), default=0)
    target_opportunities = models.PositiveIntegerField(_("target: new opportunities"), default=0)
    target_deals = models.PositiveIntegerField(_("target: deals signed"), default=0)
    target_amount = models.DecimalField(_("target: amount signed"), max_digits=14, decimal_places=2, default=0)
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2, default=0)
    support_needed = models.TextField(_("support needed from other departments"), blank=True, default="")
    support_departments = models.ManyToManyField("access.Department", verbose_name=_("departments asked for support"),
                                                 blank=True, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=PlanState.choices, default=PlanState.DRAFT)
    approval_request_id = models.BigIntegerField(_("approval request"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("development plan")
        verbose_name_plural = _("development plans")
        constraints = [
            models.CheckConstraint(condition=Q(deadline__gte=models.F("starts_on")), name="devplan_deadline_after_start"),
            models.CheckConstraint(condition=Q(budget__gte=0) & Q(target_amount__gte=0), name="devplan_money_not_negative"),
            models.CheckConstraint(condition=Q(state__in=PlanState.values), name="devplan_state_known"),
            models.CheckConstraint(condition=~Q(state="approved") | Q(approved_at__isnull=False),
                                   name="devplan_approved_has_time"),
        ]
        indexes = [models.Index(fields=["department", "-starts_on"], name="devplan_dept_start"),
                   models.Index(fields=["owner", "-starts_on"], name="devplan_owner_start")]

    def __str__(self) -> str:
        return self.title


# ---------------------------------------------------------------- opportunities (商机)

class Outcome(models.TextChoices):
    OPEN = "open", pgettext_lazy("sales", "Open")
    WON = "won", pgettext_lazy("sales", "Won")
    LOST = "lost", pgettext_lazy("sales", "Lost")


class Opportunity(models.Model):
    """An opportunity (商机) with a customer through the configurable stages: amount, expected close month; won or
    lost (with the reason and the competitor)."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="opportunities")
    title = models.CharField(pgettext_lazy("sales", "title"), max_length=200)
    stage = models.ForeignKey(OpportunityStage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(pgettext_lazy("sales", "outcome"), max_length=8, choices=Outcome.choices, default=Outcome.OPEN)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expected_close = models.DateField(_("expected close month"))  # the first day of the month
    source = models.CharField(_("source channel"), max_length=50, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                              related_name="opportunities")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    lost_reason = models.ForeignKey(LostReason, verbose_name=_("lost reason"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="opportunities")
    competitor = models.ForeignKey(Competitor, verbose_name=_("competitor"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="opportunities")
    lost_note = models.CharField(_("lost note"), max_length=500, blank=True, default="")
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opp_amount_not_negative"),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="opp_outcome_known"),
            models.CheckConstraint(condition=Q(outcome="open") | Q(closed_on__isnull=False), name="opp_closed_has_date"),
            models.CheckConstraint(condition=~Q(outcome="lost") | Q(lost_reason__isnull=False),
                                   name="opp_lost_has_reason"),
            models.CheckConstraint(condition=Q(outcome="lost") | (Q(lost_reason__isnull=True) & Q(competitor__isnull=True)),
                                   name="opp_reason_only_when_lost"),
        ]
        indexes = [
            models.Index(fields=["owner", "outcome", "expected_close"], name="opp_owner_outcome"),
            models.Index(fields=["department", "outcome", "expected_close"], name="opp_dept_outcome"),
            models.Index(fields=["customer", "-created_at"], name="opp_customer_created"),
            models.Index(fields=["closed_on"], name="opp_closed_on"),
        ]

    def __str__(self) -> str:
        return self.title


class OpportunityEvent(models.Model):
    """One move of an opportunity (created, stage changed, won, lost)."""

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE,
                                    related_name="events")
    at = models.DateTimeField(_("event time"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("moved by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(_("action"), max_length=30)
    from_stage = models.CharField(_("from stage"), max_length=50, blank=True, default="")
    to_stage = models.CharField(_("to stage"), max_length=50, blank=True, default="")
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("opportunity event")
        verbose_name_plural = _("opportunity events")
        ordering = ["opportunity", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.opportunity_id} {self.action}"

    def label(self) -> str:
        return str(OPPORTUNITY_EVENT_LABELS.get(self.action, self.action))


# ---------------------------------------------------------------- deal objects, deposits, instalments

class ObjectKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    UNIT = "unit", pgettext_lazy("sales object", "Unit")


class ObjectStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved")
    SOLD = "sold", _("Sold")


class SaleObject(models.Model):
    """What a deal sells (标的): a product or a unit (房号/车位/设备) from the inventory, available, reserved by a live
    deal or sold."""

    code = models.CharField(_("code"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=ObjectKind.choices, default=ObjectKind.UNIT)
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=10, choices=ObjectStatus.choices, default=ObjectStatus.AVAILABLE)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("deal object")
        verbose_name_plural = _("deal objects")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ObjectStatus.values), name="saleobject_status_known"),
            models.CheckConstraint(condition=Q(kind__in=ObjectKind.values), name="saleobject_kind_known"),
            models.CheckConstraint(condition=Q(list_price__gte=0), name="saleobject_price_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "code"], name="saleobject_status_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


DEAL_EVENT_LABELS = {
    "create": _("Deal opened"),
    "small_deposit_recorded": _("Small deposit recorded"),
    "large_deposit_recorded": _("Large deposit recorded"),
    "instalment_paid": _("Instalment payment recorded"),
}
OPPORTUNITY_EVENT_LABELS = {
    "create": _("Opportunity opened"),
    "move": _("Stage changed"),
    "won": pgettext_lazy("sales", "Won"),
    "lost": pgettext_lazy("sales", "Lost"),
}


class DealEvent(models.Model):
    """One move of a deal through the allowed-transition map (小定 → 大定 → 认购 → 签约, or 撤销)."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("event time"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("moved by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(_("action"), max_length=30)
    from_stage = models.CharField(_("from stage"), max_length=16, blank=True, default="")
    to_stage = models.CharField(_("to stage"), max_length=16, blank=True, default="")
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("deal event")
        verbose_name_plural = _("deal events")
        ordering = ["deal", "-at", "-id"]

    def __str__(self) -> str:
        return f"{self.deal_id} {self.action}"

    def label(self) -> str:
        """What happened, for people: the move's stage, or the deposit / payment recorded."""
        if self.action in DEAL_EVENT_LABELS:
            return str(DEAL_EVENT_LABELS[self.action])
        return str(dict(DealStage.choices).get(self.action, self.action))


class PaymentKind(models.TextChoices):
    SMALL_DEPOSIT = "small_deposit", _("Small deposit")  # 小定
    LARGE_DEPOSIT = "large_deposit", _("Large deposit")  # 大定
    INSTALMENT = "instalment", _("Instalment payment")  # 合同分期款
    OTHER = "other", _("Other payment")


class DealPayment(models.Model):
    """Money received for a deal (定金登记 / 收款), recorded by finance only: a small or large deposit, or a payment
    of a contract instalment."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(_("kind"), max_length=16, choices=PaymentKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    received_on = models.DateField(_("received on"))
    method = models.CharField(_("payment method"), max_length=50, blank=True, default="")
    receipt_no = models.CharField(_("receipt number"), max_length=50, blank=True, default="")
    instalment = models.ForeignKey("sales.Instalment", verbose_name=_("instalment"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="payments")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("deal payment")
        verbose_name_plural = _("deal payments")
        ordering = ["deal", "received_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dealpayment_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=PaymentKind.values), name="dealpayment_kind_known"),
            models.CheckConstraint(condition=~Q(kind="instalment") | Q(instalment__isnull=False),
                                   name="dealpayment_instalment_named"),
        ]
        indexes = [models.Index(fields=["kind", "received_on"], name="dealpayment_kind_day")]

    def __str__(self) -> str:
        return f"{self.deal_id} {self.kind} {self.amount}"


class Instalment(models.Model):
    """One instalment of a signed contract (合同分期付款): due date, amount, what has been paid."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="instalments")
    seq = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_amount = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, default=0)
    paid_on = models.DateField(_("paid in full on"), null=True, blank=True)
    # The deal's rep and department copied for the scope filter of the dunning and breach lists.
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["deal", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "seq"], name="instalment_seq_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")),
                                   name="instalment_paid_within_amount"),
            models.CheckConstraint(condition=Q(paid_on__isnull=True) | Q(paid_amount=models.F("amount")),
                                   name="instalment_paid_on_when_full"),
        ]
        indexes = [models.Index(fields=["paid_on", "due_on"], name="instalment_unpaid_due"),
                   models.Index(fields=["rep", "due_on"], name="instalment_rep_due")]

    def __str__(self) -> str:
        return f"{self.deal_id}#{self.seq}"

    @property
    def outstanding(self):
        return self.amount - self.paid_amount


class DunningNotice(models.Model):
    """A dunning notice (催款通知) for an overdue instalment, printable and sent to the rep."""

    instalment = models.ForeignKey(Instalment, verbose_name=_("instalment"), on_delete=models.PROTECT,
                                   related_name="dunning_notices")
    issued_on = models.DateField(_("issued on"))
    days_overdue = models.PositiveIntegerField(_("days overdue"))
    amount_due = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("dunning notice")
        verbose_name_plural = _("dunning notices")
        constraints = [
            models.UniqueConstraint(fields=["instalment", "issued_on"], name="dunning_one_per_instalment_day"),
            models.CheckConstraint(condition=Q(amount_due__gt=0), name="dunning_amount_positive"),
        ]
        indexes = [models.Index(fields=["rep", "-issued_on"], name="dunning_rep_issued"),
                   models.Index(fields=["department", "-issued_on"], name="dunning_dept_issued")]

    def __str__(self) -> str:
        return f"{self.instalment_id} {self.issued_on}"


class BreachState(models.TextChoices):
    OPEN = "open", pgettext_lazy("breach case", "Open")
    CLOSED = "closed", _("Closed")


class BreachCase(models.Model):
    """A breach case (违约) opened when an instalment is more than the policy's months overdue; the manager handles
    it and closes it with a written resolution."""

    instalment = models.ForeignKey(Instalment, verbose_name=_("instalment"), on_delete=models.PROTECT,
                                   related_name="breach_cases")
    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.PROTECT, related_name="breach_cases")
    opened_on = models.DateField(_("opened on"))
    amount_due = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    state = models.CharField(_("state"), max_length=8, choices=BreachState.choices, default=BreachState.OPEN)
    resolution = models.TextField(_("resolution"), blank=True, default="")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("breach case")
        verbose_name_plural = _("breach cases")
        constraints = [
            models.UniqueConstraint(fields=["instalment"], condition=Q(state="open"), name="breach_one_open_per_instalment"),
            models.CheckConstraint(condition=Q(state__in=BreachState.values), name="breach_state_known"),
            models.CheckConstraint(condition=Q(state="open") | (Q(closed_at__isnull=False) & ~Q(resolution="")),
                                   name="breach_closed_has_resolution"),
        ]
        indexes = [models.Index(fields=["department", "state"], name="breach_dept_state")]

    def __str__(self) -> str:
        return f"{self.deal_id} {self.opened_on}"
