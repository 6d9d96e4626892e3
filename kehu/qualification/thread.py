"""Qualification documents in the customer 360 page's thread (kehu/customers/profile.py): each filed version,
with its verification, linking to the customer's qualification page (the documents tab)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from kehu.customers.profile import ThreadItem, thread_provider
from kehu.qualification.models import Verification
from kehu.qualification.selectors import document_base


@thread_provider("qualification", label=gettext_lazy("Qualification documents"))
def document_thread(actor, customer_id, before, limit):
    qs = document_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("created_at", "qualification"))
    url = reverse("qualification:customer", args=[customer_id]) + "#documents"
    labels = dict(Verification.choices)
    out = []
    for d in qs.order_by("-created_at", "-id")[:limit]:
        out.append(ThreadItem(kind="qualification", id=d.pk, at=d.created_at, title=f"{d.label} v{d.version}",
                              url=url, detail=" · ".join(p for p in (d.number, str(d.valid_to or "")) if p),
                              badge=str(gettext_lazy("Document")), state=str(labels.get(d.verification, "")),
                              alert=d.verification == Verification.REJECTED))
    return out
