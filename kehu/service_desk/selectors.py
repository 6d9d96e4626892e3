"""Reads of the complaint process, scoped: a complaint belongs to its accountable person and their
department; the responsible person assigned to it sees it too."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access import protection
from kehu.access.models import User
from kehu.access.scopes import scope_q
from kehu.errors import NotFound
from kehu.pagination import Page, paginate
from kehu.service_desk import workflow
from kehu.service_desk.models import Complaint, ComplaintEvent

ORDERINGS = {"id": int, "due_at": dt.datetime, "received_at": dt.datetime}


def complaint_base(*, actor) -> QuerySet[Complaint]:
    q = scope_q(actor, owner_field="accountable", department_field="department")
    if q and actor is not None and actor.is_authenticated and actor.is_active:  # empty Q: every row
        q |= Q(responsible_id=actor.pk)
    return Complaint.objects.filter(q)


def complaint_get(*, actor, complaint_id: int, for_update: bool = False) -> Complaint:
    qs = complaint_base(actor=actor).select_related("accountable", "responsible", "customer", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    c = qs.filter(pk=complaint_id).first()
    if c is None:
        raise NotFound(_("Complaint not found."))
    return c


def complaint_list(*, actor, state: str | None = None, severity: str | None = None, open_only: bool = False,
                   breached: bool | None = None, customer: int | None = None, ordering: str = "due_at",
                   limit: int | None = None, cursor: str | None = None) -> Page:
    qs = complaint_base(actor=actor).select_related("accountable", "customer")
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(state__in=workflow.OPEN_STATES)
    if severity:
        qs = qs.filter(severity=severity)
    if breached is not None:
        qs = qs.filter(breached_at__isnull=not breached)
    if customer:
        qs = qs.filter(customer_id=customer)
    return paginate(qs, ordering=ordering or "due_at", allowed=ORDERINGS, limit=limit, cursor=cursor)


def complaint_board(*, actor, limit_per_state: int = 50) -> dict[str, list[Complaint]]:
    """Open complaints by state, soonest due first (the board)."""
    qs = (complaint_base(actor=actor).filter(state__in=workflow.OPEN_STATES)
          .select_related("accountable", "customer"))
    return {state: list(qs.filter(state=state).order_by("due_at", "id")[:limit_per_state])
            for state in workflow.OPEN_STATES}


def complaint_handler_list(*, actor) -> QuerySet[User]:
    """Active users who may handle complaints: whom a step can name responsible or a manager can
    make accountable."""
    from kehu.access.roles import ROLES, Perm

    roles = [name for name, spec in ROLES.items() if Perm.COMPLAINT_HANDLE in spec.perms]
    return User.objects.filter(is_active=True, role__in=roles).select_related("department").order_by(
        "department__path", "id")


def complaint_events(*, actor, complaint_id: int) -> list[ComplaintEvent]:
    c = complaint_get(actor=actor, complaint_id=complaint_id)
    return list(c.events.order_by("at", "id"))


def complaint_track(*, tracking_no: str, phone: str) -> Complaint | None:
    """Public tracking: the complaint with this number whose complainant's phone matches, else None."""
    from kehu.customers.validation import InvalidValue, normalize_mobile

    try:
        digest = protection.lookup_hash(normalize_mobile(phone))
    except InvalidValue:
        return None
    return Complaint.objects.filter(tracking_no=(tracking_no or "").strip().upper(),
                                    complainant_phone_hash=digest).first()


def complaint_track_or_404(*, tracking_no: str, phone: str) -> Complaint:
    c = complaint_track(tracking_no=tracking_no, phone=phone)
    if c is None:
        raise NotFound(_("No complaint with this tracking number and phone number."))
    return c


def escalation_recipients(c: Complaint, *, level: int) -> list[User]:
    """Level 1: managers of the accountable person's department, or the nearest department above
    that has one. Level 2: managers one department higher, else the executives."""
    path = c.department.path if c.department_id else ""
    ancestors = [int(x) for x in path.strip("/").split("/") if x][::-1]  # own department first
    found_at = None
    for i, dept_id in enumerate(ancestors):
        managers = list(User.objects.filter(department_id=dept_id, role="manager", is_active=True))
        if managers:
            if level == 1:
                return managers
            found_at = i
            break
    if level == 2 and found_at is not None:
        for dept_id in ancestors[found_at + 1:]:
            managers = list(User.objects.filter(department_id=dept_id, role="manager", is_active=True))
            if managers:
                return managers
    return list(User.objects.filter(role="executive", is_active=True)) or list(
        User.objects.filter(role="admin", is_active=True))


