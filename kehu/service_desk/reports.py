"""Complaint reports: SLA compliance, the Pareto of categories, categories and causes over time, repeat
complainers and handling time.

Reads only, each narrowed to the actor's complaint scope (selectors.complaint_base) and to complaints
received in a date range (local dates, inclusive; default the last 12 calendar months). Counting is
done by the database; only the handling-time report fetches rows (two timestamps each, capped),
because working days need the holiday calendar.

Who may read them: Perm.COMPLAINT_REPORT — every complaint handler (each within their own scope) plus
analysts and executives; not finance nor the auditor.

"In time" means answered (or, lacking an answer, closed) no later than the deadline in force, i.e.
``due_at`` after any approved extension. Compliance is the share in time among complaints whose
outcome is known: answered/closed, or still open past their deadline; open complaints not yet due
are counted as pending and left out of the percentage."""

from __future__ import annotations

import datetime as dt
import statistics

from django.db.models import Case, Count, F, Max, OuterRef, Q, QuerySet, Subquery, TextField, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.errors import BadRequest, Forbidden, Invalid
from kehu.service_desk import sla
from kehu.service_desk.models import Complaint, Severity
from kehu.service_desk.selectors import complaint_base
from kehu.workdays.selectors import calendar_get, sla_rule

GROUP_BYS = ("severity", "department", "person", "month")
DEFAULT_MONTHS = 12
MAX_RANGE_DAYS = 3660  # ten years: beyond that a report is a data export, not a page
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)  # keeps the UTC bounds representable
MAX_GROUP_ROWS = 500
MAX_REPEAT_ROWS = 200
HANDLING_TIME_CAP = 50_000
PARETO_LINE = 80.0  # the "vital few" are the categories that make up the first 80 %
TREND_BYS = ("category", "cause")
TREND_SERIES = 8  # the most frequent values get a series each; the rest are summed as "other"


def _authorise(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.COMPLAINT_REPORT):
        raise Forbidden(_("You are not allowed to do this."))


