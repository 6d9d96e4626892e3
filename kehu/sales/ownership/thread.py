"""Registrations and pool moves in the customer 360 page's thread (kehu/customers/profile.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.customers.profile import ThreadItem, thread_provider
from kehu.sales.ownership import selectors
from kehu.sales.ownership.models import Channel, MoveKind


@thread_provider("registration", label=gettext_lazy("Registrations"))
def registration_thread(actor, customer_id, before, limit):
    qs = selectors.registration_base(actor=actor).filter(customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("registered_at", "registration"))
    rows = qs.order_by("-registered_at", "-id").values_list(
        "id", "registered_at", "channel", "valid_until", "rep__display_name", "rep__username", "corrects_id")[:limit]
    channels = dict(Channel.choices)
    base = reverse("ownership:registration", args=[0]).removesuffix("0/")
    return [ThreadItem(kind="registration", id=pk, at=at,
                       title=(_("Registration corrected") if corrects else _("Registered by %(rep)s") % {
                           "rep": name or username}),
                       url=f"{base}{pk}/", badge=_("Registration"), detail=_("%(channel)s · valid until %(date)s") % {
                           "channel": channels.get(channel, channel), "date": f"{until:%Y-%m-%d %H:%M}"})
            for pk, at, channel, until, name, username, corrects in rows]


@thread_provider("pool_move", label=gettext_lazy("Public pool"))
def pool_thread(actor, customer_id, before, limit):
    qs = selectors.pool_move_list(actor=actor, customer_id=customer_id)
    if before is not None:
        qs = qs.filter(before.q("at", "pool_move"))
    rows = qs.order_by("-at", "-id").values_list("id", "at", "kind", "reason", "rep__display_name",
                                                  "rep__username")[:limit]
    kinds = dict(MoveKind.choices)
    return [ThreadItem(kind="pool_move", id=pk, at=at, title=str(kinds.get(kind, kind)), badge=_("Public pool"),
                       detail=" · ".join(p for p in (name or username or "", reason) if p))
            for pk, at, kind, reason, name, username in rows]
