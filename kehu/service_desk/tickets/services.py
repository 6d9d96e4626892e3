"""Every write of service requests, emergencies and the on-duty roster. Each function takes the acting
user first, runs in one transaction (the request row locked), records a TicketEvent and an audit entry;
notifications go out after commit."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import Department, User
from kehu.access.roles import Perm, Scope
from kehu.audit.services import audit_record, audit_record_many
from kehu.concurrency.versioning import Expected, as_expected, save_versioned, version_check
from kehu.errors import Conflict, Forbidden, Invalid, NotFound, from_django_validation
from kehu.service_desk import sla
from kehu.service_desk.ticketing import event_write, person_name
from kehu.service_desk.tickets import selectors, workflow
from kehu.service_desk.tickets.models import (
    ALL_WEEKDAYS,
    Kind,
    OnDutyRoster,
    Priority,
    ServiceTicket,
    TicketChannel,
    TicketEvent,
)
from kehu.workdays.selectors import calendar_get, sla_rule

# The policy's defaults; settings.KEHU_SERVICE_SLA_DAYS and the two KEHU_EMERGENCY_* settings override.
DEFAULT_SLA_DAYS = {Kind.CONSULTATION: 1, Kind.REPAIR: 3, Kind.SERVICE: 3}
DEFAULT_EMERGENCY_RESPONSE_HOURS = 2
DEFAULT_EMERGENCY_ESCALATION_HOURS = 1
SWEEP_BATCH = 1000


def sla_days_for(kind: str) -> int:
    """"Within N working days" for a kind of request (settings, defaults consultation 1, repair 3,
    service 3); an emergency is resolved within its working day of receipt (0)."""
    if kind == Kind.EMERGENCY:
        return 0
    days = {**DEFAULT_SLA_DAYS, **getattr(settings, "KEHU_SERVICE_SLA_DAYS", {})}
    return int(days[kind])


def emergency_response_hours() -> float:
    return float(getattr(settings, "KEHU_EMERGENCY_RESPONSE_HOURS", DEFAULT_EMERGENCY_RESPONSE_HOURS))


def emergency_escalation_hours() -> float:
    """Hours after an emergency's breach before it goes one level higher (normal kinds: a working day)."""
    return float(getattr(settings, "KEHU_EMERGENCY_ESCALATION_HOURS", DEFAULT_EMERGENCY_ESCALATION_HOURS))


def sla_rule_for(kind: str, customer_id: int | None) -> sla.SlaRule:
    """The working days a request of ``kind`` from ``customer_id`` gets: the kind's default, or the
    service policy of the customer's grade when that is tighter (never longer; an emergency keeps its
    same-day deadline). See sla.SlaRule."""
    return sla.tier_rule(sla_days_for(kind), customer_id=customer_id, figure="service_request_sla_working_days",
                         basis=Kind(kind).label)


def deadlines_for(kind: str, received_at: dt.datetime, days: int | None = None) -> dict:
    """Due date, first-response deadline and level-2 escalation time of a request received then
    (``days``: the working days decided by sla_rule_for; default the kind's)."""
    calendar, rule = calendar_get(), sla_rule()
    days = sla_days_for(kind) if days is None else days
    due = calendar.sla_due(received_at, days, rule)
    if kind == Kind.EMERGENCY:
        # Emergencies are answered around the clock: the first response is counted in clock hours.
        return {"sla_days": 0, "due_at": due, "escalate_at": None,
                "response_due_at": received_at + dt.timedelta(hours=emergency_response_hours())}
    return {"sla_days": days, "due_at": due, "response_due_at": None,
            "escalate_at": calendar.sla_due(due, 1, rule)}


def _event(t: ServiceTicket, actor, action: str, from_state: str, note: str = "") -> None:
    event_write(TicketEvent, ticket=t, field="ticket", actor=actor, action=action, from_state=from_state,
                note=note)


def _number(kind: str, now: dt.datetime) -> str:
    prefix = "JJ" if kind == Kind.EMERGENCY else "FW"  # 紧急 / 服务
    return f"{prefix}{timezone.localtime(now):%Y%m%d}-{secrets.token_hex(3).upper()}"


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A naive time from a form or a client is read in the SLA rule's zone (Asia/Shanghai)."""
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        return value.replace(tzinfo=sla_rule().tz)
    return value


