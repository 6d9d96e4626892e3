"""Reads of service requests and the on-duty roster, scoped. A request belongs to its accountable
person and their department, and to its customer's owner and department; its assignee sees it too.
Reading requires the complaint-handling permission, which covers service requests."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import Department, User
from kehu.access.roles import ROLES, Perm, Scope
from kehu.access.scopes import scope_q
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.service_desk.tickets import duty, workflow
from kehu.service_desk.tickets.models import OnDutyRoster, ServiceTicket, TicketEvent
from kehu.workdays.selectors import sla_rule

# response_priority: the response priority of the customer's grade (service_levels), best first.
ORDERINGS = {"id": int, "due_at": dt.datetime, "received_at": dt.datetime, "response_priority": int}


def _require_handler(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        raise Forbidden(_("You are not allowed to do this."))


def ticket_scope_q(actor) -> Q | None:
    """The rows ``actor`` may see; None means every row (Scope.ALL)."""
    if actor.role_spec.scope == Scope.ALL:
        return None
    return (scope_q(actor, owner_field="accountable", department_field="department")
            | scope_q(actor, owner_field="customer__owner", department_field="customer__department")
            | Q(assignee_id=actor.pk))


def ticket_base(*, actor) -> QuerySet[ServiceTicket]:
    _require_handler(actor)
    q = ticket_scope_q(actor)
    qs = ServiceTicket.objects.all()
    return qs if q is None else qs.filter(q)


def ticket_get(*, actor, ticket_id: int, for_update: bool = False) -> ServiceTicket:
    """One request in scope, or NotFound."""
    qs = ticket_base(actor=actor).select_related("accountable", "assignee", "customer", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    t = qs.filter(pk=ticket_id).first()
    if t is None:
        raise NotFound(_("Service request not found."))
    return t


def ticket_list(*, actor, kind: str | None = None, state: str | None = None, open_only: bool = False,
                breached: bool | None = None, customer: int | None = None, ordering: str = "due_at",
                limit: int | None = None, cursor: str | None = None) -> Page:
    """A page of requests in scope matching the filters, keyset-paginated."""
    qs = ticket_base(actor=actor).select_related("accountable", "assignee", "customer")
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(state__in=workflow.ACTIVE_STATES)
    if breached is not None:
        qs = qs.filter(breached_at__isnull=not breached)
    if customer:
        qs = qs.filter(customer_id=customer)
    if (ordering or "").lstrip("-") == "response_priority":
        from kehu.service_desk.service_levels import response_priority_expression

        qs = qs.annotate(response_priority=response_priority_expression())
    return paginate(qs, ordering=ordering or "due_at", allowed=ORDERINGS, limit=limit, cursor=cursor)


def ticket_board(*, actor, kind: str | None = None, limit_per_state: int = 50) -> dict[str, list[ServiceTicket]]:
    """Active requests by state, emergencies first, then soonest due."""
    qs = (ticket_base(actor=actor).filter(state__in=workflow.ACTIVE_STATES)
          .select_related("accountable", "assignee", "customer"))
    if kind:
        qs = qs.filter(kind=kind)
    board: dict[str, list[ServiceTicket]] = {s: [] for s in workflow.ACTIVE_STATES}
    for state in workflow.ACTIVE_STATES:
        rows = list(qs.filter(state=state).order_by("due_at", "id")[:limit_per_state])
        board[state] = sorted(rows, key=lambda t: (not t.is_emergency, t.due_at, t.id))
    return board


def ticket_events(*, actor, ticket_id: int) -> list[TicketEvent]:
    t = ticket_get(actor=actor, ticket_id=ticket_id)
    return list(t.events.select_related("actor").order_by("at", "id"))


def ticket_handler_list(*, actor) -> QuerySet[User]:
    """Active users who may handle service requests: whom a request can be assigned to."""
    roles = [name for name, spec in ROLES.items() if Perm.COMPLAINT_HANDLE in spec.perms]
    return User.objects.filter(is_active=True, role__in=roles).select_related("department").order_by(
        "department__path", "id")


# ---------------------------------------------------------------- who is told about an emergency

def _ancestors(department: Department | None) -> list[int]:
    """The department's id and its ancestors', own department first."""
    if department is None:
        return []
    return [int(x) for x in department.path.strip("/").split("/") if x][::-1]


def line_managers(departments: list[Department | None]) -> list[User]:
    """For each department, the managers of it or of the nearest department above that has some;
    when none of the lines has a manager, the executives (else the administrators)."""
    found: dict[int, User] = {}
    for department in departments:
        ancestors = _ancestors(department)
        if not ancestors:
            continue
        managers = {}
        for u in User.objects.filter(department_id__in=ancestors, role="manager", is_active=True):
            managers.setdefault(u.department_id, []).append(u)
        for dept_id in ancestors:
            if dept_id in managers:
                found.update({u.pk: u for u in managers[dept_id]})
                break
    if found:
        return list(found.values())
    return list(User.objects.filter(role="executive", is_active=True)) or list(
        User.objects.filter(role="admin", is_active=True))


def on_duty_now(*, ticket: ServiceTicket, at: dt.datetime | None = None) -> list[User]:
    """Users on duty at ``at`` for the ticket's department or its customer's (or for every department)."""
    at = at or timezone.now()
    local = at.astimezone(sla_rule().tz)
    departments = set(_ancestors(ticket.department)) | set(_ancestors(ticket.customer.department))
    shifts = (OnDutyRoster.objects.filter(Q(department__isnull=True) | Q(department_id__in=departments),
                                          start_date__lte=local.date(),
                                          end_date__gte=local.date() - duty.ONE_DAY, user__is_active=True)
              .select_related("user").order_by("id"))
    users: dict[int, User] = {}
    for s in shifts:
        if duty.covers(start_date=s.start_date, end_date=s.end_date, weekdays=s.weekdays, start_time=s.start_time,
                       end_time=s.end_time, at_local=local):
            users.setdefault(s.user_id, s.user)
    return list(users.values())


def ticket_may_act(actor, t: ServiceTicket) -> bool:
    """谁受理、谁跟进、谁回复 for a service request: the accountable person, the assignee, a manager
    above the accountable person — and, for an emergency, whoever is on duty for it now (值班)."""
    from kehu.service_desk.ticketing import may_act

    if may_act(actor, accountable_id=t.accountable_id, department_id=t.department_id, also=(t.assignee_id,)):
        return True
    return t.is_emergency and any(u.pk == actor.pk for u in on_duty_now(ticket=t))


# ---------------------------------------------------------------- the roster

def duty_base(*, actor) -> QuerySet[OnDutyRoster]:
    """Shifts in scope: every shift for Scope.ALL; a manager's subtree's people; one's own otherwise."""
    _require_handler(actor)
    return OnDutyRoster.objects.filter(scope_q(actor, owner_field="user", department_field="user__department"))


def duty_list(*, actor, current_only: bool = False, limit: int | None = None, cursor: str | None = None) -> Page:
    """Shifts in scope, most recent first (``current_only``: those not yet over)."""
    qs = duty_base(actor=actor).select_related("user", "department")
    if current_only:
        qs = qs.filter(end_date__gte=timezone.localdate())
    return paginate(qs, ordering="-id", allowed={"id": int}, limit=limit, cursor=cursor)


def duty_get(*, actor, shift_id: int) -> OnDutyRoster:
    shift = duty_base(actor=actor).select_related("user", "department").filter(pk=shift_id).first()
    if shift is None:
        raise NotFound(_("On-duty shift not found."))
    return shift
