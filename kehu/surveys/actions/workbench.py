"""Survey analysis and action on the workbench: my action items due within a week or overdue (to closure),
my follow-ups of detractors and low scores (due a few days after the answer), and — for those who manage
surveys — a warning when none of their customers' surveys reached the fieldwork in the last 12 months
(每年至少开展一次客户满意度调查). One query each."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.surveys import selectors as survey_selectors
from kehu.surveys.actions import selectors
from kehu.workbench.registry import OVERDUE, Todo, todo_provider, urgency


def follow_up_days() -> int:
    from kehu.surveys.services import config

    return int(config().get("follow_up_days", 3))


@todo_provider(
    "survey_action_items",
    label=gettext_lazy("Survey action items"),
    order=53,
    more="survey_actions:actions",
    short=gettext_lazy("Survey action"),
)
def survey_action_todos(user, *, today, now, limit):
    return [
        Todo(
            kind="survey_action",
            title=item.title[:120],
            url=reverse("survey_actions:actions"),
            due=item.due_date,
            state=urgency(item.due_date, now=now),
            detail=item.campaign.name,
        )
        for item in selectors.my_open_items(actor=user, limit=limit)
    ]


@todo_provider(
    "survey_follow_ups",
    label=gettext_lazy("Survey follow-ups"),
    order=54,
    more="survey_actions:follow_ups",
    short=gettext_lazy("Survey follow-up"),
)
def survey_follow_up_todos(user, *, today, now, limit):
    days = follow_up_days()
    out = []
    for f in selectors.my_open_follow_ups(actor=user, limit=limit):
        due = timezone.localtime(f.created_at).date() + dt.timedelta(days=days)
        title = (
            _("Call back %(c)s: NPS %(n)d") % {"c": f.customer.name, "n": f.nps}
            if f.nps is not None and f.nps <= 6
            else _("Call back %(c)s: low score") % {"c": f.customer.name}
        )
        out.append(
            Todo(
                kind="survey_follow_up",
                title=title,
                url=reverse("survey_actions:follow_ups"),
                due=due,
                state=urgency(due, now=now),
                detail=f.campaign.name,
            )
        )
    return out


@todo_provider(
    "survey_yearly",
    label=gettext_lazy("Satisfaction survey this year"),
    order=51,
    more="surveys:list",
    short=gettext_lazy("Surveys"),
)
def survey_yearly_warning(user, *, today, now, limit):
    if not survey_selectors.can_manage(user):
        return []
    check = selectors.yearly_check(actor=user, now=now)
    if check["ok"]:
        return []
    due = today
    if check["last_started_at"] is not None:
        lapsed = timezone.localtime(check["last_started_at"] + dt.timedelta(days=check["period_days"])).date()
        due = min(today, lapsed)
    return [
        Todo(
            kind="survey_yearly",
            title=_("No satisfaction survey of your customers in the last 12 months"),
            url=reverse("surveys:list"),
            due=due,
            state=OVERDUE,
            detail=_("The policy asks for at least one survey a year: plan one."),
        )
    ]
