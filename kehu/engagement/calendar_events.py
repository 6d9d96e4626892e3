"""Open next steps of my follow-ups in the personal calendar (kehu/engagement/calendar.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.engagement.calendar import CalendarEvent, calendar_provider
from kehu.engagement.selectors import open_steps_between


@calendar_provider("followup", label=gettext_lazy("Follow-up next steps"))
def followup_events(user, *, start, end):
    return [CalendarEvent(uid=f"interaction-next-{it.pk}@kehu", kind="followup",
                          title=_("Next step: %(step)s") % {"step": it.next_step[:80]}, start=it.next_step_due,
                          url=reverse("engagement:detail", args=[it.pk]), detail=it.customer.name)
            for it in open_steps_between(actor=user, start=start, end=end)]
