"""The pure rules of the pipeline (no ORM): the deal's allowed-transition map, weighted forecasts, how long an
instalment is overdue and what that calls for (a dunning notice, a breach case), the week and month a date
belongs to, and conversion rates. Tested exhaustively with hypothesis (tests/test_rules.py)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

# 小定 → 大定 → 认购 → 签约, or 撤销 before the contract is signed. The large deposit is optional (a small deposit
# may go straight to subscription); a signed contract is final here (its arrears go to dunning and breach).
DEAL_TRANSITIONS: dict[str, frozenset[str]] = {
    "small_deposit": frozenset({"large_deposit", "subscribed", "cancelled"}),
    "large_deposit": frozenset({"subscribed", "cancelled"}),
    "subscribed": frozenset({"signed", "cancelled"}),
    "signed": frozenset(),
    "cancelled": frozenset(),
}
LIVE_STAGES = ("small_deposit", "large_deposit", "subscribed", "signed")


def can_move(from_stage: str, to_stage: str) -> bool:
    return to_stage in DEAL_TRANSITIONS.get(from_stage, frozenset())


def weighted(amount: Decimal, probability: int) -> Decimal:
    """An opportunity's weight in the forecast: its amount × its stage's probability, to the fen."""
    return (Decimal(amount) * Decimal(int(probability)) / Decimal(100)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the month's end (1-31 + 1 month = 2-28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def week_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week of ``day`` (周总结 runs Monday to Sunday)."""
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + dt.timedelta(days=6)


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    return first, add_months(first, 1) - dt.timedelta(days=1)


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    if period == "week":
        return week_bounds(day)
    if period == "month":
        return month_bounds(day)
    raise ValueError(f"unknown period {period!r}")


def period_key(period: str, day: dt.date) -> str:
    """The label of the period ``day`` falls in: "2026-W49" or "2026-12"."""
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day:%Y-%m}"


def months_overdue(due_on: dt.date, today: dt.date) -> int:
    """Whole months an instalment due on ``due_on`` is overdue on ``today`` (0 until a month has passed):
    due 1-31, on 3-31 it is 2 months overdue, on 3-30 still 1."""
    if today <= due_on:
        return 0
    months = (today.year - due_on.year) * 12 + today.month - due_on.month
    while months > 0 and add_months(due_on, months) > today:
        months -= 1
    return months


def dunning_due(*, due_on: dt.date, today: dt.date, last_notice: dt.date | None, grace_days: int,
                repeat_days: int) -> bool:
    """Does an unpaid instalment get a dunning notice today? Once ``grace_days`` past its due date, and again
    every ``repeat_days`` after the last notice."""
    if (today - due_on).days < max(1, grace_days):
        return False
    return last_notice is None or (today - last_notice).days >= max(1, repeat_days)


def breach_due(*, due_on: dt.date, today: dt.date, after_months: int) -> bool:
    """More than ``after_months`` months overdue opens a breach case (违约): strictly past the date that many
    months after the due date."""
    return today > add_months(due_on, max(1, after_months))


def rate(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal, None when there is nothing to divide."""
    if whole <= 0:
        return None
    return round(100.0 * part / whole, 1)
