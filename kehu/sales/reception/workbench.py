"""Reception on the workbench: my walk-ins being received today, my duty today with my place in line
(1 = the next walk-in is mine) and make-ups owed, and, for a manager, refusals waiting to be handled."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.sales.reception import selectors
from kehu.sales.reception.models import EntryKind, Outcome, Refusal
from kehu.workbench.registry import NORMAL, OVERDUE, SOON, Todo, todo_provider


@todo_provider("reception", label=gettext_lazy("Reception"), order=28, more="reception:rotation",
               short=gettext_lazy("Reception"))
def reception_todos(user, *, today, now, limit):
    """My open walk-ins of today and the refusals a manager must handle (one query), my duty today (one
    query, two when on duty)."""
    if not selectors.can_read(user):
        return []
    out: list[Todo] = []
    wanted = Q(pk__in=[])
    if selectors.can_write(user):
        wanted |= Q(rep_id=user.pk, day=today, kind=EntryKind.WALK_IN, outcome=Outcome.OPEN)
    if selectors.can_manage(user):
        wanted |= Q(refusal=Refusal.PENDING)
    rows = (selectors.entry_base(actor=user).filter(wanted).select_related("rep")
            .only("id", "at", "visitor_name", "intention", "assignment", "refusal", "refusal_reason", "rep_id",
                  "rep__display_name", "rep__username").order_by("-at", "-id")[:limit])
    for e in rows:
        if e.refusal == Refusal.PENDING:
            out.append(Todo(kind="reception_refusal", title=_("Handle the refusal of %(rep)s by %(name)s") % {
                "rep": e.rep, "name": e.visitor_name}, url=reverse("reception:entry", args=[e.pk]), due=e.at,
                state=OVERDUE, detail=e.refusal_reason[:80]))
        else:
            out.append(Todo(kind="reception_walk_in", title=_("Receive the walk-in %(name)s") % {
                "name": e.visitor_name}, url=reverse("reception:entry", args=[e.pk]), due=e.at, state=SOON,
                detail=e.intention[:80] or e.get_assignment_display()))
    mine = selectors.my_duty(actor=user, day=today)
    if mine is not None:
        if mine["position"] is not None:
            title = _("On duty today: you are number %(n)d in line") % {"n": mine["position"]}
        else:
            title = _("On duty today: not at the desk")
        detail = _("Make-up turns owed: %(n)d") % {"n": mine["makeups"]} if mine["makeups"] else str(
            mine["department"])
        out.append(Todo(kind="reception_duty", title=title, url=reverse("reception:rotation"), due=today,
                        state=SOON if mine["position"] == 1 else NORMAL, detail=detail))
    return out[:limit]
