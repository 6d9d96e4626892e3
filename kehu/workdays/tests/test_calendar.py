"""Working-day arithmetic and the SLA rule, on the statutory schedule itself (no database)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kehu.workdays import statutory
from kehu.workdays.calendar import (
    COUNT_FROM_RECEIPT_DAY,
    DUE_AT_TIME_OF_RECEIPT,
    OutOfRange,
    SlaRule,
    WorkCalendar,
)

SH = ZoneInfo("Asia/Shanghai")
# The policy's counts for the examples of the issue: a general complaint within 1 working day, a major
# one within 3.
GENERAL, MAJOR = 1, 3


def statutory_calendar(**extra) -> WorkCalendar:
    days = statutory.statutory_days()
    return WorkCalendar(holidays=[d.date for d in days if d.kind == statutory.HOLIDAY],
                        makeup_days=[d.date for d in days if d.kind == statutory.MAKEUP_WORKDAY],
                        loaded_years=statutory.statutory_years(), **extra)


CAL = statutory_calendar()
KNOWN = statutory.statutory_years()


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def end_of(day: dt.date) -> dt.datetime:
    """24:00 Asia/Shanghai of ``day``, in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=SH).astimezone(dt.UTC)


# ---------------------------------------------------------------- a naive reference implementation

def naive_is_working(cal: WorkCalendar, day: dt.date) -> bool:
    if day in cal.holidays or day in cal.closures:
        return False
    return day in cal.makeup_days or day.weekday() not in cal.weekend


def naive_add(cal: WorkCalendar, day: dt.date, n: int) -> dt.date:
    """Walk day by day."""
    if n == 0:
        while not naive_is_working(cal, day):
            day += dt.timedelta(days=1)
        return day
    step = dt.timedelta(days=1 if n > 0 else -1)
    left = abs(n)
    while left:
        day += step
        if naive_is_working(cal, day):
            left -= 1
    return day


def naive_between(cal: WorkCalendar, start: dt.date, end: dt.date) -> int:
    sign, (a, b) = (1, (start, end)) if start <= end else (-1, (end, start))
    return sign * sum(naive_is_working(cal, a + dt.timedelta(days=i)) for i in range(1, (b - a).days + 1))


# ---------------------------------------------------------------- the examples

def test_general_complaint_received_before_national_day_2025_is_due_end_of_october_9():
    """Received Tue 2025-09-30 10:00; 1–8 October is the National Day / Mid-autumn break: due 10-09 24:00."""
    due = CAL.sla_due(sh(2025, 9, 30, 10, 0), GENERAL)
    assert due == sh(2025, 10, 10, 0, 0)
    assert due.tzinfo == dt.UTC and due == dt.datetime(2025, 10, 9, 16, 0, tzinfo=dt.UTC)


def test_major_complaint_received_before_national_day_2025_is_due_on_the_saturday_makeup_day():
    """3 working days from 2025-09-30: 10-09, 10-10 and Saturday 10-11 (a make-up working day)."""
    due = CAL.sla_due(sh(2025, 9, 30, 10, 0), MAJOR)
    assert due == end_of(dt.date(2025, 10, 11))
    assert dt.date(2025, 10, 11).weekday() == 5 and CAL.is_working_day(dt.date(2025, 10, 11))


# ---------------------------------------------------------------- Spring Festival and National Day, several years

