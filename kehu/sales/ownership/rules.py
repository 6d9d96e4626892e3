"""Pure rules of registration validity and dispute escalation. ORM-free, tested exhaustively.

A registration made on day D with a validity of M months protects the customer up to the end of the
day before ``lapse_day(D, M)`` (the same day-of-month M months later, clamped to the month's last day);
it lapses at the midnight that starts that day, in the office's time zone (Asia/Shanghai)."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

LEVEL_MANAGER, LEVEL_PROJECT_MANAGER, LEVEL_DIRECTOR = 1, 2, 3
TOP_LEVEL = LEVEL_DIRECTOR


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clamped to the last day of the target month."""
    if months < 0:
        raise ValueError("months must not be negative")
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def lapse_day(registered_on: dt.date, months: int) -> dt.date:
    """The first day on which a registration of ``registered_on`` is no longer valid (at least one day later)."""
    if months < 1:
        raise ValueError("a registration is valid for at least one month")
    return max(add_months(registered_on, months), registered_on + dt.timedelta(days=1))


def local_midnight(day: dt.date, tz: str) -> dt.datetime:
    """The aware moment a local day starts."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(tz))


def valid_until(registered_at: dt.datetime, months: int, tz: str) -> dt.datetime:
    """The moment (aware) a registration made at ``registered_at`` lapses: local midnight of its lapse day."""
    local_day = registered_at.astimezone(ZoneInfo(tz)).date()
    return local_midnight(lapse_day(local_day, months), tz)


def renewed_until(current: dt.datetime, followed_up_at: dt.datetime, months: int, tz: str) -> dt.datetime:
    """A follow-up renews the registration from its own day; never shortens it."""
    return max(current, valid_until(followed_up_at, months, tz))


def next_level(level: int) -> int | None:
    """The level a dispute goes to when undecided at ``level`` (None: already at the sales director)."""
    if level < LEVEL_MANAGER or level > TOP_LEVEL:
        raise ValueError("unknown dispute level")
    return None if level == TOP_LEVEL else level + 1


def split_of(raiser_share: int) -> tuple[int, int]:
    """(raiser %, holder %) of a decided dispute; always sums to 100."""
    if not 0 <= raiser_share <= 100:
        raise ValueError("share out of range")
    return raiser_share, 100 - raiser_share
