"""Grade-change notices (分级调整通知): each owner gets one message per run listing their customers whose
grade changed. Delivered by kehu.notifications after the run commits."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.customers.models import Customer
from kehu.notifications.services import notify

LISTED = 10


def grade_changes(*, policy_name: str, notices: list[tuple[int, int, str, str]]) -> None:
    """``notices`` are (owner id, customer id, previous grade, new grade); call inside the run's transaction."""
    by_owner: dict[int, list[tuple[int, str, str]]] = {}
    for owner_id, cid, before, after in notices:
        by_owner.setdefault(owner_id, []).append((cid, before, after))
    owners = User.objects.in_bulk(list(by_owner))
    listed = [cid for items in by_owner.values() for cid, _b, _a in items[:LISTED]]
    names = dict(Customer.objects.filter(pk__in=listed).values_list("pk", "name"))
    for owner_id, items in by_owner.items():
        lines = [f"{names.get(cid, cid)}: {before or _('(none)')} → {after}" for cid, before, after in items[:LISTED]]
        if len(items) > LISTED:
            lines.append(_("… and %(count)d more") % {"count": len(items) - LISTED})
        link = (reverse("grading:customer_grades", args=[items[0][0]]) if len(items) == 1
                else reverse("grading:movements"))
        notify(user=owners.get(owner_id),
               title=_("%(count)d of your customers changed grade (%(policy)s)")
               % {"count": len(items), "policy": policy_name},
               body="\n".join(lines), link=link)
