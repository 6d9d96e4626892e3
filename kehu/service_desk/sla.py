"""The SLA clock of the service desk: ONE definition of "on the clock", "overdue", "breached", "in
time" and the follow-up deadline, used by the boards, the lists, the reports and the sweeps of both
complaints and service requests, so they cannot disagree.

Complaints (policy 处理时间 1 / 3 / ≤ 7 working days): the clock runs from receipt until the handling
result is told to the customer (state "answered", ``answered_at``). The return visit and the summary
then have their own follow-up deadline (``KEHU_COMPLAINT_FOLLOWUP_DAYS`` working days after the
answer), reminded and reported separately and never counted as an SLA breach.

Service requests: the same rule. The clock runs while the request is open, accepted or in progress,
and after it is resolved until the customer is told the result (``inform``, ``customer_informed_at``)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, Q

from kehu.service_desk import workflow
from kehu.service_desk.tickets import workflow as ticket_workflow

# ---------------------------------------------------------------- complaints


def complaint_clock_q() -> Q:
    """Complaints whose SLA clock is running (received, not yet answered). Written with the literal
    open-states condition too, so the partial indexes over the open complaints apply."""
    return Q(state__in_literal=workflow.OPEN_STATES) & Q(state__in_literal=workflow.SLA_STATES)


def complaint_overdue_q(now: dt.datetime) -> Q:
    """On the clock and past the deadline in force: what the sweep marks breached."""
    return complaint_clock_q() & Q(due_at__lt=now)


def breached_q() -> Q:
    """Breached: the sweep found the complaint (or request) past its deadline while its clock ran."""
    return Q(breached_at__isnull=False)


def complaint_followup_q() -> Q:
    """Answered, waiting for the return visit, the summary or the closing."""
    return Q(state__in=workflow.FOLLOWUP_STATES)


def complaint_followup_overdue_q(now: dt.datetime) -> Q:
    return complaint_followup_q() & Q(followup_due_at__lt=now)


def complaint_in_time_q() -> Q:
    """Answered (or, lacking an answer, closed) no later than the deadline in force."""
    unanswered = Q(answered_at__isnull=True)
    return (Q(answered_at__isnull=False, answered_at__lte=F("due_at"))
            | (unanswered & Q(closed_at__isnull=False, closed_at__lte=F("due_at"))))


def complaint_late_q() -> Q:
    unanswered = Q(answered_at__isnull=True)
    return Q(answered_at__gt=F("due_at")) | (unanswered & Q(closed_at__gt=F("due_at")))


def complaint_unanswered_q() -> Q:
    return Q(answered_at__isnull=True, closed_at__isnull=True)


def complaint_on_clock(c) -> bool:
    return c.state in workflow.SLA_STATES


def followup_days() -> int:
    return int(getattr(settings, "KEHU_COMPLAINT_FOLLOWUP_DAYS", 3))


def followup_due_for(answered_at: dt.datetime) -> dt.datetime:
    """The follow-up deadline: N working days after the answer (same calendar and rule as the SLA)."""
    from kehu.workdays.selectors import calendar_get, sla_rule

    return calendar_get().sla_due(answered_at, followup_days(), sla_rule())


# ---------------------------------------------------------------- service requests


def ticket_clock_q() -> Q:
    """Service requests whose SLA clock is running: open, accepted, in progress, or resolved while the
    customer has not yet been told the result (the same rule as complaints: the clock stops when the
    customer is told)."""
    return (Q(state__in=ticket_workflow.SLA_STATES)
            | Q(state=ticket_workflow.RESOLVED, customer_informed_at__isnull=True))


def ticket_overdue_q(now: dt.datetime) -> Q:
    """On the clock and past the deadline, or an emergency nobody responded to in time."""
    return ticket_clock_q() & (Q(due_at__lt=now) | Q(response_due_at__lt=now, responded_at__isnull=True))


def ticket_on_clock(t) -> bool:
    return t.state in ticket_workflow.SLA_STATES or (
        t.state == ticket_workflow.RESOLVED and t.customer_informed_at is None)
