"""Care on the personal calendar (the user's own care reminders, all-day on the occasion), and the
registration of the service desk's sources (inspections, deadlines: calendar_sources.py)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext_lazy

from kehu.engagement.calendar import CalendarEvent, calendar_provider
from kehu.engagement.care import calendar_sources, selectors
from kehu.engagement.care.models import CareReminder, ReminderState

LIMIT = 500


@calendar_provider("care", label=gettext_lazy("Customer care"))
def care_events(user, *, start: dt.date, end: dt.date):
    if not selectors.can_read(user):
        return []
    qs = (CareReminder.objects.filter(owner=user, state__in=[ReminderState.PENDING, ReminderState.DONE],
                                      occasion_date__gte=start, occasion_date__lt=end,
                                      customer__deleted_at__isnull=True)
          .order_by("occasion_date", "id")[:LIMIT])
    return [CalendarEvent(uid=f"care-{r.pk}@kehu", kind="care", title=r.title, start=r.occasion_date,
                          url=reverse("care:reminders") + f"#reminder-{r.pk}", detail=r.get_kind_display())
            for r in qs]


calendar_provider("inspection", label=gettext_lazy("Inspections"))(calendar_sources.inspection_events)
calendar_provider("deadline", label=gettext_lazy("Deadlines"))(calendar_sources.deadline_events)
