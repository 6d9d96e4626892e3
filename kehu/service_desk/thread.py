"""Complaints in the customer 360 page's thread (kehu/customers/profile.py), for those who handle complaints."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy, pgettext

from kehu.access.roles import Perm
from kehu.customers.profile import ThreadItem, thread_provider
from kehu.service_desk.selectors import complaint_base


@thread_provider("complaint", label=gettext_lazy("Complaints"))
def complaint_thread(actor, customer_id, before, limit):
    if not actor.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        return []
    qs = complaint_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("received_at", "complaint"))
    rows = qs.only("id", "tracking_no", "subject", "received_at", "state", "breached_at").order_by(
        "-received_at", "-id")[:limit]
    return [ThreadItem(kind="complaint", id=c.pk, at=c.received_at, title=c.subject,
                       url=reverse("service_desk:detail", args=[c.pk]), badge=pgettext("thread", "Complaint"),
                       detail=c.tracking_no, state=c.get_state_display(), alert=c.breached_at is not None)
            for c in rows]
