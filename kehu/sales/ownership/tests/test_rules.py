"""The pure validity and escalation rules (ORM-free), checked exhaustively."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kehu.sales.ownership import rules

SH = "Asia/Shanghai"
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))


def test_one_month_registration_lapses_on_the_same_day_next_month():
    assert rules.lapse_day(dt.date(2026, 3, 15), 1) == dt.date(2026, 4, 15)
    assert rules.lapse_day(dt.date(2026, 3, 15), 2) == dt.date(2026, 5, 15)


def test_month_end_registration_lapses_on_the_last_day_of_a_shorter_month():
    assert rules.lapse_day(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert rules.lapse_day(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    assert rules.lapse_day(dt.date(2026, 12, 31), 2) == dt.date(2027, 2, 28)


def test_lapse_moment_is_shanghai_midnight():
    until = rules.valid_until(dt.datetime(2026, 3, 15, 1, 0, tzinfo=dt.UTC), 1, SH)
    assert until == dt.datetime(2026, 4, 14, 16, 0, tzinfo=dt.UTC)
    # 23:30 UTC on the 14th is already the 15th in Shanghai: the validity counts from the 15th.
    assert rules.valid_until(dt.datetime(2026, 3, 14, 23, 30, tzinfo=dt.UTC), 1, SH) == until


@given(days, st.integers(min_value=1, max_value=24))
def test_validity_covers_whole_days_and_grows_with_months(day, months):
    lapse = rules.lapse_day(day, months)
    assert lapse > day
    assert 28 * months - 3 <= (lapse - day).days <= 31 * months + 1
    assert rules.lapse_day(day, months + 1) > lapse


@given(days, st.integers(min_value=0, max_value=48))
def test_add_months_keeps_the_day_or_clamps_to_month_end(day, months):
    moved = rules.add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + dt.timedelta(days=1)).day == 1)


@given(st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2080, 1, 1),
                    timezones=st.just(dt.UTC)), st.integers(min_value=0, max_value=200))
def test_a_follow_up_never_shortens_a_registration(registered, hours_later):
    current = rules.valid_until(registered, 1, SH)
    renewed = rules.renewed_until(current, registered + dt.timedelta(hours=hours_later), 1, SH)
    assert renewed >= current


def test_dispute_escalates_manager_project_manager_director_then_stops():
    assert rules.next_level(1) == 2 and rules.next_level(2) == 3 and rules.next_level(3) is None
    with pytest.raises(ValueError):
        rules.next_level(4)


@given(st.integers(min_value=0, max_value=100))
def test_dispute_split_sums_to_one_hundred(share):
    assert sum(rules.split_of(share)) == 100
