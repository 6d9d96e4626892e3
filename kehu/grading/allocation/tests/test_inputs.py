"""The look-back inputs as pure functions: months, weeks, completion and regularity (周拿货量均衡)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from kehu.grading.allocation.inputs import History, completion_of, lookback_window, regularity_of, week_starts
from kehu.grading.allocation.services import parse_month


def test_the_look_back_is_the_months_before_the_round():
    assert lookback_window(dt.date(2026, 1, 1), 3) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


def test_weeks_cut_by_the_window_start_are_left_out():
    weeks = week_starts(dt.date(2026, 8, 1), dt.date(2026, 10, 31))  # a Saturday to a Saturday
    assert weeks[0] == dt.date(2026, 8, 3) and weeks[-1] == dt.date(2026, 10, 26) and len(weeks) == 13


def test_month_forms():
    assert parse_month("2026-11") == parse_month("2026年11月") == parse_month("2026/11/15") == dt.date(2026, 11, 1)
    assert parse_month("2026-13") is None and parse_month("next month") is None and parse_month(None) is None


def test_completion_is_ordered_over_planned_and_unknown_without_plans():
    assert completion_of(History(planned_t=D(1000), ordered_in_plan_months_t=D(800))) == D("0.8")
    assert completion_of(History()) is None


def test_regularity_is_one_for_the_same_tonnage_every_week_and_lower_when_lumpy():
    weeks = week_starts(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    even = History(planned_t=D(1), weekly=dict.fromkeys(weeks, D(100)))
    assert regularity_of(even, weeks)[0] == 1
    lumpy = History(planned_t=D(1), weekly={weeks[0]: D(1300)})
    value, facts = regularity_of(lumpy, weeks)
    assert value == D("0.2240")  # CV = √12 and facts == {"weeks": 13, "weeks_with_orders": 1, "cv": "3.464"}
    assert regularity_of(History(planned_t=D(1)), weeks)[0] == 0  # plans but no orders
    assert regularity_of(History(), weeks)[0] is None  # a newcomer: the default applies


@given(st.lists(st.decimals(min_value=0, max_value=10_000, places=3), min_size=13, max_size=13))
def test_regularity_is_between_0_and_1(tonnes):
    weeks = week_starts(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    value, _facts = regularity_of(History(planned_t=D(1), weekly=dict(zip(weeks, tonnes, strict=True))), weeks)
    assert value is not None and 0 <= value <= 1
