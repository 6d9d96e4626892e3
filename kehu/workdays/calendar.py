"""Working-day arithmetic: pure, ORM-free, O(1) per call.

A ``WorkCalendar`` is built from sets of special dates — statutory holidays, make-up working days
(调休: a weekend day worked in exchange for a longer holiday) and company closures — and a weekend
rule. Inside the window those dates span, every day has a precomputed rank (how many working days
fall up to it) and the working days themselves sit in one list, so "the n-th working day after d"
is two list look-ups. Outside the window the weekly pattern is counted in closed form, so any date
Python knows has an answer; ``years_not_loaded`` tells a caller when that answer is only the weekend
rule because no statutory schedule was loaded for those years.

Day numbers (``u``) below are ``date.toordinal() - 1``, so that ``u % 7`` is the weekday (Monday 0).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday
DEFAULT_TIMEZONE = "Asia/Shanghai"

# How the start of the count is chosen for a receipt on a non-working day.
COUNT_FROM_NEXT_WORKING_DAY = "next_working_day"  # counts as received at 00:00 of the next working day
COUNT_FROM_RECEIPT_DAY = "receipt_day"  # counts from the calendar day of receipt, whatever it is
# When on the last working day the time runs out.
DUE_AT_END_OF_DAY = "end_of_day"  # 24:00 local, i.e. 00:00 of the following day
DUE_AT_TIME_OF_RECEIPT = "time_of_receipt"  # the local clock time of (counted) receipt

_fromordinal = dt.date.fromordinal
_ONE_DAY = dt.timedelta(days=1)
_MIDNIGHT = dt.time(0)


class OutOfRange(ValueError):
    """The answer would fall outside the dates Python can represent (years 1–9999)."""


@dataclass(frozen=True)
class SlaRule:
    """How "within N working days" is read. Defaults: the policy's reading (see settings.KEHU_WORKDAY_SLA)."""

    count_from: str = COUNT_FROM_NEXT_WORKING_DAY
    due_at: str = DUE_AT_END_OF_DAY
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self):
        if self.count_from not in (COUNT_FROM_NEXT_WORKING_DAY, COUNT_FROM_RECEIPT_DAY):
            raise ValueError(f"unknown count_from {self.count_from!r}")
        if self.due_at not in (DUE_AT_END_OF_DAY, DUE_AT_TIME_OF_RECEIPT):
            raise ValueError(f"unknown due_at {self.due_at!r}")
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @classmethod
    def from_mapping(cls, values: dict | None) -> SlaRule:
        values = values or {}
        unknown = set(values) - {"count_from", "due_at", "timezone"}
        if unknown:
            raise ValueError(f"unknown SLA rule keys: {sorted(unknown)}")
        return cls(**values)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class WorkCalendar:
    """Working days from statutory holidays, make-up working days, company closures and a weekend rule.

    Precedence on one date: a holiday or closure is never worked; a make-up day is worked even on a
    weekend; every other day follows the weekend rule. Immutable once built; safe to share between
    threads."""

    __slots__ = ("weekend", "loaded_years", "holidays", "makeup_days", "closures", "_lo", "_hi", "_base",
                 "_size", "_flags", "_le", "_lt", "_work", "_work_u", "_total", "_off", "_w_hi",
                 "_wpw", "_prefix", "_positions")

    def __init__(self, *, holidays: Iterable[dt.date] = (), makeup_days: Iterable[dt.date] = (),
                 closures: Iterable[dt.date] = (), weekend: Iterable[int] = DEFAULT_WEEKEND,
                 loaded_years: Iterable[int] = ()):
        self.weekend = frozenset(weekend)
        if not self.weekend <= set(range(7)) or len(self.weekend) == 7:
            raise ValueError("the weekend must be a proper subset of weekdays 0 (Monday) … 6 (Sunday)")
        self.holidays = frozenset(holidays)
        self.makeup_days = frozenset(makeup_days)
        self.closures = frozenset(closures)
        self.loaded_years = frozenset(loaded_years)

        # The weekly pattern: working positions within a week and their running count.
        self._positions = [p for p in range(7) if p not in self.weekend]
        self._wpw = len(self._positions)
        running, prefix = 0, []
        for p in range(7):
            running += p not in self.weekend
            prefix.append(running)
        self._prefix = prefix

        years = set(self.loaded_years) | {d.year for d in self.holidays | self.makeup_days | self.closures}
        if years:
            self._lo = dt.date(min(years), 1, 1).toordinal() - 1
            self._hi = dt.date(max(years), 12, 31).toordinal() - 1
        else:
            self._lo, self._hi = 0, -1  # an empty window: the weekly pattern everywhere
        self._base = self._lo + 1  # ordinal of the window's first day
        self._size = self._hi - self._lo + 1

        off_days = {d.toordinal() - 1 for d in self.holidays | self.closures}
        on_days = {d.toordinal() - 1 for d in self.makeup_days} - off_days
        weekend = self.weekend
        flags = bytearray(self._size)
        le, lt, work, work_u = [0] * self._size, [0] * self._size, [], []
        count = 0
        for i in range(self._size):
            u = self._lo + i
            working = u not in off_days and (u in on_days or u % 7 not in weekend)
            lt[i] = count
            if working:
                flags[i] = 1
                count += 1
                work.append(_fromordinal(u + 1))
                work_u.append(u)
            le[i] = count
        self._flags, self._le, self._lt = bytes(flags), le, lt
        self._work, self._work_u, self._total = work, work_u, count
        self._off = self._weekly_rank(self._lo - 1)  # global rank of the day before the window
        self._w_hi = self._weekly_rank(self._hi)

    # ------------------------------------------------------------ closed-form weekly pattern

    def _weekly_rank(self, u: int) -> int:
        """Working days by the weekly pattern alone with day number ≤ u (relative to day 0)."""
        weeks, pos = divmod(u, 7)
        return weeks * self._wpw + self._prefix[pos]

    def _weekly_select(self, t: int) -> int:
        """The day number of the t-th working day by the weekly pattern (inverse of _weekly_rank)."""
        weeks, r = divmod(t - 1, self._wpw)
        return weeks * 7 + self._positions[r]

    # ------------------------------------------------------------ global rank and select

    def _rank(self, u: int) -> int:
        """Working days with day number ≤ u, on one global scale consistent across the window edges."""
        i = u - self._lo
        if i < 0:
            return self._weekly_rank(u)
        if i < self._size:
            return self._off + self._le[i]
        return self._off + self._total + self._weekly_rank(u) - self._w_hi

    def _select(self, t: int) -> int:
        """The day number of the working day whose global rank is t."""
        if t <= self._off:
            return self._weekly_select(t)
        k = t - self._off - 1
        if k < self._total:
            return self._work_u[k]
        return self._weekly_select(t - self._off - self._total + self._w_hi)

    @staticmethod
    def _date(u: int) -> dt.date:
        try:
            return _fromordinal(u + 1)
        except (ValueError, OverflowError) as exc:
            raise OutOfRange("the result falls outside years 1–9999") from exc

    # ------------------------------------------------------------ public arithmetic

    def is_working_day(self, day: dt.date) -> bool:
        i = day.toordinal() - self._base
        if 0 <= i < self._size:
            return self._flags[i] == 1
        return day.weekday() not in self.weekend

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """n > 0: the n-th working day after ``day``; n < 0: the |n|-th working day before it;
        n == 0: ``day`` itself if it is a working day, else the next working day."""
        i = day.toordinal() - self._base
        if 0 <= i < self._size:  # the hot path: two list look-ups
            k = (self._le[i] + n - 1) if n > 0 else (self._lt[i] + n)
            if 0 <= k < self._total:
                return self._work[k]
        u = day.toordinal() - 1
        t = self._rank(u) + n if n > 0 else self._rank(u - 1) + n + 1
        return self._date(self._select(t))

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the next one."""
        return self.add_working_days(day, 0)

    def working_days_between_dates(self, start: dt.date, end: dt.date) -> int:
        """Working days d with start < d ≤ end (negative when end is before start)."""
        return self._rank(end.toordinal() - 1) - self._rank(start.toordinal() - 1)

    def working_days_between(self, start: dt.datetime, end: dt.datetime, tz: ZoneInfo | None = None) -> int:
        """Working days whose (local) date is after the local date of ``start`` and not after that of
        ``end``: how many working days' ends have passed, i.e. 0 within the same day. Aware datetimes
        only; dates are taken in ``tz`` (Asia/Shanghai by default)."""
        tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
        return self.working_days_between_dates(_local_date(start, tz), _local_date(end, tz))

    def sla_due(self, received_at: dt.datetime, working_days: int, rule: SlaRule | None = None) -> dt.datetime:
        """When something received at ``received_at`` and due "within ``working_days`` working days"
        falls due, as an aware UTC datetime. Default rule: 24:00 local time of the N-th working day
        after the day of receipt; a receipt on a non-working day counts as received at the start of
        the next working day."""
        if working_days < 0:
            raise ValueError("working_days must not be negative")
        rule = rule or _DEFAULT_RULE
        tz = rule.tz
        local = _local(received_at, tz)
        day, clock = local.date(), local.timetz().replace(tzinfo=None)
        if rule.count_from == COUNT_FROM_NEXT_WORKING_DAY and not self.is_working_day(day):
            day, clock = self.working_day_on_or_after(day), _MIDNIGHT
        due_day = self.add_working_days(day, working_days)
        if rule.due_at == DUE_AT_END_OF_DAY:
            try:
                due_day, clock = due_day + _ONE_DAY, _MIDNIGHT
            except OverflowError as exc:
                raise OutOfRange("the result falls outside years 1–9999") from exc
        return dt.datetime.combine(due_day, clock, tzinfo=tz).astimezone(dt.UTC)

    # ------------------------------------------------------------ what the calendar knows

    def is_loaded(self, year: int) -> bool:
        """Whether a statutory schedule was loaded for ``year`` (else only the weekend rule applies)."""
        return year in self.loaded_years

    def years_not_loaded(self, *days: dt.date) -> list[int]:
        """The years spanned by ``days`` (first to last) for which only the weekend rule was known."""
        if not days:
            return []
        first, last = min(d.year for d in days), max(d.year for d in days)
        return [y for y in range(first, last + 1) if y not in self.loaded_years]


_DEFAULT_RULE = SlaRule()


def _local(at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return at.astimezone(tz)


def _local_date(at: dt.datetime | dt.date, tz: ZoneInfo) -> dt.date:
    if isinstance(at, dt.datetime):
        return _local(at, tz).date()
    return at
