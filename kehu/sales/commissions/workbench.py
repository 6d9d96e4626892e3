"""Commissions on the workbench: a rep's own commission this month, with last month's beside it (one query).
A manager's commission adjustments awaiting approval reach the approvers as the approvals app's to-dos (the
adjustment is an approval request of the chain ``commission.adjustment``), so this app adds nothing for them."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm
from kehu.sales.commissions import selectors
from kehu.workbench.registry import Figure, figure_provider


@figure_provider("commission_this_month", label=gettext_lazy("My commission this month"), order=54)
def commission_this_month(user, *, today, now):
    if not user.has_kehu_perm(Perm.SALES_WRITE) or user.has_kehu_perm(Perm.SALES_MANAGE):
        return None
    this, last = selectors.my_two_months(user, today)
    if this is None and last is None:
        return None
    return Figure(value=float(this or 0), previous=float(last or 0), unit=_("yuan"),
                  url=reverse("commissions:statements"))
