"""Inspections (巡检) on the workbench: my scheduled visits due soon or overdue, and the number of
overdue visits in my scope."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.service_desk.inspections.models import VisitState
from kehu.service_desk.inspections.selectors import can_read, visit_base
from kehu.workbench.registry import Figure, Todo, figure_provider, todo_provider, urgency


@todo_provider("inspections", label=gettext_lazy("Inspections due"), order=30, more="inspections:visits",
               short=gettext_lazy("Inspection"))
def inspection_todos(user, *, today, now, limit):
    if not can_read(user):
        return []
    horizon = today + dt.timedelta(days=settings.KEHU_WORKBENCH_HORIZON_DAYS)
    visits = (visit_base(actor=user).filter(inspector_id=user.pk, state=VisitState.SCHEDULED, due_date__lte=horizon)
              .select_related("customer").only("id", "due_date", "scheduled_date", "customer__name")
              .order_by("due_date", "id")[:limit])
    return [Todo(kind="inspection", title=_("Inspect %(name)s") % {"name": v.customer.name},
                 url=reverse("inspections:visit_detail", args=[v.pk]), due=v.due_date,
                 state=urgency(v.due_date, now=now, soon=dt.timedelta(days=2)),
                 detail=_("Scheduled for %(date)s") % {"date": v.scheduled_date.isoformat()}) for v in visits]


@figure_provider("overdue_inspections", label=gettext_lazy("Overdue inspections"), order=50)
def overdue_inspections(user, *, today, now):
    if not can_read(user):
        return None
    value = visit_base(actor=user).filter(state=VisitState.SCHEDULED, overdue_at__isnull=False).count()
    return Figure(value=value, url=reverse("inspections:visits") + "?show=overdue")
