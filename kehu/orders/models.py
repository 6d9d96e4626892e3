"""Orders / deliveries (订单/发货), payments (回款) and payment terms (付款条件) per customer.

Quantities are stored as entered (quantity + unit) and, for mass units, converted to tonnes in
`quantity_t` so that tonnage metrics (polyolefin monthly pickup, 004 第13篇) are one SUM."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    ERP = "erp", _("ERP")
    MANUAL = "manual", _("Manual entry")
    IMPORT = "import", _("Import")


class Unit(models.TextChoices):
    TONNE = "t", _("t")
    KILOGRAM = "kg", _("kg")
    PIECE = "piece", _("piece")


# Tonnes per unit for the mass units; a unit not listed here has no tonnage.
TONNES_PER_UNIT: dict[str, Decimal] = {Unit.TONNE: Decimal("1"), Unit.KILOGRAM: Decimal("0.001")}


def to_tonnes(quantity: Decimal, unit: str) -> Decimal | None:
    factor = TONNES_PER_UNIT.get(unit)
    if factor is None:
        return None
    return (Decimal(quantity) * factor).quantize(Decimal("0.001"))


class Channel(models.TextChoices):
    DIRECT = "direct", _("Direct sale")
    AGENT = "agent", _("Agent")
    DEALER = "dealer", _("Dealer")
    ONLINE = "online", _("Online")
    OTHER = "other", _("Other")


class TermsKind(models.TextChoices):
    PREPAY = "prepay", _("Payment before delivery")
    CREDIT = "credit", _("Credit")


class Order(models.Model):
    # No index of its own: order_customer_date leads with it (one index write less per imported order).
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="orders", db_index=False)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    order_date = models.DateField(_("order date"))
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    product_line = models.CharField(_("product line"), max_length=100)
    quantity = models.DecimalField(_("quantity"), max_digits=16, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.TONNE)
    quantity_t = models.DecimalField(_("quantity (t)"), max_digits=16, decimal_places=3, null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    gross_margin = models.DecimalField(_("gross margin"), max_digits=16, decimal_places=2, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.DIRECT)
    sales_rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "order_date"], name="order_customer_date"),
            models.Index(fields=["order_date"], name="order_by_date"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="order_unique_external_id"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order_date} {self.product_line} {self.quantity} {self.unit}"


class Payment(models.Model):
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="payments", db_index=False)  # payment_customer_due leads with it
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.PROTECT, null=True, blank=True,
                              related_name="payments")
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    due_date = models.DateField(_("due date"))
    paid_date = models.DateField(_("paid date"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-due_date", "-id"]
        indexes = [models.Index(fields=["customer", "due_date"], name="payment_customer_due")]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="payment_unique_external_id"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.due_date} {self.amount} {self.currency}"


class PaymentTerms(models.Model):
    customer = models.OneToOneField("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                    related_name="payment_terms")
    kind = models.CharField(_("kind"), max_length=10, choices=TermsKind.choices, default=TermsKind.PREPAY)
    credit_limit = models.DecimalField(_("credit limit"), max_digits=16, decimal_places=2, null=True, blank=True)
    credit_days = models.PositiveIntegerField(_("credit days"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("updated by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("payment terms")
        verbose_name_plural = _("payment terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="prepay") | Q(credit_limit__isnull=False, credit_days__isnull=False),
                name="payment_terms_credit_needs_limit_and_days"),
            models.CheckConstraint(condition=Q(credit_limit__isnull=True) | Q(credit_limit__gte=0),
                                   name="payment_terms_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class HoldStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class HeldOrder(models.Model):
    """An order refused by the customer's payment terms and sent for an exception approval
    (chain ``order_terms_exception``). Held orders are not orders: no metric counts them. The
    approval creates the order from ``data`` (and links it here); a rejection leaves no order."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="held_orders")
    data = models.JSONField(_("order data"), default=dict)
    reason = models.TextField(_("reason refused"))
    status = models.CharField(_("status"), max_length=10, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    order = models.OneToOneField(Order, verbose_name=_("order"), on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="held_as")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order awaiting terms approval")
        verbose_name_plural = _("orders awaiting terms approval")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=HoldStatus.values), name="heldorder_status_known"),
            models.CheckConstraint(condition=~Q(status="approved") | Q(order__isnull=False),
                                   name="heldorder_approved_has_order"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.data.get('order_date', '')} {self.data.get('product_line', '')}"


class ImportJobState(models.TextChoices):
    CHECKING = "checking", _("Checking (dry run)")
    CHECKED = "checked", _("Checked")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed (resumable)")


class OrderImportJob(models.Model):
    """One uploaded file of orders or payments on its way through the dry run and the import, both run
    in the worker by kehu.orders.import_jobs (the rows are written by kehu.orders.imports)."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"), on_delete=models.PROTECT,
                                   related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=[("orders", _("Orders")), ("payments", _("Payments"))])
    file_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(max_length=500)
    file_size = models.BigIntegerField(_("size"))
    state = models.CharField(_("state"), max_length=10, choices=ImportJobState.choices,
                             default=ImportJobState.CHECKING)
    rows = models.IntegerField(_("rows"), default=0)
    valid_rows = models.IntegerField(_("valid rows"), default=0)
    error_rows = models.IntegerField(_("rows with errors"), default=0)
    existing_rows = models.IntegerField(_("rows already imported"), default=0)
    written_rows = models.IntegerField(_("rows imported"), default=0)
    errors = models.JSONField(default=list)  # the dry run's report: [{"row", "messages"}], at most 1,000
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("order import")
        verbose_name_plural = _("order imports")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ImportJobState.values), name="orderimportjob_state_known"),
            models.CheckConstraint(condition=Q(kind__in=["orders", "payments"]), name="orderimportjob_kind_known"),
        ]
        indexes = [models.Index(fields=["created_by", "-id"], name="orderimportjob_user")]

    def __str__(self) -> str:
        return self.file_name