def _require_fields(data: dict, *names: str) -> None:
    missing = {n: [_("This field is required.")] for n in names if not str(data.get(n) or "").strip()}
    if missing:
        raise Invalid(_("Some required fields are missing."), fields=missing)


def _require(actor, perm: str = Perm.COMPLAINT_HANDLE) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


def _choice(data: dict, name: str, choices, default=None) -> str:
    value = data.get(name) or default
    if value not in choices.values:
        raise Invalid(_("Choose a valid value."), fields={name: [_("Choose a valid value.")]})
    return value


@transaction.atomic
def ticket_record(*, actor, data: dict) -> ServiceTicket:
    """Record a request (or an emergency) received by ``actor``, who becomes accountable. An emergency
    notifies the people on duty at once (the department line's managers when nobody is)."""
    _require(actor)
    _require_fields(data, "customer", "kind", "channel", "subject", "description")
    kind = _choice(data, "kind", Kind)
    channel = _choice(data, "channel", TicketChannel)
    priority = Priority.URGENT if kind == Kind.EMERGENCY else _choice(data, "priority", Priority, Priority.NORMAL)
    from kehu.customers.selectors import customer_get

    try:
        customer = customer_get(actor=actor, customer_id=int(data["customer"]))
    except (TypeError, ValueError) as exc:
        raise Invalid(_("Choose a customer in your scope."), fields={"customer": [_("Choose the customer.")]}) from exc
    except NotFound as exc:
        raise Invalid(_("Choose a customer in your scope."), fields={"customer": [exc.message]}) from exc
    now = timezone.now()
    received_at = _aware(data.get("received_at")) or now
    if received_at > now + dt.timedelta(minutes=5):
        raise Invalid(_("The time of receipt cannot be in the future."), fields={"received_at": [_("In the future.")]})
    assignee = _handler(data.get("assignee"), field="assignee") if data.get("assignee") else None
    rule = sla_rule_for(kind, customer.pk)
    t = ServiceTicket(
        number=_number(kind, received_at), customer=customer, kind=kind, channel=channel,
        subject=str(data["subject"]).strip()[:200], description=str(data["description"]).strip(),
        contact_name=str(data.get("contact_name") or "").strip()[:100], priority=priority,
        received_at=received_at, received_by=actor, accountable=actor, assignee=assignee,
        department_id=actor.department_id, **deadlines_for(kind, received_at, rule.days),
    )
    _full_clean(t)
    t.save()
    _event(t, actor, "record", "", note=t.subject)
    if rule.involves_grade:
        _event(t, actor, "sla_set", t.state, note=rule.note())
    audit_record(actor=actor, action="ticket.record", obj=t,
                 changes={"kind": [None, kind], "channel": [None, channel],
                          "accountable": [None, actor.get_username()]})
    if assignee is not None:
        _notify_assignee(t, assignee)
    if kind == Kind.EMERGENCY:
        _alert_emergency(t)
    return t


def _full_clean(obj) -> None:
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise from_django_validation(exc) from exc


def _handler(user_id, *, field: str) -> User:
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        pk = 0
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not user.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        raise Invalid(_("This user cannot handle service requests."), fields={field: [_("Not a service handler.")]})
    return user


def _link(t: ServiceTicket) -> str:
    return f"/service/{t.pk}/"


def _notify(users, title: str, body: str, link: str) -> list[User]:
    from kehu.notifications.services import notify

    seen, told = set(), []
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        told.append(user)
        notify(user=user, title=title, body=body, link=link)
    return told


def _notify_assignee(t: ServiceTicket, assignee: User) -> None:
    _notify([assignee], _("Service request %(n)s is assigned to you") % {"n": t.number}, t.subject, _link(t))


def _alert_emergency(t: ServiceTicket) -> None:
    """Tell the people on duty now (in-app and by e-mail, after commit); nobody on duty: the managers
    of the ticket's and the customer's department lines."""
    on_duty = selectors.on_duty_now(ticket=t)
    recipients = on_duty or selectors.line_managers([t.customer.department, t.department])
    title = _("EMERGENCY %(n)s: %(s)s") % {"n": t.number, "s": t.subject}
    body = _("Customer: %(c)s. First response due by %(r)s.") % {
        "c": t.customer.name, "r": timezone.localtime(t.response_due_at).strftime("%Y-%m-%d %H:%M")}
    told = _notify(recipients, title, f"{body}\n\n{t.description}", _link(t))
    names = [u.get_username() for u in told]
    _event(t, None, "alerted_on_duty" if on_duty else "alerted_managers", t.state,
           note=", ".join(person_name(u) for u in told))
    audit_record(actor=None, action="ticket.emergency_alert", obj=t,
                 changes={"to": names, "on_duty": bool(on_duty)})


