"""Surveys on the workbench: the next step of the surveys I own (plan → … → closed), and the phone or
face-to-face interviews assigned to me in surveys in fieldwork."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.surveys import rules, selectors
from kehu.surveys.models import Stage
from kehu.workbench.registry import Todo, todo_provider, urgency


@todo_provider("surveys", label=gettext_lazy("Satisfaction surveys"), order=52, more="surveys:list",
               short=gettext_lazy("Surveys"))
def survey_todos(user, *, today, now, limit):
    out = []
    for c in selectors.my_next_steps(actor=user, limit=limit):
        nxt = rules.next_stage(c.stage)
        due = c.closes_on if c.stage == Stage.FIELDWORK else None
        out.append(Todo(kind="survey_step", title=_("%(name)s: next step %(step)s") % {
            "name": c.name, "step": Stage(nxt).label}, url=reverse("surveys:campaign", args=[c.pk]), due=due,
            state=urgency(due, now=now), detail=Stage(c.stage).label))
    if selectors.can_enter(user) and len(out) < limit:
        for inv in selectors.interview_list(actor=user, mine=True, limit=limit - len(out)).items:
            out.append(Todo(kind="survey_interview", title=_("Survey interview: %(c)s") % {"c": inv.customer.name},
                            url=reverse("surveys:enter", args=[inv.campaign_id, inv.customer_id]),
                            due=inv.campaign.closes_on, state=urgency(inv.campaign.closes_on, now=now),
                            detail=inv.campaign.name))
    return out
