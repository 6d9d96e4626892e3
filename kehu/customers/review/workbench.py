"""Periodic review (定期复核) on the workbench: the open review items assigned to me, soonest due first."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.customers.review.models import ItemState
from kehu.customers.review.selectors import review_item_base
from kehu.workbench.registry import Todo, todo_provider, urgency


@todo_provider("review", label=gettext_lazy("Customers to review"), order=50, more="review:mine",
               short=gettext_lazy("Review"))
def review_todos(user, *, today, now, limit):
    items = (review_item_base(actor=user).filter(assignee_id=user.pk, state=ItemState.OPEN)
             .select_related("customer").only("id", "due_date", "customer__name").order_by("due_date", "id")[:limit])
    url = reverse("review:mine")
    return [Todo(kind="review", title=_("Review customer %(name)s") % {"name": i.customer.name},
                 url=f"{url}#review-item-{i.pk}", due=i.due_date, state=urgency(i.due_date, now=now, soon=dt.timedelta(days=3)),
                 detail=_("Periodic review")) for i in items]
