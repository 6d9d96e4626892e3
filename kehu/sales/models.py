"""Sales (客户开发): the deal is fixed here because commissions (sales.commissions) and ownership
(sales.ownership) refer to it; the pipeline app adds prospects, plans, opportunities, deposits and
instalments around it in its own migrations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(condition=Q(stage__in=DealStage.values), name="deal_stage_known"),
            models.CheckConstraint(condition=~Q(stage="signed") | Q(signed_on__isnull=False),
                                   name="deal_signed_has_date"),
        ]
        indexes = [
            models.Index(fields=["rep", "signed_on"], name="deal_rep_signed"),
            models.Index(fields=["customer", "-created_at"], name="deal_customer_created"),
            models.Index(fields=["signed_on"], name="deal_signed_on"),
        ]

    def __str__(self) -> str:
        return self.title