def _locked(actor, ticket_id: int, expected_version: Expected | int | None) -> ServiceTicket:
    _require(actor)
    t = selectors.ticket_get(actor=actor, ticket_id=ticket_id, for_update=True)
    if not selectors.ticket_may_act(actor, t):
        raise Forbidden(_("Only the accountable person, the assignee or a manager above them may handle this "
                          "service request."), code="not_accountable")
    version_check(t, as_expected(expected_version), code="stale")  # 409 (body) / 412 (If-Match)
    return t


def _move(t: ServiceTicket, action: str) -> str:
    before = t.state
    try:
        t.state = workflow.next_state(t.state, action)
    except workflow.IllegalTransition as exc:
        raise Conflict(_("“%(a)s” is not allowed while the service request is “%(s)s”.")
                       % {"a": action, "s": t.get_state_display()}, code="illegal_transition") from exc
    return before  # the version rises when the step is saved (save_versioned)


def _when(data: dict, name: str, t: ServiceTicket, now: dt.datetime) -> dt.datetime:
    at = _aware(data.get(name)) or now
    if at > now + dt.timedelta(minutes=5):
        raise Invalid(_("This time cannot be in the future."), fields={name: [_("In the future.")]})
    if at < t.received_at:
        raise Invalid(_("This time cannot be before the request was received."),
                      fields={name: [_("Before receipt.")]})
    return at


@transaction.atomic
def ticket_act(*, actor, ticket_id: int, action: str, data: dict | None = None,
               expected_version: int | None = None) -> ServiceTicket:
    """Take a step: accept, start, resolve (with the resolution), reopen, inform (tell the customer the
    result), close (after the customer confirmed; an emergency only once the customer was told) or
    cancel (with a reason). Illegal steps and steps on a stale version are refused (409)."""
    data = data or {}
    if action not in workflow.ACTIONS:
        raise Invalid(_("Unknown action."), fields={"action": [_("Unknown action.")]})
    t = _locked(actor, ticket_id, expected_version)
    before = _move(t, action)
    now, note, changes = timezone.now(), "", {}
    if action == "accept":
        t.responded_at = now
        if t.assignee_id is None:
            t.assignee = actor
        note = str(t.assignee)
    elif action == "resolve":
        _require_fields(data, "resolution")
        t.resolution = note = str(data["resolution"]).strip()
        t.resolved_at = now
    elif action == "reopen":
        _require_fields(data, "reason")
        note = str(data["reason"]).strip()
        # The customer was told a result that did not hold: they are to be told the new one.
        t.resolved_at, t.customer_informed_at, t.customer_informed_via = None, None, ""
    elif action == "inform":
        _require_fields(data, "informed_via", "informed_note")
        t.customer_informed_via = _choice(data, "informed_via", TicketChannel)
        t.customer_informed_at = _when(data, "informed_at", t, now)
        t.customer_informed_note = note = str(data["informed_note"]).strip()
        changes["informed_via"] = t.customer_informed_via
    elif action == "close":
        _require_fields(data, "confirmation")
        if t.kind == Kind.EMERGENCY and t.customer_informed_at is None:
            raise Conflict(_("Tell the customer the result of the emergency before closing it."),
                           code="customer_not_informed")
        t.confirmation = note = str(data["confirmation"]).strip()
        t.closed_at = now
    elif action == "cancel":
        _require_fields(data, "reason")
        t.cancel_reason = note = str(data["reason"]).strip()
        t.closed_at = now
    save_versioned(t, fields=["state", action])
    _event(t, actor, action, before, note)
    audit_record(actor=actor, action=f"ticket.{action}", obj=t, changes={"state": [before, t.state], **changes})
    return t


@transaction.atomic
def ticket_assign(*, actor, ticket_id: int, user_id: int, expected_version: int | None = None) -> ServiceTicket:
    """Give the work to another handler (the accountable person stays); the new assignee is notified."""
    t = _locked(actor, ticket_id, expected_version)
    if t.is_final:
        raise Conflict(_("The service request is %(s)s; it cannot be assigned.") % {"s": t.get_state_display()},
                       code="illegal_transition")
    target = _handler(user_id, field="user")
    old = t.assignee
    t.assignee = target
    save_versioned(t, fields=["assignee"])
    _event(t, actor, "assign", t.state, note=f"{old or '—'} → {target}")
    audit_record(actor=actor, action="ticket.assign", obj=t,
                 changes={"assignee": [old.get_username() if old else None, target.get_username()]})
    if target.pk != actor.pk:
        _notify_assignee(t, target)
    return t


