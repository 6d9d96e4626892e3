"""Dates of recurring occasions (pure, no ORM): the next birthday or anniversary on or after a day, and the
first day of each holiday in a list of holiday days."""

from __future__ import annotations

import calendar
import datetime as dt


def on_year(day: dt.date, year: int) -> dt.date:
    """``day``'s month and day in ``year`` (29 February falls on the 28th in a common year)."""
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def next_occurrence(day: dt.date, today: dt.date) -> dt.date:
    """The first yearly recurrence of ``day`` on or after ``today``."""
    this_year = on_year(day, today.year)
    return this_year if this_year >= today else on_year(day, today.year + 1)


def months_between(start: dt.date, end: dt.date) -> list[int]:
    """The months (1–12) touched by the days start..end."""
    months, day = [], start.replace(day=1)
    while day <= end and len(months) < 12:
        months.append(day.month)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def holiday_starts(days: list[tuple[dt.date, str]], names: list[str]) -> list[tuple[dt.date, str]]:
    """The first day of each run of a greeted holiday: (date, the configured name) for each day whose name
    begins with a configured name and whose previous day is not the same holiday."""
    ordered = sorted(days)
    by_date = {d: n for d, n in ordered}
    out = []
    for day, name in ordered:
        match = next((n for n in names if name.startswith(n)), None)
        if match is None:
            continue
        before = by_date.get(day - dt.timedelta(days=1))
        if before is not None and before.startswith(match):
            continue
        out.append((day, match))
    return out
