"""The blacklist on the workbench: registrations flagged for resembling a blacklisted customer, for the
managers who review them (disqualifications and liftings awaiting a decision are the approvals app's)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.qualification.blacklist import selectors, services
from kehu.qualification.blacklist.models import HitState
from kehu.workbench.registry import Todo, todo_provider


@todo_provider("blacklist_hits", label=gettext_lazy("Registrations resembling a blacklisted customer"), order=46,
               more="blacklist:hits", short=gettext_lazy("Blacklist"))
def hit_todos(user, *, today, now, limit):
    """Open screening hits in the manager's scope, oldest first — one query."""
    if not services.can_manage(user) or not selectors.can_read(user):
        return []
    rows = (selectors.hit_base(actor=user).filter(state=HitState.OPEN).select_related("entry")
            .only("id", "subject", "matched_on", "created_at", "entry__customer_name").order_by("id")[:limit])
    return [Todo(kind="blacklist_hit", title=_("%(name)s resembles the blacklisted %(entry)s")
                 % {"name": h.subject, "entry": h.entry.customer_name}, url=reverse("blacklist:hits"),
                 due=h.created_at, state="soon", detail=str(h.get_matched_on_display())) for h in rows]
