"""Care on the workbench: the account manager's care reminders whose day to remind has come."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from kehu.engagement.care import selectors
from kehu.workbench.registry import Todo, todo_provider, urgency


@todo_provider("care", label=gettext_lazy("Customer care"), order=47, more="care:reminders",
               short=gettext_lazy("Care"))
def care_todos(user, *, today, now, limit):
    return [Todo(kind="care", title=r.title, url=reverse("care:reminders") + f"#reminder-{r.pk}", due=r.occasion_date,
                 state=urgency(r.occasion_date, now=now), detail=r.get_kind_display())
            for r in selectors.my_due_reminders(actor=user, today=today, limit=limit)]