def report_range(date_from: dt.date | None = None, date_to: dt.date | None = None, *,
                 today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The report's date range (local dates, inclusive). Missing ends default to the last 12 calendar
    months up to today; ``from`` after ``to`` or a range over ten years is a 400."""
    today = today or timezone.localdate()
    date_to = date_to or today
    for name, value in (("from", date_from), ("to", date_to)):
        if value is not None and not (EARLIEST <= value <= LATEST):
            raise BadRequest(_("Choose a date between %(a)s and %(b)s.") % {"a": EARLIEST, "b": LATEST},
                             fields={name: [_("Out of range.")]})
    if date_from is None:
        first = date_to.replace(day=1)
        months = first.year * 12 + first.month - 1 - (DEFAULT_MONTHS - 1)
        date_from = dt.date(months // 12, months % 12 + 1, 1)
    if date_from > date_to:
        raise BadRequest(_("The end of the range is before its start."), fields={"to": [_("Before “from”.")]})
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise BadRequest(_("A range may span at most %(n)d days.") % {"n": MAX_RANGE_DAYS},
                         fields={"to": [_("Range too long.")]})
    return date_from, date_to


def _scoped(actor, date_from: dt.date, date_to: dt.date) -> QuerySet[Complaint]:
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(date_from, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return complaint_base(actor=actor, perm=Perm.COMPLAINT_REPORT).filter(received_at__gte=start, received_at__lt=end)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


# ---------------------------------------------------------------- SLA compliance

def _sla_counts(now: dt.datetime) -> dict:
    unanswered = sla.complaint_unanswered_q()
    return {
        "total": Count("id"),
        "answered_in_time": Count("id", filter=sla.complaint_in_time_q()),
        "answered_late": Count("id", filter=sla.complaint_late_q()),
        "open_overdue": Count("id", filter=unanswered & Q(due_at__lt=now)),
        "pending": Count("id", filter=unanswered & Q(due_at__gte=now)),
        # The follow-up (return visit and summary) is reported apart and never counts as a breach.
        "followup_open": Count("id", filter=sla.complaint_followup_q()),
        "followup_overdue": Count("id", filter=sla.complaint_followup_overdue_q(now)),
    }


def _sla_row(key: str, label: str, counts: dict) -> dict:
    decided = counts["answered_in_time"] + counts["answered_late"] + counts["open_overdue"]
    return {"key": key, "label": label, "total": counts["total"], "answered_in_time": counts["answered_in_time"],
            "answered_late": counts["answered_late"], "open_overdue": counts["open_overdue"],
            "pending": counts["pending"], "followup_open": counts["followup_open"],
            "followup_overdue": counts["followup_overdue"],
            "compliance_pct": _pct(counts["answered_in_time"], decided)}


def _months(date_from: dt.date, date_to: dt.date) -> list[str]:
    out, y, m = [], date_from.year, date_from.month
    while (y, m) <= (date_to.year, date_to.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def complaint_report_sla(*, actor, date_from: dt.date | None = None, date_to: dt.date | None = None,
                         group_by: str = "severity", now: dt.datetime | None = None) -> dict:
    """SLA compliance of complaints received in the range, by severity, department (of the accountable
    person), person (the accountable one, 首问责任人) or month of receipt (Asia/Shanghai); one query."""
    _authorise(actor)
    if group_by not in GROUP_BYS:
        raise Invalid(_("Group by severity, department, person or month."),
                      fields={"group_by": [_("Unknown grouping.")]})
    date_from, date_to = report_range(date_from, date_to)
    counts = _sla_counts(now or timezone.now())
    qs = _scoped(actor, date_from, date_to).order_by()
    rows: list[dict] = []
    if group_by == "severity":
        found = {r["severity"]: r for r in qs.values("severity").annotate(**counts)}
        rows = [_sla_row(value, str(label), found[value]) for value, label in Severity.choices if value in found]
    elif group_by == "department":
        for r in (qs.values("department_id", "department__name").annotate(**counts)
                  .order_by("-total", "department__name", "department_id")[:MAX_GROUP_ROWS]):
            rows.append(_sla_row(str(r["department_id"] or ""), r["department__name"] or _("No department"), r))
    elif group_by == "person":
        for r in (qs.values("accountable_id", "accountable__display_name", "accountable__username")
                  .annotate(**counts).order_by("-total", "accountable_id")[:MAX_GROUP_ROWS]):
            label = r["accountable__display_name"] or r["accountable__username"]
            rows.append(_sla_row(str(r["accountable_id"]), label, r))
    else:
        tz = timezone.get_default_timezone()
        found = {}
        for r in qs.annotate(month=TruncMonth("received_at", tzinfo=tz)).values("month").annotate(**counts):
            month = r["month"]
            if timezone.is_aware(month):
                month = timezone.localtime(month, tz)
            found[f"{month:%Y-%m}"] = r
        empty = dict.fromkeys(counts, 0)
        rows = [_sla_row(m, m, found.get(m, empty)) for m in _months(date_from, date_to)]
    totals = dict.fromkeys(("total", "answered_in_time", "answered_late", "open_overdue", "pending",
                            "followup_open", "followup_overdue"), 0)
    for r in rows:
        for k in totals:
            totals[k] += r[k]
    return {"date_from": date_from, "date_to": date_to, "group_by": group_by, "rows": rows,
            "overall": _sla_row("", _("All"), totals)}


# ---------------------------------------------------------------- Pareto of categories

def complaint_report_causes(*, actor, date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    """Complaints per category (the classified cause), most frequent first, with each one's share and
    the cumulative share; ``vital_few`` marks the categories that make up the first 80 % (Pareto)."""
    _authorise(actor)
    date_from, date_to = report_range(date_from, date_to)
    counts = list(_scoped(actor, date_from, date_to).order_by().values("category")
                  .annotate(count=Count("id")).order_by("-count", "category"))
    total = sum(r["count"] for r in counts)
    rows, running = [], 0
    for r in counts:
        before = _pct(running, total) or 0.0
        running += r["count"]
        rows.append({"key": r["category"], "label": r["category"] or _("Not categorised"), "count": r["count"],
                     "pct": _pct(r["count"], total), "cumulative_pct": _pct(running, total),
                     "vital_few": before < PARETO_LINE})
    return {"date_from": date_from, "date_to": date_to, "total": total, "rows": rows}


# ---------------------------------------------------------------- categories and causes over time

def _month_key(month) -> str:
    if timezone.is_aware(month):
        month = timezone.localtime(month, timezone.get_default_timezone())
    return f"{month:%Y-%m}"


def complaint_report_categories(*, actor, date_from: dt.date | None = None, date_to: dt.date | None = None,
                                by: str = "category") -> dict:
    """Complaints per category (or per recorded cause) per month of receipt (Asia/Shanghai), for a
    stacked chart: the 8 most frequent values in the range get a series each, most frequent first,
    the rest are summed into "Other" (``other`` true, key "*"); every month of the range is listed, empty ones as 0.
    Two grouped queries, whatever the number of complaints or distinct causes."""
    _authorise(actor)
    if by not in TREND_BYS:
        raise Invalid(_("Show categories or causes."), fields={"by": [_("Unknown grouping.")]})
    date_from, date_to = report_range(date_from, date_to)
    qs = _scoped(actor, date_from, date_to).order_by()
    top = list(qs.values(by).annotate(count=Count("id")).order_by("-count", by)[:TREND_SERIES + 1])
    keys = [r[by] for r in top[:TREND_SERIES]] if len(top) > TREND_SERIES else [r[by] for r in top]
    if len(top) > TREND_SERIES:  # an "other" bucket is needed: fold everything else into it in SQL
        # NULL stands for "other": both columns are NOT NULL, so no stored value can collide with it.
        bucket = Case(When(**{f"{by}__in": keys}, then=F(by)), default=Value(None), output_field=TextField())
    else:
        bucket = F(by)
    tz = timezone.get_default_timezone()
    months = _months(date_from, date_to)
    index = {m: i for i, m in enumerate(months)}
    counts: dict[str | None, list[int]] = {key: [0] * len(months) for key in [*keys, None]}
    for r in (qs.annotate(month=TruncMonth("received_at", tzinfo=tz), bucket=bucket)
              .values("month", "bucket").annotate(count=Count("id"))):
        counts[r["bucket"]][index[_month_key(r["month"])]] += r["count"]
    empty_label = _("Not categorised") if by == "category" else _("No cause recorded")
    series = [{"key": key, "label": key or empty_label, "other": False, "counts": counts[key],
               "total": sum(counts[key])} for key in keys]
    if any(counts[None]):
        series.append({"key": "*", "label": _("Other"), "other": True, "counts": counts[None],
                       "total": sum(counts[None])})
    totals = [sum(s["counts"][i] for s in series) for i in range(len(months))]
    return {"date_from": date_from, "date_to": date_to, "by": by, "months": months, "series": series,
            "totals": totals, "total": sum(totals)}


# ---------------------------------------------------------------- repeat complainers

def complaint_report_repeat(*, actor, date_from: dt.date | None = None, date_to: dt.date | None = None,
                            min_count: int = 2) -> dict:
    """Complainants with at least ``min_count`` complaints in the range: the customer when one is
    linked, else the complainant's phone (by its lookup hash; only the masked number is shown). Most
    complaints first, at most 200 rows; two grouped queries."""
    _authorise(actor)
    if min_count < 1:
        raise Invalid(_("The minimum must be at least 1."), fields={"min_count": [_("Out of range.")]})
    date_from, date_to = report_range(date_from, date_to)
    qs = _scoped(actor, date_from, date_to).order_by()

    def last(group_field: str, value_field: str) -> Subquery:
        """``value_field`` of the group's most recent complaint in the range."""
        return Subquery(qs.filter(**{group_field: OuterRef(group_field)}).order_by("-received_at", "-id")
                        .values(value_field)[:1])

    rows = []
    for r in (qs.filter(customer__isnull=False).values("customer_id", "customer__name")
              .annotate(count=Count("id"), last_received_at=Max("received_at"),
                        last_id=last("customer_id", "id"), last_tracking_no=last("customer_id", "tracking_no"))
              .filter(count__gte=min_count).order_by("-count", "-last_received_at")[:MAX_REPEAT_ROWS]):
        rows.append({"key": f"customer:{r['customer_id']}", "customer": r["customer_id"],
                     "name": r["customer__name"], "phone": "", "count": r["count"],
                     "last_received_at": r["last_received_at"], "last_complaint": r["last_id"],
                     "last_tracking_no": r["last_tracking_no"]})
    for r in (qs.filter(customer__isnull=True).exclude(complainant_phone_hash="")
              .values("complainant_phone_hash")
              .annotate(count=Count("id"), last_received_at=Max("received_at"),
                        phone=Max("complainant_phone_masked"), name=last("complainant_phone_hash", "complainant_name"),
                        last_id=last("complainant_phone_hash", "id"),
                        last_tracking_no=last("complainant_phone_hash", "tracking_no"))
              .filter(count__gte=min_count).order_by("-count", "-last_received_at")[:MAX_REPEAT_ROWS]):
        # The lookup hash never leaves the server: the row is keyed by its last complaint instead.
        rows.append({"key": f"phone:{r['last_id']}", "customer": None, "name": r["name"], "phone": r["phone"],
                     "count": r["count"], "last_received_at": r["last_received_at"], "last_complaint": r["last_id"],
                     "last_tracking_no": r["last_tracking_no"]})
    rows.sort(key=lambda r: (-r["count"], -r["last_received_at"].timestamp()))
    return {"date_from": date_from, "date_to": date_to, "min_count": min_count, "rows": rows[:MAX_REPEAT_ROWS]}


# ---------------------------------------------------------------- handling time

def _summary(key: str, label: str, days: list[int]) -> dict:
    return {"key": key, "label": label, "answered": len(days),
            "avg_working_days": round(statistics.fmean(days), 2) if days else None,
            "median_working_days": float(statistics.median(days)) if days else None}


def complaint_report_handling_time(*, actor, date_from: dt.date | None = None,
                                   date_to: dt.date | None = None) -> dict:
    """Average and median working days from receipt to the answer, per severity, for the answered
    complaints received in the range (the holiday calendar counts: 30 Sep → 9 Oct 2025 is 1 working
    day). At most 50,000 complaints, the most recent; ``truncated`` says when the cap cut some off."""
    _authorise(actor)
    date_from, date_to = report_range(date_from, date_to)
    calendar, tz = calendar_get(), sla_rule().tz
    fetched = list(_scoped(actor, date_from, date_to).filter(answered_at__isnull=False)
                   .order_by("-received_at", "-id")
                   .values_list("severity", "received_at", "answered_at")[:HANDLING_TIME_CAP + 1])
    truncated = len(fetched) > HANDLING_TIME_CAP
    by_severity: dict[str, list[int]] = {value: [] for value in Severity.values}
    for severity, received_at, answered_at in fetched[:HANDLING_TIME_CAP]:
        by_severity.setdefault(severity, []).append(calendar.working_days_between(received_at, answered_at, tz))
    rows = [_summary(value, str(label), by_severity[value]) for value, label in Severity.choices
            if by_severity[value]]
    everything = [d for days in by_severity.values() for d in days]
    return {"date_from": date_from, "date_to": date_to, "rows": rows, "overall": _summary("", _("All"), everything),
            "truncated": truncated}
