"""Follow-ups on the workbench: my next steps due within KEHU_ENGAGEMENT["remind_days_ahead"] days (overdue
first), the follow-ups recorded this month (mine; a manager: the team's) and, for managers, the team's overdue
next steps."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm, Scope
from kehu.engagement import selectors
from kehu.engagement.services import config
from kehu.workbench.registry import Figure, Todo, figure_provider, month_start, todo_provider, urgency


@todo_provider("followups", label=gettext_lazy("Follow-up next steps"), order=25, more="engagement:list",
               short=gettext_lazy("Follow-up"))
def followup_todos(user, *, today, now, limit):
    if not user.has_kehu_perm(Perm.INTERACTION_WRITE):
        return []
    until = today + dt.timedelta(days=config()["remind_days_ahead"])
    out = []
    for it in selectors.my_open_steps(actor=user, until=until, limit=limit):
        state = urgency(it.next_step_due, now=now, soon=dt.timedelta(days=1))
        out.append(Todo(kind="followup", title=it.next_step[:80], url=reverse("engagement:detail", args=[it.pk]),
                        due=it.next_step_due, state=state, detail=it.customer.name))
    return out


def _team(user) -> bool:
    return user.role_spec.scope in (Scope.SUBTREE, Scope.ALL) and user.has_kehu_perm(Perm.INTERACTION_WRITE)


@figure_provider("followups_month", label=gettext_lazy("Follow-ups this month"), order=35)
def followups_this_month(user, *, today, now):
    if not user.has_kehu_perm(Perm.INTERACTION_WRITE):
        return None
    mine = not _team(user)
    this, previous = selectors.counts_by_month(actor=user, months=[month_start(today), month_start(today, 1)],
                                               mine=mine)
    return Figure(value=this, previous=previous,
                  url=reverse("engagement:list") + ("?view=mine" if mine else "?view=team"), note=_("last month"))


@figure_provider("followups_team_overdue", label=gettext_lazy("Team's overdue next steps"), order=36)
def team_overdue(user, *, today, now):
    if not _team(user):
        return None
    count = selectors.interaction_base(actor=user).filter(selectors.open_step_q(), next_step_due__lt=today).count()
    return Figure(value=count, url=reverse("engagement:team_overdue"))
