"""Whether an on-duty shift covers a moment (ORM-free, so it is tested on its own)."""

from __future__ import annotations

import datetime as dt

ONE_DAY = dt.timedelta(days=1)


def _day_ok(start_date: dt.date, end_date: dt.date, weekdays: int, day: dt.date) -> bool:
    return start_date <= day <= end_date and bool(weekdays >> day.weekday() & 1)


def covers(*, start_date: dt.date, end_date: dt.date, weekdays: int, start_time: dt.time, end_time: dt.time,
           at_local: dt.datetime) -> bool:
    """A shift runs on each day of [start_date, end_date] whose weekday bit is set, from start_time to
    end_time local time; a window ending before it starts runs past midnight into the next day (and
    belongs to the day it started); equal times mean the whole day."""
    day, clock = at_local.date(), at_local.time().replace(tzinfo=None)
    if start_time == end_time:
        return _day_ok(start_date, end_date, weekdays, day)
    if start_time < end_time:
        return start_time <= clock < end_time and _day_ok(start_date, end_date, weekdays, day)
    if clock >= start_time:
        return _day_ok(start_date, end_date, weekdays, day)
    if clock < end_time:
        return _day_ok(start_date, end_date, weekdays, day - ONE_DAY)
    return False


def weekdays_mask(days: list[int]) -> int:
    """The bit mask of weekdays (0 = Monday … 6 = Sunday)."""
    mask = 0
    for d in days:
        mask |= 1 << int(d)
    return mask


def weekdays_list(mask: int) -> list[int]:
    return [d for d in range(7) if mask >> d & 1]
