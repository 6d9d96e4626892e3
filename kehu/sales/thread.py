"""Deals in the customer 360 page's thread (kehu/customers/profile.py): each deal at its last move."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from kehu.customers.profile import ThreadItem, thread_provider
from kehu.sales import selectors
from kehu.sales.models import DealStage


@thread_provider("deal", label=gettext_lazy("Deals"))
def deal_thread(actor, customer_id, before, limit):
    if not selectors.can_read_deals(actor):
        return []
    qs = selectors.deal_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("created_at", "deal"))
    rows = qs.order_by("-created_at", "-id").values_list("id", "created_at", "title", "stage", "amount", "object_code",
                                                         "rep__display_name", "rep__username")[:limit]
    labels = dict(DealStage.choices)
    base = reverse("sales:deal", args=[0]).removesuffix("0/")
    return [ThreadItem(kind="deal", id=pk, at=at, title=title[:120], url=f"{base}{pk}/",
                       badge=str(gettext_lazy("Deal")), state=str(labels.get(stage, stage)),
                       detail=" · ".join(p for p in (f"¥{amount}", code, name or username) if p))
            for pk, at, title, stage, amount, code, name, username in rows]