@pytest.mark.parametrize(("received", "days", "due_day"), [
    # 2024 Spring Festival: 2-10 … 2-17 off, Sun 2-04 and Sun 2-18 worked.
    (sh(2024, 2, 8, 9, 0), 1, dt.date(2024, 2, 9)),  # Thu 2-08 → Fri 2-09 (the eve: a working day)
    (sh(2024, 2, 9, 9, 0), 1, dt.date(2024, 2, 18)),  # Fri 2-09 → Sunday 2-18, a make-up day
    (sh(2024, 2, 9, 9, 0), 2, dt.date(2024, 2, 19)),
    # 2025 Spring Festival: 1-28 … 2-04 off, Sun 1-26 and Sat 2-08 worked.
    (sh(2025, 1, 24, 17, 0), 1, dt.date(2025, 1, 26)),  # Fri → Sunday make-up day
    (sh(2025, 1, 26, 17, 0), 1, dt.date(2025, 1, 27)),
    (sh(2025, 1, 27, 17, 0), 1, dt.date(2025, 2, 5)),
    (sh(2025, 1, 27, 17, 0), 4, dt.date(2025, 2, 8)),  # 2-05, 2-06, 2-07, Sat 2-08
    # 2026 Spring Festival: 2-15 … 2-23 off, Sat 2-14 and Sat 2-28 worked.
    (sh(2026, 2, 13, 12, 0), 1, dt.date(2026, 2, 14)),
    (sh(2026, 2, 13, 12, 0), 2, dt.date(2026, 2, 24)),
    # 2024 National Day: 10-01 … 10-07 off, Sun 9-29 and Sat 10-12 worked.
    (sh(2024, 9, 30, 10, 0), 1, dt.date(2024, 10, 8)),
    (sh(2024, 9, 30, 10, 0), 5, dt.date(2024, 10, 12)),
    # 2026 National Day: 10-01 … 10-07 off, Sun 9-20 and Sat 10-10 worked.
    (sh(2026, 9, 30, 10, 0), 1, dt.date(2026, 10, 8)),
    (sh(2026, 9, 30, 10, 0), 3, dt.date(2026, 10, 10)),
])
def test_due_at_end_of_nth_working_day_across_spring_festival_and_national_day(received, days, due_day):
    """Within N working days: by 24:00 of the N-th working day after the day of receipt."""
    assert CAL.sla_due(received, days) == end_of(due_day)


def test_complaint_received_on_a_holiday_counts_from_the_next_working_day():
    """Received on 2025-10-03 (National Day): counts as received 10-09 00:00, so 1 working day → 10-10 24:00."""
    assert CAL.sla_due(sh(2025, 10, 3, 15, 0), 1) == end_of(dt.date(2025, 10, 10))


def test_complaint_received_on_a_weekend_counts_from_monday():
    """Received Saturday 2025-03-15: counts as received Monday 03-17 00:00; 1 working day → Tuesday 24:00."""
    assert CAL.sla_due(sh(2025, 3, 15, 11, 0), 1) == end_of(dt.date(2025, 3, 18))


def test_complaint_received_on_a_makeup_saturday_counts_that_saturday_as_the_day_of_receipt():
    """Saturday 2025-10-11 is worked: 1 working day after it is Monday 10-13."""
    assert CAL.sla_due(sh(2025, 10, 11, 9, 0), 1) == end_of(dt.date(2025, 10, 13))


def test_receipt_late_in_the_evening_utc_is_the_next_shanghai_day():
    """2025-09-30 17:30 UTC is 10-01 01:30 in Shanghai, a holiday: counted from 10-09."""
    received = dt.datetime(2025, 9, 30, 17, 30, tzinfo=dt.UTC)
    assert CAL.sla_due(received, 1) == end_of(dt.date(2025, 10, 10))


def test_zero_working_days_means_by_the_end_of_the_counted_day_of_receipt():
    assert CAL.sla_due(sh(2025, 9, 30, 10), 0) == end_of(dt.date(2025, 9, 30))
    assert CAL.sla_due(sh(2025, 10, 2, 10), 0) == end_of(dt.date(2025, 10, 9))


def test_receipt_day_rule_counts_from_the_holiday_itself():
    """count_from=receipt_day: received on 10-03, the 1st working day after it is 10-09."""
    rule = SlaRule(count_from=COUNT_FROM_RECEIPT_DAY)
    assert CAL.sla_due(sh(2025, 10, 3, 15, 0), 1, rule) == end_of(dt.date(2025, 10, 9))


def test_time_of_receipt_rule_keeps_the_clock_time():
    rule = SlaRule(due_at=DUE_AT_TIME_OF_RECEIPT)
    assert CAL.sla_due(sh(2025, 9, 30, 10, 0), 1, rule) == sh(2025, 10, 9, 10, 0)
    # received on a holiday: counted from 00:00 of the next working day
    assert CAL.sla_due(sh(2025, 10, 3, 15, 0), 1, rule) == sh(2025, 10, 10, 0, 0)


