"""Service requests and emergencies in the customer 360 page's thread (kehu/customers/profile.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm
from kehu.customers.profile import ThreadItem, thread_provider
from kehu.service_desk.tickets.selectors import ticket_base


@thread_provider("ticket", label=gettext_lazy("Service requests"))
def ticket_thread(actor, customer_id, before, limit):
    if not actor.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        return []
    qs = ticket_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("received_at", "ticket"))
    rows = qs.only("id", "number", "subject", "kind", "received_at", "state", "breached_at").order_by(
        "-received_at", "-id")[:limit]
    return [ThreadItem(kind="ticket", id=t.pk, at=t.received_at, title=t.subject,
                       url=reverse("tickets:detail", args=[t.pk]), badge=t.get_kind_display(), detail=t.number,
                       state=t.get_state_display(), alert=t.breached_at is not None)
            for t in rows]
