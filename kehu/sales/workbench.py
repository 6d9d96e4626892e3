"""The pipeline on the workbench, in one query: the rep's unpaid contract instalments past their due date (to dun)
and, for a manager, the instalments of their scope with an open breach case (违约) to handle."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.sales import selectors
from kehu.sales.models import BreachCase, BreachState
from kehu.workbench.registry import OVERDUE, Todo, todo_provider


@todo_provider("sales_arrears", label=gettext_lazy("Overdue instalments and breach cases"), order=36,
               more="sales:arrears", short=gettext_lazy("Arrears"))
def arrears_todos(user, *, today, now, limit):
    """My deals' overdue instalments, and (a manager) the open breach cases in scope — one query."""
    if not selectors.can_read_deals(user):
        return []
    mine = Q(rep_id=user.pk, paid_on__isnull=True, due_on__lt=today) if user.has_kehu_perm("sales.write") else None
    breach = Exists(BreachCase.objects.filter(instalment=OuterRef("pk"), state=BreachState.OPEN))
    wanted = mine
    if selectors.can_manage(user):
        wanted = breach if wanted is None else (wanted | Q(breach))
    if wanted is None:
        return []
    rows = (selectors.instalment_base(actor=user).filter(wanted).annotate(in_breach=breach)
            .select_related("deal", "deal__customer", "rep").order_by("due_on", "id")[:limit])
    out = []
    for i in rows:
        if i.in_breach and selectors.can_manage(user):
            out.append(Todo(kind="sales_breach", title=_("Breach: %(c)s owes %(a)s") % {
                "c": i.deal.customer.name, "a": i.outstanding}, url=reverse("sales:breaches"), due=i.due_on,
                state=OVERDUE, detail=f"{i.deal.title} · {i.rep}"))
        else:
            out.append(Todo(kind="sales_arrears", title=_("Collect %(a)s from %(c)s") % {
                "a": i.outstanding, "c": i.deal.customer.name}, url=reverse("sales:deal", args=[i.deal_id]),
                due=i.due_on, state=OVERDUE, detail=_("Instalment %(n)d of %(d)s, due %(day)s") % {
                    "n": i.seq, "d": i.deal.title, "day": i.due_on.isoformat()}))
    return out
