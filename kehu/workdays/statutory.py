"""The statutory schedule (国务院办公厅 holiday notices) as ``chinese-calendar`` knows it. Pure: no
ORM, so the data migration, the seed service and the tests share one loader."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar

HOLIDAY = "holiday"
MAKEUP_WORKDAY = "makeup_workday"

# chinese-calendar names holidays in English; the table stores the Chinese name people know.
_CHINESE = {h.value: h.chinese for h in chinese_calendar.Holiday}
IN_LIEU_NOTE = "调休"


@dataclass(frozen=True)
class StatutoryDay:
    date: dt.date
    kind: str  # HOLIDAY or MAKEUP_WORKDAY
    name: str
    note: str = ""


def statutory_years() -> list[int]:
    """Every year the installed chinese-calendar has a statutory schedule for."""
    return sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})


def statutory_days(years: list[int] | None = None) -> list[StatutoryDay]:
    """Holidays (weekend days inside a holiday included, so a listing shows the whole break) and
    make-up working days of ``years`` (default: all known), in date order."""
    wanted = set(statutory_years() if years is None else years)
    in_lieu = set(chinese_calendar.in_lieu_days)
    days = [StatutoryDay(d, HOLIDAY, _CHINESE.get(name, name), IN_LIEU_NOTE if d in in_lieu else "")
            for d, name in chinese_calendar.holidays.items() if d.year in wanted]
    days += [StatutoryDay(d, MAKEUP_WORKDAY, _CHINESE.get(name, name), IN_LIEU_NOTE)
             for d, name in chinese_calendar.workdays.items() if d.year in wanted]
    return sorted(days, key=lambda s: s.date)
