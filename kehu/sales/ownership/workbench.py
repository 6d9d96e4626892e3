"""Ownership on the workbench: registrations to verify (the project manager), my registrations lapsing within
3 days, ownership disputes to decide and referrals to confirm."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.sales.ownership import selectors
from kehu.sales.ownership.models import Verification
from kehu.workbench.registry import Todo, todo_provider, urgency


@todo_provider("registrations_to_verify", label=gettext_lazy("Registrations to verify"), order=40,
               more="ownership:registrations", short=gettext_lazy("Registration"))
def registrations_to_verify(user, *, today, now, limit):
    if not selectors.can_manage(user):
        return []
    rows = (selectors.registration_base(actor=user).exclude(rep_id=user.pk)
            .filter(~Exists(Verification.objects.filter(registration_id=OuterRef("pk"))))
            .select_related("customer", "rep").only("id", "registered_at", "customer__name", "rep__display_name",
                                                    "rep__username")
            .order_by("registered_at", "id")[:limit])
    return [Todo(kind="registration_verify", title=_("Verify the registration of %(customer)s") % {
        "customer": r.customer.name}, url=reverse("ownership:registration", args=[r.pk]), due=r.registered_at
        + dt.timedelta(days=1), state=urgency(r.registered_at + dt.timedelta(days=1), now=now), detail=str(r.rep))
        for r in rows]


@todo_provider("registrations_lapsing", label=gettext_lazy("My registrations lapsing soon"), order=41,
               more="ownership:registrations", short=gettext_lazy("Registration"))
def registrations_lapsing(user, *, today, now, limit):
    days = settings.KEHU_OWNERSHIP["lapsing_days"]
    rows = selectors.my_lapsing_claims(actor=user, now=now, days=days).select_related(None).select_related(
        "customer", "registration").only("id", "valid_until", "registration_id", "customer__name")[:limit]
    return [Todo(kind="registration_lapsing", title=_("Registration of %(customer)s lapses") % {
        "customer": c.customer.name}, url=reverse("ownership:registration", args=[c.registration_id])
        if c.registration_id else reverse("ownership:registrations"), due=c.valid_until,
        state=urgency(c.valid_until, now=now, soon=dt.timedelta(days=days)),
        detail=_("Follow up to keep it")) for c in rows]


@todo_provider("disputes_to_decide", label=gettext_lazy("Ownership disputes to decide"), order=42,
               more="ownership:disputes", short=gettext_lazy("Dispute"))
def disputes_to_decide(user, *, today, now, limit):
    rows = (selectors.disputes_to_decide(actor=user).select_related("customer", "raised_by", "holder")
            .order_by("due_at", "id")[:limit])
    return [Todo(kind="dispute_decide", title=_("Decide who owns %(customer)s") % {"customer": d.customer.name},
                 url=reverse("ownership:dispute", args=[d.pk]), due=d.due_at, state=urgency(d.due_at, now=now),
                 detail=f"{d.raised_by} / {d.holder}") for d in rows]


@todo_provider("referrals_to_confirm", label=gettext_lazy("Referrals to confirm"), order=43,
               more="ownership:referrals", short=gettext_lazy("Referral"))
def referrals_to_confirm(user, *, today, now, limit):
    rows = (selectors.referrals_to_confirm(actor=user).select_related("customer", "referrer")
            .order_by("arrived_at", "id")[:limit])
    return [Todo(kind="referral_confirm", title=_("Confirm the referral of %(customer)s") % {
        "customer": r.customer.name}, url=reverse("ownership:referrals"), due=r.expected_visit_on,
        state=urgency(r.expected_visit_on, now=now), detail=str(r.referrer)) for r in rows]