def test_sla_rule_refuses_unknown_values():
    with pytest.raises(ValueError):
        SlaRule(count_from="whenever")
    with pytest.raises(ValueError):
        SlaRule(due_at="noon")
    with pytest.raises(ValueError):
        SlaRule.from_mapping({"grace": 1})


def test_sla_due_requires_an_aware_datetime_and_a_non_negative_count():
    with pytest.raises(ValueError):
        CAL.sla_due(dt.datetime(2025, 9, 30, 10), 1)
    with pytest.raises(ValueError):
        CAL.sla_due(sh(2025, 9, 30, 10), -1)


# ---------------------------------------------------------------- the basic functions

def test_statutory_holidays_and_makeup_days_decide_working_days():
    assert not CAL.is_working_day(dt.date(2025, 10, 1))  # Wednesday, National Day
    assert CAL.is_working_day(dt.date(2025, 9, 28))  # Sunday, make-up day
    assert CAL.is_working_day(dt.date(2025, 9, 30))
    assert not CAL.is_working_day(dt.date(2025, 9, 27))  # plain Saturday


def test_next_working_day_and_on_or_after():
    assert CAL.next_working_day(dt.date(2025, 9, 30)) == dt.date(2025, 10, 9)
    assert CAL.working_day_on_or_after(dt.date(2025, 10, 1)) == dt.date(2025, 10, 9)
    assert CAL.working_day_on_or_after(dt.date(2025, 9, 30)) == dt.date(2025, 9, 30)


def test_negative_counts_go_backwards():
    assert CAL.add_working_days(dt.date(2025, 10, 9), -1) == dt.date(2025, 9, 30)
    assert CAL.add_working_days(dt.date(2025, 10, 9), -3) == dt.date(2025, 9, 28)  # Sunday make-up day


def test_working_days_between_instants_counts_days_ended_in_shanghai():
    """Same day: 0; 09-30 10:00 → 10-09 09:00: one working day (10-09) begun, counted."""
    assert CAL.working_days_between(sh(2025, 9, 30, 9), sh(2025, 9, 30, 18)) == 0
    assert CAL.working_days_between(sh(2025, 9, 30, 10), sh(2025, 10, 9, 9)) == 1
    assert CAL.working_days_between(sh(2025, 10, 9, 9), sh(2025, 9, 30, 10)) == -1
    with pytest.raises(ValueError):
        CAL.working_days_between(dt.datetime(2025, 9, 30), sh(2025, 10, 9))


def test_company_closure_is_not_a_working_day_even_on_a_makeup_day():
    cal = statutory_calendar(closures=[dt.date(2025, 10, 9), dt.date(2025, 10, 11)])
    assert cal.add_working_days(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 10)
    assert cal.add_working_days(dt.date(2025, 9, 30), 2) == dt.date(2025, 10, 13)


