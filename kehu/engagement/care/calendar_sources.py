"""Calendar providers for the service desk's dates (registered from care's calendar_events): the user's
scheduled inspection visits, and the due dates of the complaints and service requests the user is
accountable for. Read through those apps' scoped selectors; a user without their permission gets none."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.engagement.calendar import CalendarEvent
from kehu.errors import Forbidden

LIMIT = 500


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_default_timezone()
    return dt.datetime.combine(start, dt.time(0), tzinfo=tz), dt.datetime.combine(end, dt.time(0), tzinfo=tz)


def inspection_events(user, *, start: dt.date, end: dt.date) -> list[CalendarEvent]:
    from kehu.service_desk.inspections.models import VisitState
    from kehu.service_desk.inspections.selectors import visit_base

    try:
        qs = visit_base(actor=user)
    except Forbidden:
        return []
    visits = (qs.filter(inspector=user, state=VisitState.SCHEDULED, scheduled_date__gte=start, scheduled_date__lt=end)
              .select_related("customer").order_by("scheduled_date", "id")[:LIMIT])
    return [CalendarEvent(uid=f"inspection-{v.pk}@kehu", kind="inspection",
                          title=_("Inspection: %(c)s") % {"c": v.customer.name}, start=v.scheduled_date,
                          url=reverse("inspections:visit_detail", args=[v.pk]),
                          detail=_("due %(d)s") % {"d": v.due_date.isoformat()}, location=v.customer.address)
            for v in visits]


def deadline_events(user, *, start: dt.date, end: dt.date) -> list[CalendarEvent]:
    from kehu.service_desk.models import open_q
    from kehu.service_desk.selectors import complaint_base
    from kehu.service_desk.tickets import workflow as ticket_flow
    from kehu.service_desk.tickets.selectors import ticket_base

    lo, hi = _bounds(start, end)
    out: list[CalendarEvent] = []
    try:
        complaints = (complaint_base(actor=user).filter(open_q(), accountable=user, due_at__gte=lo, due_at__lt=hi)
                      .only("id", "tracking_no", "subject", "due_at").order_by("due_at", "id")[:LIMIT])
        out += [CalendarEvent(uid=f"complaint-due-{c.pk}@kehu", kind="deadline",
                              title=_("Complaint %(no)s due") % {"no": c.tracking_no}, start=c.due_at,
                              end=c.due_at, url=reverse("service_desk:detail", args=[c.pk]), detail=c.subject)
                for c in complaints]
        tickets = (ticket_base(actor=user).filter(accountable=user, state__in=ticket_flow.ACTIVE_STATES,
                                                  due_at__gte=lo, due_at__lt=hi)
                   .only("id", "number", "subject", "due_at").order_by("due_at", "id")[:LIMIT])
        out += [CalendarEvent(uid=f"ticket-due-{t.pk}@kehu", kind="deadline",
                              title=_("Service request %(no)s due") % {"no": t.number}, start=t.due_at,
                              end=t.due_at, url=reverse("tickets:detail", args=[t.pk]), detail=t.subject)
                for t in tickets]
    except Forbidden:
        return out
    return out
