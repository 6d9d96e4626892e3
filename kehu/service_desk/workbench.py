"""Complaints on the workbench: my open complaints near or past their deadline (a manager: the
department subtree's), the open-complaint count, SLA compliance this month and the monthly chart of
complaints received vs answered in time, and a link to the reports.

The SLA figures come from the complaint reports (reports.complaint_report_sla, one call per month, so
the reports' definition of "in time" is the workbench's too); they serve the figure and the chart."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.access.roles import Perm, Scope
from kehu.service_desk import sla
from kehu.service_desk.models import open_q
from kehu.service_desk.reports import complaint_report_sla
from kehu.service_desk.selectors import complaint_base
from kehu.workbench.registry import (
    Chart,
    Figure,
    Panel,
    Todo,
    chart_provider,
    figure_provider,
    month_start,
    panel_provider,
    todo_provider,
    urgency,
)

CHART_MONTHS = 6


def _soon() -> dt.timedelta:
    return dt.timedelta(hours=settings.KEHU_WORKBENCH_SOON_HOURS)


def _horizon(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(days=settings.KEHU_WORKBENCH_HORIZON_DAYS)


def mine_q(user, *, owner: str, helper: str) -> Q:
    """The work that is the user's own: a manager's department subtree (the selector's scope already),
    everybody else what they are accountable for or working on — an agent whose scope is the whole
    company is not accountable for the whole company's deadlines."""
    if user.role_spec.scope == Scope.SUBTREE:
        return Q()
    return Q(**{f"{owner}_id": user.pk}) | Q(**{f"{helper}_id": user.pk})


@todo_provider("complaints", label=gettext_lazy("Complaints near or past their deadline"), order=20,
               more="service_desk:board",
               short=gettext_lazy("Complaint"))
def complaint_todos(user, *, today, now, limit):
    if not user.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        return []
    # The SLA clock stops at the answer (sla.py); what follows — the return visit and the summary — has its
    # own deadline and is a to-do of its own, never shown as an SLA deadline.
    horizon = _horizon(now)
    mine = complaint_base(actor=user).filter(mine_q(user, owner="accountable", helper="responsible"))
    on_clock = (mine.filter(sla.complaint_clock_q(), due_at__lte=horizon)
                .select_related("customer").only("id", "tracking_no", "subject", "due_at", "customer__name")
                .order_by("due_at", "id")[:limit])
    followups = (mine.filter(sla.complaint_followup_q(), followup_due_at__lte=horizon)
                 .select_related("customer").only("id", "tracking_no", "subject", "followup_due_at", "customer__name")
                 .order_by("followup_due_at", "id")[:limit])
    out = []
    for c in on_clock:
        state = urgency(c.due_at, now=now, soon=_soon())
        title = (_("Complaint %(no)s is overdue") if state == "overdue" else _("Complaint %(no)s is due")) % {
            "no": c.tracking_no}
        out.append(Todo(kind="complaint", title=title, url=reverse("service_desk:detail", args=[c.pk]),
                        due=c.due_at, state=state,
                        detail=c.subject + (f" · {c.customer.name}" if c.customer_id else "")))
    for c in followups:
        state = urgency(c.followup_due_at, now=now, soon=_soon())
        out.append(Todo(kind="complaint", title=_("Complaint %(no)s: return visit and summary") % {"no": c.tracking_no},
                        url=reverse("service_desk:detail", args=[c.pk]), due=c.followup_due_at, state=state,
                        detail=c.subject + (f" · {c.customer.name}" if c.customer_id else "")))
    out.sort(key=lambda t: t.due)
    return out[:limit]


def _can_count(user) -> bool:
    return user.has_kehu_perm(Perm.COMPLAINT_HANDLE) or user.has_kehu_perm(Perm.COMPLAINT_REPORT)


@figure_provider("open_complaints", label=gettext_lazy("Open complaints"), order=30)
def open_complaints(user, *, today, now):
    if not _can_count(user):
        return None
    # Counting reads the reports' permission (an analyst counts without handling complaints).
    perm = Perm.COMPLAINT_HANDLE if user.has_kehu_perm(Perm.COMPLAINT_HANDLE) else Perm.COMPLAINT_REPORT
    value = complaint_base(actor=user, perm=perm).filter(open_q()).count()
    url = reverse("service_desk:board") if user.has_kehu_perm(Perm.COMPLAINT_HANDLE) else ""
    return Figure(value=value, url=url)


_SLA_MEMO: dict = {}


def _sla_by_month(user, today: dt.date, now: dt.datetime) -> list[dict]:
    """SLA compliance of the last CHART_MONTHS months, oldest first: the complaint reports' overall row
    for each month (one query a month over that month's complaints, not a per-row month function),
    memoised for one gathering (the figure and the chart ask for the same rows)."""
    key = (user.pk, user.role, today, now)
    if _SLA_MEMO.get("key") != key:
        rows = []
        for back in range(CHART_MONTHS - 1, -1, -1):
            first = month_start(today, back)
            last = min(today, month_start(today, back - 1) - dt.timedelta(days=1))
            report = complaint_report_sla(actor=user, date_from=first, date_to=last, group_by="severity", now=now)
            rows.append({**report["overall"], "label": f"{first:%Y-%m}"})
        _SLA_MEMO.clear()
        _SLA_MEMO.update(key=key, rows=rows)
    return _SLA_MEMO["rows"]


@figure_provider("sla_compliance", label=gettext_lazy("Complaints answered in time this month"), order=40)
def sla_compliance(user, *, today, now):
    if not user.has_kehu_perm(Perm.COMPLAINT_REPORT):
        return None
    rows = _sla_by_month(user, today, now)
    return Figure(value=rows[-1]["compliance_pct"], previous=rows[-2]["compliance_pct"], unit="%",
                  note=_("last month"), url=reverse("service_desk:reports"))


@chart_provider("complaints_by_month", label=gettext_lazy("Complaints received and answered in time"), order=20)
def complaints_by_month(user, *, today, now):
    if not user.has_kehu_perm(Perm.COMPLAINT_REPORT):
        return None
    rows = _sla_by_month(user, today, now)
    return Chart(labels=[r["label"] for r in rows],
                 series=[(_("Received"), [r["total"] for r in rows]),
                         (_("Answered in time"), [r["answered_in_time"] for r in rows])],
                 url=reverse("service_desk:reports"))


@panel_provider("reports", label=gettext_lazy("Reports"), order=10)
def report_links(user, *, today, now):
    """The analyst's way in (and everyone's who may read the complaint reports)."""
    if not user.has_kehu_perm(Perm.COMPLAINT_REPORT):
        return None
    url = reverse("service_desk:reports")
    rows = [Todo(kind="report", title=_("Complaint reports"), url=url,
                 detail=_("SLA compliance, causes, repeat complainers, handling time"))]
    return Panel(rows=rows, url=url)
