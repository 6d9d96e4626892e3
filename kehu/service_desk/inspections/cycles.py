"""Inspection cycle arithmetic: pure, ORM-free.

Cycles are counted in calendar days (weeks, months); only the deadline is moved, back to the previous
working day when the date falls on a weekend, a statutory holiday or a company closure, so an
inspection is never due on a day nobody works."""

from __future__ import annotations

import calendar as _calendar
import datetime as dt

DAY, WEEK, MONTH = "day", "week", "month"
DEFAULT_CYCLE_DAYS = {"key": 30, "important": 90, "normal": 180}
DEFAULT_HORIZON_DAYS = 14


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def advance(day: dt.date, length: int, unit: str) -> dt.date:
    """The date one cycle of ``length`` ``unit``s after ``day``."""
    if length < 1:
        raise ValueError("a cycle is at least 1")
    if unit == DAY:
        return day + dt.timedelta(days=length)
    if unit == WEEK:
        return day + dt.timedelta(weeks=length)
    if unit == MONTH:
        return add_months(day, length)
    raise ValueError(f"unknown cycle unit {unit!r}")


def due_on_working_day(day: dt.date, calendar) -> dt.date:
    """``day`` if it is a working day in ``calendar`` (a kehu.workdays WorkCalendar), else the
    working day before it."""
    if calendar.is_working_day(day):
        return day
    return calendar.add_working_days(day, -1)


def default_cycle_days(importance: str, table: dict | None) -> int:
    """The cycle in days for a customer of ``importance`` from the configured table (policy defaults
    30 / 90 / 180 days for key / important / normal customers)."""
    table = table or DEFAULT_CYCLE_DAYS
    return int(table.get(importance, DEFAULT_CYCLE_DAYS.get(importance, DEFAULT_CYCLE_DAYS["normal"])))
