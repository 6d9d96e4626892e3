"""The pure rules of the pipeline, exhaustively: the deal's transition map, the forecast's weights, months overdue
at month ends, when a dunning notice and a breach case are due (004 第13篇: more than 2 months overdue)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from kehu.sales import rules

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))


def test_deal_goes_small_then_large_deposit_then_subscription_then_signing():
    assert rules.can_move("small_deposit", "large_deposit")
    assert rules.can_move("large_deposit", "subscribed")
    assert rules.can_move("subscribed", "signed")
    assert rules.can_move("small_deposit", "subscribed")  # a large deposit is optional


def test_a_signed_or_cancelled_deal_never_moves_and_nothing_skips_subscription():
    for to in ("small_deposit", "large_deposit", "subscribed", "signed", "cancelled"):
        assert not rules.can_move("signed", to)
        assert not rules.can_move("cancelled", to)
    assert not rules.can_move("small_deposit", "signed")
    assert not rules.can_move("large_deposit", "signed")
    assert not rules.can_move("large_deposit", "small_deposit")


@given(st.decimals(min_value=0, max_value=10**9, places=2), st.integers(min_value=0, max_value=100))
def test_weighted_forecast_is_between_nothing_and_the_amount(amount, p):
    w = rules.weighted(amount, p)
    assert Decimal("0") <= w <= amount
    assert rules.weighted(amount, 100) == amount and rules.weighted(amount, 0) == 0


@given(days, st.integers(min_value=-240, max_value=240))
def test_add_months_keeps_the_day_or_clamps_to_the_month_end(day, n):
    out = rules.add_months(day, n)
    assert (out.year * 12 + out.month) - (day.year * 12 + day.month) == n
    assert out.day == day.day or (out.day < day.day and (out + dt.timedelta(days=1)).day == 1)


def test_months_overdue_at_month_ends():
    assert rules.months_overdue(dt.date(2026, 1, 31), dt.date(2026, 2, 28)) == 1
    assert rules.months_overdue(dt.date(2026, 1, 31), dt.date(2026, 3, 30)) == 1
    assert rules.months_overdue(dt.date(2026, 1, 31), dt.date(2026, 3, 31)) == 2
    assert rules.months_overdue(dt.date(2026, 1, 15), dt.date(2026, 1, 15)) == 0


@given(days, days)
def test_months_overdue_is_the_largest_whole_month_passed(due, today):
    m = rules.months_overdue(due, today)
    if today <= due:
        assert m == 0
    else:
        assert rules.add_months(due, m) <= today < rules.add_months(due, m + 1)


def test_breach_case_opens_only_after_more_than_two_months_overdue():
    due = dt.date(2026, 9, 30)
    assert not rules.breach_due(due_on=due, today=dt.date(2026, 11, 30), after_months=2)
    assert rules.breach_due(due_on=due, today=dt.date(2026, 12, 1), after_months=2)


@given(days, st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=6))
def test_breach_is_due_exactly_past_the_policy_months(due, late, months):
    today = due + dt.timedelta(days=late)
    assert rules.breach_due(due_on=due, today=today, after_months=months) == (today > rules.add_months(due, months))


@given(days, st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=10),
       st.integers(min_value=1, max_value=30), st.one_of(st.none(), st.integers(min_value=0, max_value=60)))
def test_dunning_after_the_grace_then_every_repeat_days(due, late, grace, repeat, since):
    today = due + dt.timedelta(days=late)
    last = None if since is None else today - dt.timedelta(days=since)
    got = rules.dunning_due(due_on=due, today=today, last_notice=last, grace_days=grace, repeat_days=repeat)
    if late < max(1, grace):
        assert not got
    elif last is None:
        assert got
    else:
        assert got == (since >= repeat)


def test_an_instalment_due_today_is_not_dunned():
    day = dt.date(2026, 12, 7)
    assert not rules.dunning_due(due_on=day, today=day, last_notice=None, grace_days=0, repeat_days=7)


@given(days)
def test_week_and_month_bounds_contain_the_day(day):
    mon, sun = rules.week_bounds(day)
    assert mon.weekday() == 0 and (sun - mon).days == 6 and mon <= day <= sun
    first, last = rules.month_bounds(day)
    assert first.day == 1 and first <= day <= last and (last + dt.timedelta(days=1)).day == 1
    assert rules.period_key("month", day) == f"{day:%Y-%m}"


def test_conversion_rate_needs_something_to_divide():
    assert rules.rate(0, 0) is None
    assert rules.rate(1, 3) == 33.3
