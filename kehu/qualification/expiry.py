"""When a paper stops being valid (ORM-free): a document valid to day D is good through D and expired from
midnight (00:00) of D + 1 in Asia/Shanghai — whatever the server's clock zone. Tested exhaustively."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_today(now: dt.datetime) -> dt.date:
    """The calendar day in Shanghai at the aware moment ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    return now.astimezone(SHANGHAI).date()


def expires_at(valid_to: dt.date) -> dt.datetime:
    """The aware moment the paper expires: midnight Shanghai at the start of the day after ``valid_to``."""
    return dt.datetime.combine(valid_to + dt.timedelta(days=1), dt.time(0, 0), tzinfo=SHANGHAI)


def is_expired(valid_to: dt.date | None, *, today: dt.date) -> bool:
    """Expired on the Shanghai day ``today`` (no end date: never)."""
    return valid_to is not None and valid_to < today


def expired_at_moment(valid_to: dt.date | None, now: dt.datetime) -> bool:
    return valid_to is not None and now >= expires_at(valid_to)


def days_left(valid_to: dt.date | None, *, today: dt.date) -> int | None:
    """Whole days the paper stays valid after today (0: its last day; negative: expired; None: no end)."""
    return None if valid_to is None else (valid_to - today).days


def expiring_window(today: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The valid_to days that count as "expiring within ``days`` days" on ``today``: today … today + days."""
    return today, today + dt.timedelta(days=days)
