"""Disqualification requests in the customer 360 page's thread (kehu/customers/profile.py): asked, approved
(blacklisted) or rejected, for those who may read them."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy, pgettext

from kehu.customers.profile import ThreadItem, thread_provider
from kehu.qualification.blacklist import selectors


@thread_provider("disqualification", label=gettext_lazy("Disqualifications"))
def disqualification_thread(actor, customer_id, before, limit):
    if not selectors.can_read(actor):
        return []
    qs = selectors.disqualification_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("requested_at", "disqualification"))
    rows = qs.only("id", "category", "requested_at", "state").order_by("-requested_at", "-id")[:limit]
    return [ThreadItem(kind="disqualification", id=d.pk, at=d.requested_at, title=d.get_category_display(),
                       url=reverse("blacklist:disqualification", args=[d.pk]),
                       badge=pgettext("thread", "Disqualification"), state=d.get_state_display(),
                       alert=d.state == "approved") for d in rows]