def test_years_without_a_statutory_schedule_fall_back_to_the_weekend_rule_and_say_so():
    last = KNOWN[-1]
    new_year = dt.date(last + 1, 1, 1)
    assert CAL.is_working_day(new_year) == (new_year.weekday() < 5)  # 元旦 unknown: only the weekend rule
    assert not CAL.is_loaded(last + 1) and CAL.is_loaded(last)
    result = CAL.add_working_days(dt.date(last, 12, 30), 5)
    assert CAL.years_not_loaded(dt.date(last, 12, 30), result) == [last + 1]
    assert CAL.years_not_loaded(dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == []


def test_results_beyond_year_9999_are_out_of_range():
    with pytest.raises(OutOfRange):
        CAL.add_working_days(dt.date(9999, 12, 30), 10)
    with pytest.raises(OutOfRange):
        CAL.add_working_days(dt.date(1, 1, 2), -10)
    with pytest.raises(OutOfRange):
        CAL.sla_due(dt.datetime(9999, 12, 31, 10, tzinfo=dt.UTC), 0)


def test_weekend_rule_must_leave_a_working_day():
    with pytest.raises(ValueError):
        WorkCalendar(weekend=range(7))
    with pytest.raises(ValueError):
        WorkCalendar(weekend=[7])


def test_an_empty_calendar_follows_the_weekend_rule():
    cal = WorkCalendar()
    assert cal.add_working_days(dt.date(2025, 10, 1), 3) == dt.date(2025, 10, 6)
    assert cal.working_days_between_dates(dt.date(2025, 10, 1), dt.date(2025, 10, 8)) == 5


# ---------------------------------------------------------------- properties

# Around the loaded window, inside it, and far outside it on both sides.
dates = st.one_of(
    st.dates(min_value=dt.date(KNOWN[0] - 2, 1, 1), max_value=dt.date(KNOWN[-1] + 2, 12, 31)),
    st.dates(min_value=dt.date(3, 1, 1), max_value=dt.date(9998, 1, 1)),  # ±400 working days stays in 1–9999
)
counts = st.integers(min_value=-400, max_value=400)
six_day_week = WorkCalendar(weekend={6}, holidays=[dt.date(2025, 1, 1)], makeup_days=[dt.date(2025, 1, 5)],
                            closures=[dt.date(2025, 6, 2)], loaded_years=[2025])
calendars = st.sampled_from([CAL, statutory_calendar(closures=[dt.date(2025, 10, 9), dt.date(2026, 1, 5)]),
                             WorkCalendar(), six_day_week])


@settings(max_examples=300, deadline=None)
@given(cal=calendars, day=dates, n=counts)
def test_result_is_always_a_working_day(cal, day, n):
    result = cal.add_working_days(day, n)
    assert cal.is_working_day(result)
    assert naive_is_working(cal, result)


@settings(max_examples=300, deadline=None)
@given(cal=calendars, day=dates, n=counts)
def test_add_working_days_is_monotonic_in_n(cal, day, n):
    """Strictly increasing in n, except that on a non-working day 0 and 1 both give the next working day."""
    a, b = cal.add_working_days(day, n), cal.add_working_days(day, n + 1)
    if n == 0 and not cal.is_working_day(day):
        assert a == b
    else:
        assert a < b


@settings(max_examples=300, deadline=None)
@given(cal=calendars, day=dates, n=st.integers(min_value=0, max_value=400))
def test_add_then_between_round_trips(cal, day, n):
    """n working days lie after ``day`` up to the n-th working day after it."""
    assume(n > 0 or cal.is_working_day(day))
    result = cal.add_working_days(day, n)
    assert cal.working_days_between_dates(day, result) == n
    assert cal.working_days_between_dates(result, day) == -n


@settings(max_examples=200, deadline=None)
@given(cal=calendars, day=dates, n=st.integers(min_value=-60, max_value=60))
def test_add_working_days_agrees_with_day_by_day_reference(cal, day, n):
    assert cal.add_working_days(day, n) == naive_add(cal, day, n)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, start=dates, span=st.integers(min_value=-90, max_value=90))
def test_working_days_between_agrees_with_day_by_day_reference(cal, start, span):
    end = start + dt.timedelta(days=span)
    assert cal.working_days_between_dates(start, end) == naive_between(cal, start, end)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, day=dates)
def test_is_working_day_agrees_with_reference(cal, day):
    assert cal.is_working_day(day) == naive_is_working(cal, day)


@settings(max_examples=300, deadline=None)
@given(cal=calendars,
       received=st.datetimes(min_value=dt.datetime(2003, 1, 1), max_value=dt.datetime(2029, 12, 31),
                             timezones=st.just(dt.UTC)),
       n=st.integers(min_value=0, max_value=30))
def test_sla_due_is_midnight_after_a_working_day_and_never_before_receipt(cal, received, n):
    due = cal.sla_due(received, n)
    local = due.astimezone(SH)
    assert local.time() == dt.time(0)
    last_day = local.date() - dt.timedelta(days=1)
    assert cal.is_working_day(last_day)
    assert due > received
    counted = cal.working_day_on_or_after(received.astimezone(SH).date())
    assert cal.working_days_between_dates(counted, last_day) == n
    assert cal.sla_due(received, n + 1) > due
