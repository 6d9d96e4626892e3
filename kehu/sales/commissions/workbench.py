"""Commissions on the workbench: a rep's commission this month (with last month's), and for a manager the
commission adjustments of the scope awaiting approval (the approval tasks themselves reach the approvers
through the approvals app's to-dos)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm
from kehu.sales.commissions import selectors
from kehu.sales.commissions.models import AdjustmentStatus
from kehu.workbench.registry import Figure, figure_provider


@figure_provider("commission_this_month", label=gettext_lazy("My commission this month"), order=54)
def commission_this_month(user, *, today, now):
    if not user.has_kehu_perm(Perm.SALES_WRITE):
        return None
    this, last = selectors.my_two_months(user, today)
    if this is None and last is None:
        return None
    return Figure(value=float(this or 0), previous=float(last or 0), unit=_("yuan"),
                  url=reverse("commissions:statements"))


@figure_provider("commission_adjustments", label=gettext_lazy("Commission adjustments awaiting approval"),
                 order=55)
def commission_adjustments(user, *, today, now):
    if not selectors.can_manage(user):
        return None
    n = selectors.adjustment_base(actor=user).filter(status=AdjustmentStatus.PENDING).count()
    return Figure(value=n, url=reverse("commissions:statements")) if n else None
