"""Follow-ups in the customer 360 page's thread (kehu/customers/profile.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.customers.profile import ThreadItem, thread_provider
from kehu.engagement.models import Channel
from kehu.engagement.selectors import interaction_base


@thread_provider("followup", label=gettext_lazy("Follow-ups"), source="engagement.Interaction")
def followup_thread(actor, customer_id, before, limit):
    qs = interaction_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("occurred_at", "followup"))
    # Plain rows, not model instances: the thread is read often and its rows are small.
    rows = qs.order_by("-occurred_at", "-id").values_list(
        "id", "channel", "occurred_at", "summary", "next_step", "next_step_due", "next_step_done_at",
        "owner__display_name", "owner__username")[:limit]
    today = timezone.localdate()
    channels = dict(Channel.choices)
    base = reverse("engagement:detail", args=[0]).removesuffix("0/")
    out = []
    for pk, channel, at, summary, step, due, done, owner_name, username in rows:
        overdue = bool(step and due and not done and due < today)
        line = ""
        if step and not done:
            line = _("Next: %(step)s") % {"step": step} + (f" ({due:%Y-%m-%d})" if due else "")
        out.append(ThreadItem(kind="followup", id=pk, at=at, title=summary[:120], url=f"{base}{pk}/",
                              badge=str(channels.get(channel, channel)),
                              detail=" · ".join(p for p in (owner_name or username, line) if p), alert=overdue))
    return out
