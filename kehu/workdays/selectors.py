"""Every read of the working-day calendar. The calendar is the same for everyone (no data scope); any
authenticated user may read it."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kehu.errors import BadRequest
from kehu.workdays.calendar import SlaRule, WorkCalendar
from kehu.workdays.models import CalendarDay, CalendarVersion, DayKind, DaySource
from kehu.workdays.services import WARNING_CACHE_KEY

MAX_RANGE_DAYS = 366
WARNING_CACHE_SECONDS = 60

# (version token, calendar) of this process. Replaced whole, never mutated: safe across threads.
_cached: tuple[str, WorkCalendar] | None = None


def calendar_build() -> WorkCalendar:
    """A WorkCalendar from the holiday table as it is now (one query)."""
    holidays, makeup, closures, loaded = [], [], [], set()
    for date, kind, source in CalendarDay.objects.values_list("date", "kind", "source"):
        if kind == DayKind.MAKEUP_WORKDAY:
            makeup.append(date)
        elif kind == DayKind.HOLIDAY:
            holidays.append(date)
        else:
            closures.append(date)
        if source == DaySource.STATUTORY:
            loaded.add(date.year)
    return WorkCalendar(holidays=holidays, makeup_days=makeup, closures=closures,
                        weekend=settings.KEHU_WORKDAY_WEEKEND, loaded_years=loaded)


def calendar_get() -> WorkCalendar:
    """The current calendar: this process's cached one while the version token in the database is
    unchanged (one primary-key query), rebuilt after any edit made by any process."""
    global _cached
    token = CalendarVersion.objects.filter(pk=1).values_list("token", flat=True).first()
    cached = _cached
    if token is not None and cached is not None and cached[0] == token:
        return cached[1]
    calendar = calendar_build()
    if token is not None:  # without a version row there is nothing to invalidate on: never cache
        _cached = (token, calendar)
    return calendar


def sla_rule() -> SlaRule:
    """The configured reading of "within N working days" (settings.KEHU_WORKDAY_SLA)."""
    return SlaRule.from_mapping(settings.KEHU_WORKDAY_SLA)


def years_loaded() -> list[int]:
    """Years with a statutory schedule in the holiday table."""
    return sorted(calendar_get().loaded_years)


def coming_year_missing(today: dt.date) -> int | None:
    """The first year without a statutory schedule among this year and the year that starts within
    KEHU_WORKDAY_WARN_DAYS_AHEAD days, or None when both are loaded."""
    loaded = calendar_get().loaded_years
    horizon = today + dt.timedelta(days=settings.KEHU_WORKDAY_WARN_DAYS_AHEAD)
    for year in range(today.year, horizon.year + 1):
        if year not in loaded:
            return year
    return None


def calendar_warning(today: dt.date) -> int | None:
    """coming_year_missing for the page banner, cached briefly (edits in this process drop it at once)."""
    key = f"{WARNING_CACHE_KEY}:{today.isoformat()}"
    cached = cache.get(WARNING_CACHE_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    year = coming_year_missing(today)
    cache.set(WARNING_CACHE_KEY, (key, year), WARNING_CACHE_SECONDS)
    return year


def day_list(*, actor, date_from: dt.date, date_to: dt.date, kind: str | None = None,
             source: str | None = None) -> QuerySet[CalendarDay]:
    """Special days from ``date_from`` to ``date_to`` inclusive (at most 366 days), by date."""
    if date_to < date_from:
        raise BadRequest(_("The end of the range is before its start."), fields={"to": [_("Before “from”.")]})
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise BadRequest(_("A range may span at most %(n)d days.") % {"n": MAX_RANGE_DAYS},
                         fields={"to": [_("Range too long.")]})
    qs = CalendarDay.objects.filter(date__gte=date_from, date__lte=date_to)
    if kind:
        qs = qs.filter(kind=kind)
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("date")


def day_get(*, actor, date: dt.date) -> CalendarDay | None:
    """The special day on ``date``, if any."""
    return CalendarDay.objects.filter(date=date).first()


# ---------------------------------------------------------------- computations for the API and pages

def _out_of_range(exc: ValueError, field: str) -> BadRequest:
    return BadRequest(_("The result falls outside the dates that can be represented."),
                      fields={field: [str(exc) or _("Out of range.")]})


def working_day_add(*, actor, date: dt.date, days: int) -> dict:
    """The ``days``-th working day after ``date`` (before it when negative; ``date`` or the next
    working day when 0), with the years on the way that only the weekend rule covered."""
    calendar = calendar_get()
    try:
        result = calendar.add_working_days(date, days)
    except ValueError as exc:
        raise _out_of_range(exc, "days") from exc
    return {"date": date, "days": days, "result": result, "years_not_loaded": calendar.years_not_loaded(date, result)}


def sla_due_compute(*, actor, received_at: dt.datetime, days: int) -> dict:
    """When something received at ``received_at`` is due "within ``days`` working days" under the
    configured rule. A naive ``received_at`` is read in the rule's time zone."""
    calendar, rule = calendar_get(), sla_rule()
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        received_at = received_at.replace(tzinfo=rule.tz)
    try:
        due = calendar.sla_due(received_at, days, rule)
    except ValueError as exc:
        raise _out_of_range(exc, "days") from exc
    local = due.astimezone(rule.tz)
    # The last day counted is the one before a due time of 00:00 (24:00 of the previous day).
    last_day = (local - dt.timedelta(microseconds=1)).date() if local.time() == dt.time(0) else local.date()
    return {"received_at": received_at, "days": days, "due_at": due, "due_at_local": local,
            "rule": {"count_from": rule.count_from, "due_at": rule.due_at, "timezone": rule.timezone},
            "years_not_loaded": calendar.years_not_loaded(received_at.astimezone(rule.tz).date(), last_day)}


def working_days_count(*, actor, start: dt.datetime, end: dt.datetime) -> dict:
    """Working days after the local day of ``start`` up to and including the local day of ``end``."""
    calendar, rule = calendar_get(), sla_rule()
    start, end = (v if v.tzinfo and v.utcoffset() is not None else v.replace(tzinfo=rule.tz) for v in (start, end))
    count = calendar.working_days_between(start, end, rule.tz)
    return {"start": start, "end": end, "working_days": count,
            "years_not_loaded": calendar.years_not_loaded(start.astimezone(rule.tz).date(),
                                                         end.astimezone(rule.tz).date())}
