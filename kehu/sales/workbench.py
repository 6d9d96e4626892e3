"""The pipeline on the workbench: the rep's overdue contract instalments (to dun), the manager's open breach cases
(违约), and the figure "amount signed this month" of the user's scope."""

from __future__ import annotations

from django.db.models import Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.sales import rules, selectors
from kehu.sales.models import BreachState, DealStage
from kehu.workbench.registry import OVERDUE, Figure, Todo, figure_provider, todo_provider


@todo_provider("sales_arrears", label=gettext_lazy("Overdue instalments"), order=36, more="sales:arrears",
               short=gettext_lazy("Arrears"))
def arrears_todos(user, *, today, now, limit):
    """My deals' unpaid instalments past their due date — one query."""
    if not selectors.can_read_deals(user) or not user.has_kehu_perm("sales.write"):
        return []
    rows = (selectors.instalment_base(actor=user).filter(rep_id=user.pk, paid_on__isnull=True, due_on__lt=today)
            .select_related("deal", "deal__customer").order_by("due_on", "id")[:limit])
    return [Todo(kind="sales_arrears", title=_("Collect %(a)s from %(c)s") % {"a": i.outstanding,
                                                                             "c": i.deal.customer.name},
                 url=reverse("sales:deal", args=[i.deal_id]), due=i.due_on, state=OVERDUE,
                 detail=_("Instalment %(n)d of %(d)s, due %(day)s") % {"n": i.seq, "d": i.deal.title,
                                                                     "day": i.due_on.isoformat()})
            for i in rows]


@todo_provider("sales_breaches", label=gettext_lazy("Breach cases"), order=37, more="sales:breaches",
               short=gettext_lazy("Breach"))
def breach_todos(user, *, today, now, limit):
    """Open breach cases in the manager's scope — one query."""
    if not selectors.can_manage(user) or not selectors.can_read_deals(user):
        return []
    rows = (selectors.breach_base(actor=user).filter(state=BreachState.OPEN).select_related("deal", "deal__customer", "rep")
            .order_by("opened_on", "id")[:limit])
    return [Todo(kind="sales_breach", title=_("Breach: %(c)s owes %(a)s") % {"c": c.deal.customer.name,
                                                                            "a": c.amount_due},
                 url=reverse("sales:breaches"), due=c.opened_on, state=OVERDUE,
                 detail=f"{c.deal.title} · {c.rep}") for c in rows]


@figure_provider("sales_signed_month", label=gettext_lazy("Amount signed this month"), order=38)
def signed_this_month(user, *, today, now):
    if not selectors.can_read_deals(user):
        return None
    start, end = rules.month_bounds(today)
    prev_start = rules.add_months(start, -1)
    row = selectors.deal_base(actor=user).filter(stage=DealStage.SIGNED, signed_on__gte=prev_start,
                                                 signed_on__lte=end).aggregate(
        now=Sum("amount", filter=Q(signed_on__gte=start)), before=Sum("amount", filter=Q(signed_on__lt=start)))
    return Figure(value=int(row["now"] or 0), previous=int(row["before"] or 0), url=reverse("sales:stats"))
