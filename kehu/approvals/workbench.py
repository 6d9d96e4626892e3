"""The approval engine's offer to the workbench: the tasks waiting for my decision (finance's queue
is exactly this), and their count as a headline figure."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.approvals.selectors import inbox_base, inbox_count
from kehu.workbench.registry import Figure, Todo, figure_provider, todo_provider, urgency


def _expected_by(created_at: dt.datetime) -> dt.datetime:
    # An approver is reminded after KEHU_APPROVAL_REMIND_HOURS: that is when a decision is expected.
    return created_at + dt.timedelta(hours=settings.KEHU_APPROVAL_REMIND_HOURS)


@todo_provider("approvals", label=gettext_lazy("Approvals waiting for me"), order=10, more="approvals:inbox",
               short=gettext_lazy("Approval"))
def approval_todos(user, *, today, now, limit):
    tasks = (inbox_base(actor=user).select_related("request", "request__requester")
             .only("id", "created_at", "request_id", "request__title", "request__requester__username",
                   "request__requester__display_name")
             .order_by("created_at", "id")[:limit])
    out = []
    for t in tasks:
        due = _expected_by(t.created_at)
        out.append(Todo(kind="approval", title=_("Approve: %(title)s") % {"title": t.request.title},
                        url=reverse("approvals:request", args=[t.request_id]), due=due,
                        state=urgency(due, now=now, soon=dt.timedelta(hours=8)),
                        detail=_("Requested by %(name)s") % {"name": t.request.requester}))
    return out


@figure_provider("approvals_waiting", label=gettext_lazy("Waiting for my approval"), order=60)
def approvals_waiting(user, *, today, now):
    return Figure(value=inbox_count(actor=user), url=reverse("approvals:inbox"))
