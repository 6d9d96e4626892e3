"""Symposia on the workbench: the follow-up items the user owns (to closure), and — for those who plan
symposia — a warning when none was held in the period the rule asks (一般每年进行至少一次客户座谈会)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.engagement.symposia import selectors
from kehu.workbench.registry import OVERDUE, Todo, todo_provider, urgency


@todo_provider("symposium_items", label=gettext_lazy("Symposium follow-up items"), order=46,
               more="symposia:list", short=gettext_lazy("Symposium"))
def symposium_item_todos(user, *, today, now, limit):
    out = []
    for item in selectors.my_open_items(actor=user, limit=limit):
        out.append(Todo(kind="symposium_item", title=item.title[:120],
                        url=reverse("symposia:detail", args=[item.symposium_id]), due=item.due_date,
                        state=urgency(item.due_date, now=now), detail=item.symposium.title))
    return out


@todo_provider("symposium_yearly", label=gettext_lazy("Customer symposium this year"), order=45,
               more="symposia:list", short=gettext_lazy("Symposium"))
def symposium_yearly_warning(user, *, today, now, limit):
    if not selectors.can_manage(user):
        return []
    check = selectors.yearly_check(actor=user, now=now)
    if check["ok"]:
        return []
    title = _("No customer symposium held in the last %(days)d days (at least %(n)d required)") % {
        "days": check["period_days"], "n": check["required"]}
    # Due when the last one stopped counting (or today): overdue work sorts first, so the warning shows.
    due = today
    if check["last_held_at"] is not None:
        lapsed = timezone.localtime(check["last_held_at"] + dt.timedelta(days=check["period_days"])).date()
        due = min(today, lapsed)
    return [Todo(kind="symposium_yearly", title=title, url=reverse("symposia:new"), due=due, state=OVERDUE,
                 detail=_("Plan one: invite key customers, hold it and record the minutes."))]
