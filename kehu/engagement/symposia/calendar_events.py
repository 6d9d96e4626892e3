"""Symposia on the personal calendar: the symposia the user sees (plans, runs, or whose invitees are the
user's customers) and the follow-up items the user owns (all-day, on their due date)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.engagement.calendar import CalendarEvent, calendar_provider
from kehu.engagement.symposia import selectors
from kehu.engagement.symposia.models import FollowUpItem, ItemState, SymposiumState

LIMIT = 500


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    return (dt.datetime.combine(start, dt.time(0), tzinfo=tz), dt.datetime.combine(end, dt.time(0), tzinfo=tz))


@calendar_provider("symposium", label=gettext_lazy("Symposia"))
def symposium_events(user, *, start: dt.date, end: dt.date):
    lo, hi = _bounds(start, end)
    out = []
    qs = (selectors.symposium_base(actor=user).filter(starts_at__gte=lo, starts_at__lt=hi)
          .exclude(state=SymposiumState.CANCELLED).order_by("starts_at", "id")[:LIMIT])
    for s in qs:
        out.append(CalendarEvent(uid=f"symposium-{s.pk}@kehu", kind="symposium", title=_("Symposium: %(t)s") % {"t": s.title},
                                 start=s.starts_at, end=s.ends_at or s.starts_at + dt.timedelta(hours=3),
                                 url=reverse("symposia:detail", args=[s.pk]), location=s.place,
                                 detail=s.get_state_display()))
    items = (FollowUpItem.objects.filter(owner=user, state=ItemState.OPEN, due_date__gte=start, due_date__lt=end)
             .select_related("symposium").order_by("due_date", "id")[:LIMIT])
    for item in items:
        out.append(CalendarEvent(uid=f"symposium-item-{item.pk}@kehu", kind="symposium",
                                 title=_("Symposium follow-up: %(t)s") % {"t": item.title[:80]}, start=item.due_date,
                                 url=reverse("symposia:detail", args=[item.symposium_id]), detail=item.symposium.title))
    return out
