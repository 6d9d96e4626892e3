"""Follow-ups in the customer 360 page's thread (kehu/customers/profile.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.customers.profile import ThreadItem, thread_provider
from kehu.engagement.selectors import interaction_base


@thread_provider("followup", label=gettext_lazy("Follow-ups"))
def followup_thread(actor, customer_id, before, limit):
    qs = interaction_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("occurred_at", "followup"))
    rows = (qs.select_related("owner").only("id", "channel", "occurred_at", "summary", "next_step", "next_step_due",
                                            "next_step_done_at", "owner__display_name", "owner__username")
            .order_by("-occurred_at", "-id")[:limit])
    today = timezone.localdate()
    out = []
    for it in rows:
        overdue = bool(it.next_step and it.next_step_due and not it.next_step_done_at and it.next_step_due < today)
        step = ""
        if it.next_step and not it.next_step_done_at:
            step = _("Next: %(step)s") % {"step": it.next_step} + (f" ({it.next_step_due:%Y-%m-%d})"
                                                                    if it.next_step_due else "")
        out.append(ThreadItem(kind="followup", id=it.pk, at=it.occurred_at, title=it.summary[:120],
                              url=reverse("engagement:detail", args=[it.pk]), badge=it.get_channel_display(),
                              detail=" · ".join(p for p in (it.owner.display_name or it.owner.username, step) if p),
                              alert=overdue))
    return out
