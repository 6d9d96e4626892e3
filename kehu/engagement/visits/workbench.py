"""Visits on the workbench: my scheduled visits due soon or overdue, return visits awaiting my authorisation
(leaders), suggestions waiting for my answer, and the figures "visit completion this year" and "overdue
visits" of my scope."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.engagement.visits import selectors
from kehu.engagement.visits.models import SuggestionState, VisitState
from kehu.workbench.registry import Figure, Todo, figure_provider, todo_provider, urgency


@todo_provider("visits", label=gettext_lazy("Customer visits due"), order=32, more="visits:overdue",
               short=gettext_lazy("Visit"))
def visit_todos(user, *, today, now, limit):
    """My visits due within the horizon (or overdue) and, for a leader, the return visits awaiting their
    authorisation — one query."""
    if not selectors.can_read(user):
        return []
    horizon = today + dt.timedelta(days=settings.KEHU_WORKBENCH_HORIZON_DAYS)
    wanted = Q(owner_id=user.pk, planned_on__lte=horizon)
    if selectors.can_manage(user):
        wanted |= Q(needs_authorisation=True, authorised_at__isnull=True) & ~Q(owner_id=user.pk)
    visits = (selectors.visit_base(actor=user).filter(wanted, state=VisitState.SCHEDULED)
              .select_related("customer", "owner")
              .only("id", "planned_on", "owner_id", "needs_authorisation", "authorised_at", "customer__name",
                    "owner__display_name", "owner__username")
              .order_by("planned_on", "id")[:limit])
    out = []
    for v in visits:
        state = urgency(v.planned_on, now=now, soon=dt.timedelta(days=2))
        if v.owner_id == user.pk:
            out.append(Todo(kind="visit", title=_("Visit %(name)s") % {"name": v.customer.name},
                            url=reverse("visits:visit", args=[v.pk]), due=v.planned_on, state=state,
                            detail=_("Planned for %(date)s") % {"date": v.planned_on.isoformat()}))
        else:
            out.append(Todo(kind="visit_authorisation", title=_("Authorise the return visit to %(name)s")
                            % {"name": v.customer.name}, url=reverse("visits:visit", args=[v.pk]), due=v.planned_on,
                            state=state, detail=str(v.owner)))
    return out


@todo_provider("visit_suggestions", label=gettext_lazy("Customer suggestions to answer"), order=33,
               more="visits:suggestions", short=gettext_lazy("Suggestion"))
def suggestion_todos(user, *, today, now, limit):
    if not selectors.can_read(user):
        return []
    mine = Q(addressee_id=user.pk)
    if selectors.can_manage(user) and user.department_id:
        mine |= Q(departments__id=user.department_id)
    rows = (selectors.suggestion_base(actor=user).filter(mine, state=SuggestionState.OPEN)
            .select_related("report").only("id", "text", "due_on", "report__customer_name")
            .order_by("due_on", "id").distinct()[:limit])
    return [Todo(kind="visit_suggestion", title=_("Answer %(customer)s's suggestion") % {
                "customer": s.report.customer_name}, url=reverse("visits:suggestion", args=[s.pk]), due=s.due_on,
                 state=urgency(s.due_on, now=now, soon=dt.timedelta(days=2)), detail=s.text[:80]) for s in rows]


_MEMO: dict = {}


def _year_figures(user, today: dt.date, now) -> dict:
    """This year's due, done and overdue visits in the user's scope: one query, shared by both figures of
    one gathering."""
    key = (user.pk, user.role, today, now)
    if _MEMO.get("key") != key:
        cutoff = selectors.overdue_cutoff(today)
        row = (selectors.visit_base(actor=user).filter(selectors.year_q(today.year)).exclude(state=VisitState.CANCELLED)
               .aggregate(due=Count("id", filter=Q(planned_on__lte=today) | Q(state=VisitState.DONE)),
                          done=Count("id", filter=Q(state=VisitState.DONE)),
                          overdue=Count("id", filter=Q(state=VisitState.SCHEDULED, planned_on__lt=cutoff))))
        _MEMO.clear()
        _MEMO.update(key=key, row=row)
    return _MEMO["row"]


@figure_provider("visit_completion", label=gettext_lazy("Visit completion this year"), order=52)
def visit_completion(user, *, today, now):
    if not selectors.can_read(user):
        return None
    row = _year_figures(user, today, now)
    if not row["due"]:
        return None
    return Figure(value=round(100.0 * row["done"] / row["due"], 1), unit="%", url=reverse("visits:completion"))


@figure_provider("overdue_visits", label=gettext_lazy("Overdue customer visits"), order=53)
def overdue_visits(user, *, today, now):
    if not selectors.can_read(user):
        return None
    return Figure(value=_year_figures(user, today, now)["overdue"], url=reverse("visits:overdue"))
