"""Inspection visits carried out (or cancelled) in the customer 360 page's thread (kehu/customers/profile.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy, pgettext

from kehu.customers.profile import ThreadItem, thread_provider
from kehu.service_desk.inspections.selectors import can_read, visit_base


@thread_provider("inspection", label=gettext_lazy("Inspection visits"))
def inspection_thread(actor, customer_id, before, limit):
    if not can_read(actor):
        return []
    qs = visit_base(actor=actor).filter(customer_id=customer_id, closed_at__isnull=False)
    if before is not None:
        qs = qs.filter(before.q("closed_at", "inspection"))
    rows = (qs.select_related("inspector").only("id", "scheduled_date", "closed_at", "state", "closed_reason",
                                                "inspector__display_name", "inspector__username")
            .order_by("-closed_at", "-id")[:limit])
    return [ThreadItem(kind="inspection", id=v.pk, at=v.closed_at,
                       title=pgettext("thread", "Inspection scheduled for %(day)s") % {"day": f"{v.scheduled_date:%Y-%m-%d}"},
                       url=reverse("inspections:visit_detail", args=[v.pk]), badge=pgettext("thread", "Inspection"),
                       detail=v.inspector.display_name or v.inspector.username, state=v.get_state_display())
            for v in rows]
