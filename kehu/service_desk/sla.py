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
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.utils.translation import gettext as _

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


# ---------------------------------------------------------------- the grade's SLA (差异化服务)

@dataclass(frozen=True)
class SlaRule:
    """Which rule set a complaint's (or request's) working days: the policy's default for its nature
    (or kind), or the service policy of the customer's grade.

    The rule (REQUIREMENTS §3 "tier-specific SLAs", §5; seed 004 第15篇 处理时间; seed 000 2.2 核心客户
    优先响应): the grade's figure replaces the default only when it is tighter. The policy's "general ≤ 1
    working day, major ≤ 3" are maxima that every customer is owed, so a grade promises faster service,
    never slower: days = min(default, grade's figure). Extensions (up to 7 working days, approved) still
    apply on top, as for any complaint."""

    days: int
    default_days: int
    basis: str  # what the default is for: the nature ("General") or the kind of request
    policy_name: str = ""
    grade: str = ""
    tier_days: int | None = None

    @property
    def by_service_policy(self) -> bool:
        return self.tier_days is not None and self.tier_days < self.default_days

    @property
    def involves_grade(self) -> bool:
        return self.tier_days is not None

    def note(self) -> str:
        """Why the deadline is what it is, for the history ("2 working days: service policy …")."""
        values = {"days": self.days, "default": self.default_days, "basis": self.basis,
                  "policy": self.policy_name, "grade": self.grade, "tier": self.tier_days or 0}
        if self.by_service_policy:
            return _("%(days)d working day(s): service policy %(policy)s · %(grade)s "
                     "(the default for %(basis)s is %(default)d)") % values
        if self.tier_days is not None:
            return _("%(days)d working day(s): the default for %(basis)s (the service policy %(policy)s · "
                     "%(grade)s allows %(tier)d, not tighter)") % values
        return _("%(days)d working day(s): the default for %(basis)s (no service policy)") % values


def tier_rule(default_days: int, *, customer_id: int | None, figure: str, basis: str) -> SlaRule:
    """The SLA days for a ticket whose default is ``default_days`` (the nature's or kind's), given the
    service level of ``customer_id``'s grade; ``figure`` names the ServiceLevel field
    (complaint_sla_working_days or service_request_sla_working_days). A default of 0 (an emergency:
    the same working day) is never changed."""
    from kehu.service_desk.service_levels import service_level

    level = service_level(customer_id)
    tier = getattr(level, figure) if level is not None else None
    if level is None or tier is None or default_days <= 0:
        return SlaRule(days=default_days, default_days=default_days, basis=str(basis))
    return SlaRule(days=min(default_days, int(tier)), default_days=default_days, basis=str(basis),
                   policy_name=level.policy_name, grade=level.grade, tier_days=int(tier))
