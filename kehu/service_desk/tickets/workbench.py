"""Service requests on the workbench: my requests whose SLA clock runs, near or past their deadline
(a manager: the department subtree's), soonest due first."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm
from kehu.service_desk.tickets import workflow
from kehu.service_desk.tickets.selectors import ticket_base
from kehu.service_desk.workbench import _horizon, _soon, mine_q
from kehu.workbench.registry import Todo, todo_provider, urgency


@todo_provider("service_requests", label=gettext_lazy("Service requests near or past their deadline"), order=25,
               more="tickets:board",
               short=gettext_lazy("Service"))
def ticket_todos(user, *, today, now, limit):
    if not user.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        return []
    rows = (ticket_base(actor=user).filter(mine_q(user, owner="accountable", helper="assignee"),
                                           state__in=workflow.SLA_STATES, due_at__lte=_horizon(now))
            .select_related("customer").only("id", "number", "subject", "due_at", "customer__name")
            .order_by("due_at", "id")[:limit])
    out = []
    for t in rows:
        state = urgency(t.due_at, now=now, soon=_soon())
        title = (_("Service request %(no)s is overdue") if state == "overdue"
                 else _("Service request %(no)s is due")) % {"no": t.number}
        out.append(Todo(kind="service_request", title=title, url=reverse("tickets:detail", args=[t.pk]),
                        due=t.due_at, state=state, detail=f"{t.subject} · {t.customer.name}"))
    return out
