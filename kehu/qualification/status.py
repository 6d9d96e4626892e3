"""The one way a customer's status changes (准入 / 暂停 / 恢复 / 取消资格), with a reason and an audit entry.

Who may make which change is a table, not code scattered over views:
- ``manual`` changes come from a person holding ``qualification.manage`` (a rep never clears a suspension);
- ``system`` sources are the services that decided through their own rules: the account-opening approval
  (``account_opening``), the expiry sweep and the verified renewal (``documents``), the disqualification
  approval and its lifting (``disqualification``). Their callers have already checked who acts.
The change raises the customer's version (kehu.concurrency) so an open edit form sees it."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

MANUAL = "manual"
SYSTEM_SOURCES = ("account_opening", "documents", "disqualification", "migration")

# (from, to) → the sources allowed to make that move.
TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # "migration": customers already doing business when the rule came in (established accounts, demo data)
    # are admitted as such — kehu.qualification.services.customers_admit_established.
    ("pending", "active"): ("account_opening", "migration"),
    ("active", "suspended"): (MANUAL, "documents"),
    ("suspended", "active"): (MANUAL, "documents"),
    ("pending", "suspended"): ("documents",),
    ("suspended", "pending"): ("documents",),
    ("pending", "disqualified"): ("disqualification",),
    ("active", "disqualified"): ("disqualification",),
    ("suspended", "disqualified"): ("disqualification",),
    ("disqualified", "active"): ("disqualification",),
}


class StatusConflict(Conflict):
    code = "status_transition_refused"


@transaction.atomic
def customer_status_change(*, actor, customer_id: int, to: str, reason: str, source: str = MANUAL,
                           detail: dict | None = None):
    """Move a customer to status ``to`` for ``reason``; refuses moves the table does not allow from
    ``source`` (409) and manual moves by a user without qualification.manage (403). Returns the customer."""
    from kehu.concurrency.versioning import version_bump
    from kehu.customers.models import Customer, Status
    from kehu.customers.selectors import customer_get

    if to not in Status.values:
        raise Invalid(_("Unknown status."), fields={"status": [_("Unknown status.")]})
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("A reason is required."), fields={"reason": [_("A reason is required.")]})
    if source == MANUAL:
        if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.QUALIFICATION_MANAGE):
            raise Forbidden(_("You are not allowed to change a customer's status."))
        customer_get(actor=actor, customer_id=customer_id)  # 404 outside the actor's scope
    elif source not in SYSTEM_SOURCES:
        raise ValueError(f"unknown status source {source!r}")
    customer = Customer.objects.select_for_update().filter(pk=customer_id, deleted_at__isnull=True).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    before = customer.status
    if before == to:
        return customer
    if source not in TRANSITIONS.get((before, to), ()):
        raise StatusConflict(_("The status cannot change from “%(from)s” to “%(to)s” this way.") % {
            "from": Status(before).label, "to": Status(to).label})
    version_bump(customer, fields=["status"])
    Customer.objects.filter(pk=customer.pk).update(status=to)
    customer.status = to
    audit_record(actor=actor, action="customer.status_changed", obj=customer,
                 changes={"status": [before, to], "reason": reason, "source": source, **(detail or {})})
    return customer
