"""Resource allocation on the workbench (资源量分配, 004 第13篇 第十条, 第十六条: the month's allocation is decided
before the month's pickups): for those who manage allocation (Perm.ALLOCATION_MANAGE), each product line of this
month — and of next month once it starts within KEHU_WORKBENCH_HORIZON_DAYS — whose allocation is not confirmed
yet: no round, a draft to compute, a preview the plans changed since (compute again), a preview to confirm; and
the participants of the month before who have no plan yet for the month. Due on the month's first day; nothing
once the month's round is confirmed (its plans can no longer change). Read through
``selectors.month_status`` (at most three queries, none for the other roles)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kehu.grading.allocation import selectors
from kehu.grading.allocation.inputs import month_add
from kehu.grading.allocation.models import RoundState
from kehu.workbench.registry import Todo, todo_provider, urgency


def months_due(today: dt.date) -> list[dt.date]:
    """This month, and next month once its first day is within the workbench's horizon."""
    this = today.replace(day=1)
    following = month_add(this, 1)
    horizon = today + dt.timedelta(days=settings.KEHU_WORKBENCH_HORIZON_DAYS)
    return [this, following] if following <= horizon else [this]


def _query(month: dt.date, line: str) -> str:
    return urlencode({"month": month.strftime("%Y-%m"), "product_line": line})


@todo_provider("allocation", label=gettext_lazy("Resource allocation to decide"), order=55, more="allocation:rounds",
               short=gettext_lazy("Resource allocation"))
def allocation_todos(user, *, today, now, limit):
    if not selectors.can_manage(user):
        return []
    soon = dt.timedelta(hours=settings.KEHU_WORKBENCH_SOON_HOURS)
    out: list[Todo] = []
    for row in selectors.month_status(actor=user, months=months_due(today)):
        rnd, month, line = row["round"], row["month"], row["product_line"]
        if rnd is not None and rnd.state == RoundState.CONFIRMED:
            continue
        names = {"month": month.strftime("%Y-%m"), "line": line}
        state = urgency(month, now=now, soon=soon)
        if row["plans"]:
            detail = ngettext("%(n)d plan, %(t)s t planned", "%(n)d plans, %(t)s t planned", row["plans"]) % {
                "n": row["plans"], "t": f"{row['planned_t']:,.3f}"}
            if rnd is None:
                title, url = (_("No allocation round for %(month)s %(line)s yet") % names,
                              reverse("allocation:rounds") + "?" + _query(month, line))
            elif rnd.computed_at is None:
                title, url = (_("Compute the allocation of %(month)s %(line)s") % names,
                              reverse("allocation:round", args=[rnd.pk]))
            elif row["changed_at"] and row["changed_at"] > rnd.computed_at:
                title, url = (_("Plans of %(month)s %(line)s changed since the preview: compute again") % names,
                              reverse("allocation:round", args=[rnd.pk]))
            else:
                title, url = (_("Confirm the allocation of %(month)s %(line)s") % names,
                              reverse("allocation:round", args=[rnd.pk]))
            out.append(Todo(kind="allocation_round", title=title, url=url, due=month, state=state, detail=detail))
        if row["missing"]:
            out.append(Todo(kind="allocation_plans",
                            title=ngettext("%(n)d participant of %(line)s has no plan for %(month)s",
                                           "%(n)d participants of %(line)s have no plan for %(month)s",
                                           row["missing"]) % {**names, "n": row["missing"]},
                            url=reverse("allocation:plans") + "?" + _query(month, line), due=month, state=state,
                            detail=_("They had a plan the month before.")))
    return out[:limit]