# ---------------------------------------------------------------- SLA sweep (worker)

def ticket_sla_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Mark requests past their deadline (an emergency also when nobody responded in time) as breached
    and tell the department line's managers; escalate those still overdue a working day later
    (emergencies: a few hours later) one level higher. Batches of set-based updates, each in its own
    transaction with the rows locked, so several workers never act on a row twice; idempotent."""
    now = now or timezone.now()
    breached = _sweep_level(
        now, level=1,
        q=Q(escalation_level=0) & sla.ticket_overdue_q(now))
    hours = dt.timedelta(hours=emergency_escalation_hours())
    escalated = _sweep_level(
        now, level=2,
        q=Q(escalation_level=1) & (Q(escalate_at__lt=now) & ~Q(kind=Kind.EMERGENCY)
                                   | Q(kind=Kind.EMERGENCY, breached_at__lt=now - hours)))
    return {"breached": breached, "escalated": escalated}


def _sweep_level(now: dt.datetime, *, level: int, q: Q) -> int:
    total = 0
    while True:
        with transaction.atomic():
            # Rows another worker holds are skipped (PostgreSQL); on SQLite the IMMEDIATE transaction
            # already serialises sweeps. The guard on the level keeps a second pass from acting again.
            ids = list(ServiceTicket.objects.select_for_update(skip_locked=True)
                       .filter(q, sla.ticket_clock_q()).order_by("id").values_list("id", flat=True)
                       [:SWEEP_BATCH])
            if not ids:
                return total
            update: dict = {"escalation_level": level}
            if level == 1:
                update["breached_at"] = now
            done = ServiceTicket.objects.filter(pk__in=ids, escalation_level=level - 1).update(**update)
            _announce(ids, level=level)
            total += done
        if len(ids) < SWEEP_BATCH:
            return total


def _announce(ids: list[int], *, level: int) -> None:
    """Events, audit entries (one chain segment) and notifications for tickets just escalated."""
    # Only what the messages need: this runs for every row a sweep breaches.
    tickets = list(ServiceTicket.objects.filter(pk__in=ids)
                   .select_related("department", "customer__department")
                   .only("id", "number", "subject", "state", "accountable_id", "assignee_id", "department__path",
                         "customer__department__path")
                   .order_by("id"))
    people_ids = {t.accountable_id for t in tickets} | {t.assignee_id for t in tickets if t.assignee_id}
    people = User.objects.in_bulk(people_ids) if level == 1 else {}
    dept_cache: dict[tuple, list[User]] = {}
    recipients: dict[int, list[User]] = {}
    for t in tickets:
        if level == 1:
            key = (t.department_id, t.customer.department_id)
            if key not in dept_cache:
                dept_cache[key] = selectors.line_managers([t.department, t.customer.department])
            recipients[t.pk] = dept_cache[key]
        else:
            recipients[t.pk] = _level_above(t, dept_cache)
    at = timezone.now()
    TicketEvent.objects.bulk_create([
        TicketEvent(ticket_id=t.pk, at=at, actor_id=None, actor_name="system", action=f"escalated_{level}",
                    from_state=t.state, to_state=t.state,
                    note=", ".join(person_name(u) for u in recipients[t.pk])) for t in tickets])
    audit_record_many(actor=None, action="ticket.escalate", objects=tickets,
                      changes=[{"level": [level - 1, level], "to": [u.get_username() for u in recipients[t.pk]]}
                               for t in tickets])
    users: dict[int, User] = {}
    items_of: dict[int, dict[int, ServiceTicket]] = defaultdict(dict)
    for t in tickets:
        told = list(recipients[t.pk]) + ([people.get(t.accountable_id), people.get(t.assignee_id)]
                                         if level == 1 else [])
        for u in told:
            if u is not None:
                users[u.pk] = u
                items_of[u.pk][t.pk] = t
    from kehu.notifications.services import notify

    for pk, user in users.items():
        items = list(items_of[pk].values())
        if len(items) == 1:
            t = items[0]
            title = _("Service request %(n)s is overdue (escalation level %(l)d)") % {"n": t.number, "l": level}
            notify(user=user, title=title, body=t.subject, link=_link(t))
        else:  # one message per person per batch, however many of its requests went overdue
            title = _("%(c)d service requests are overdue (escalation level %(l)d)") % {"c": len(items), "l": level}
            body = "\n".join(str(t) for t in items[:50])
            notify(user=user, title=title, body=body, link="/service/list/?breached=yes")


def _level_above(t: ServiceTicket, cache: dict) -> list[User]:
    """Managers one department above the first line manager found; else the executives."""
    key = ("above", t.department_id, t.customer.department_id)
    if key in cache:
        return cache[key]
    result: list[User] = []
    for department in (t.customer.department, t.department):
        ancestors = selectors._ancestors(department)
        managers_at = [d for d in ancestors
                       if User.objects.filter(department_id=d, role="manager", is_active=True).exists()]
        if len(managers_at) >= 2:
            result = list(User.objects.filter(department_id=managers_at[1], role="manager", is_active=True))
            break
    if not result:
        result = list(User.objects.filter(role="executive", is_active=True)) or list(
            User.objects.filter(role="admin", is_active=True))
    cache[key] = result
    return result


# ---------------------------------------------------------------- on-duty roster

def _roster_scope_check(actor, user: User, department: Department | None) -> None:
    scope = actor.role_spec.scope
    if scope == Scope.ALL:
        return
    subtree = actor.department_subtree_ids() if scope == Scope.SUBTREE else []
    if department is None:
        raise Invalid(_("Only someone who sees every department may put a person on duty for all of them."),
                      fields={"department": [_("Choose a department.")]})
    if department.pk not in subtree:
        raise Invalid(_("Choose a department in your scope."), fields={"department": [_("Outside your scope.")]})
    if user.department_id not in subtree:
        raise Invalid(_("Choose a person in your scope."), fields={"user": [_("Outside your scope.")]})


@transaction.atomic
def duty_create(*, actor, data: dict) -> OnDutyRoster:
    """Put a handler on duty (managers and above): a department (or all), a date range, weekdays and a
    daily time window."""
    _require(actor, Perm.COMPLAINT_REASSIGN)
    _require_fields(data, "user", "start_date", "end_date", "start_time", "end_time")
    user = _handler(data["user"], field="user")
    department = None
    if data.get("department"):
        department = Department.objects.filter(pk=data["department"]).first()
        if department is None:
            raise Invalid(_("Unknown department."), fields={"department": [_("Unknown department.")]})
    _roster_scope_check(actor, user, department)
    weekdays = data.get("weekdays")
    if weekdays in (None, "", []):
        mask = ALL_WEEKDAYS
    else:
        from kehu.service_desk.tickets.duty import weekdays_mask

        if any(not str(d).isdigit() or not 0 <= int(d) <= 6 for d in weekdays):
            raise Invalid(_("Weekdays are 0 (Monday) to 6 (Sunday)."), fields={"weekdays": [_("Out of range.")]})
        mask = weekdays_mask(weekdays)
    if data["end_date"] < data["start_date"]:
        raise Invalid(_("The shift ends before it starts."), fields={"end_date": [_("Before the start.")]})
    shift = OnDutyRoster(user=user, department=department, start_date=data["start_date"], end_date=data["end_date"],
                         weekdays=mask, start_time=data["start_time"], end_time=data["end_time"],
                         note=str(data.get("note") or "").strip()[:200], created_by=actor)
    _full_clean(shift)
    shift.save()
    audit_record(actor=actor, action="ticket.duty_create", obj=shift,
                 changes={"user": user.get_username(), "department": department.name if department else None,
                          "dates": [str(shift.start_date), str(shift.end_date)],
                          "window": [f"{shift.start_time:%H:%M}", f"{shift.end_time:%H:%M}"], "weekdays": mask})
    return shift


@transaction.atomic
def duty_delete(*, actor, shift_id: int) -> None:
    """Remove a shift from the roster (managers and above, within their scope)."""
    _require(actor, Perm.COMPLAINT_REASSIGN)
    shift = selectors.duty_get(actor=actor, shift_id=shift_id)
    audit_record(actor=actor, action="ticket.duty_delete", obj=shift,
                 changes={"user": shift.user.get_username(), "dates": [str(shift.start_date), str(shift.end_date)]})
    shift.delete()
