"""Scheduled customer visits on the personal calendar (all-day events): the user's own, or for a leader the
visits in their scope that await authorisation are not shown here (the workbench lists those)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.engagement.calendar import CalendarEvent, calendar_provider
from kehu.engagement.visits import selectors
from kehu.engagement.visits.models import VisitState

LIMIT = 2000


@calendar_provider("visit", label=gettext_lazy("Customer visits"))
def visit_events(user, *, start, end):
    if not selectors.can_read(user):
        return []
    rows = (selectors.visit_base(actor=user).filter(owner_id=user.pk, planned_on__gte=start, planned_on__lt=end)
            .exclude(state=VisitState.CANCELLED).select_related("customer")
            .only("id", "planned_on", "state", "purpose", "customer__name", "customer__address")
            .order_by("planned_on", "id")[:LIMIT])
    return [CalendarEvent(uid=f"visit-{v.pk}@kehu", kind="visit",
                          title=(_("Visit %(name)s") % {"name": v.customer.name})
                          + (" ✓" if v.state == VisitState.DONE else ""),
                          start=v.planned_on, url=reverse("visits:visit", args=[v.pk]), detail=v.purpose,
                          location=v.customer.address or "") for v in rows]
