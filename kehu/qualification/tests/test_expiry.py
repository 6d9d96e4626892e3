"""Expiry arithmetic (ORM-free): a paper valid to day D is good through D and expired from midnight Asia/Shanghai
at the start of D + 1, whatever the clock zone of the moment compared."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from kehu.qualification import expiry

UTC = dt.UTC
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 30))


def test_midnight_shanghai_boundary_of_a_licence_valid_to_november_30():
    """Valid through 30 Nov (Shanghai); at 00:00 on 1 Dec Shanghai — 16:00 UTC on 30 Nov — it has expired."""
    valid_to = dt.date(2026, 11, 30)
    assert expiry.expires_at(valid_to) == dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert not expiry.expired_at_moment(valid_to, dt.datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC))
    assert expiry.expired_at_moment(valid_to, dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    assert expiry.local_today(dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == dt.date(2026, 12, 1)
    assert not expiry.is_expired(valid_to, today=dt.date(2026, 11, 30))
    assert expiry.is_expired(valid_to, today=dt.date(2026, 12, 1))


@given(valid_to=days, minutes=st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60),
       zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati"]))
def test_expired_exactly_from_the_moment_and_the_day_agree(valid_to, minutes, zone):
    moment = (expiry.expires_at(valid_to) + dt.timedelta(minutes=minutes)).astimezone(ZoneInfo(zone))
    assert expiry.expired_at_moment(valid_to, moment) == (minutes >= 0)
    assert expiry.is_expired(valid_to, today=expiry.local_today(moment)) == (minutes >= 0)


@given(valid_to=days, today=days)
def test_days_left_and_expiring_window(valid_to, today):
    left = expiry.days_left(valid_to, today=today)
    assert (left < 0) == expiry.is_expired(valid_to, today=today)
    first, last = expiry.expiring_window(today, 30)
    assert (first <= valid_to <= last) == (0 <= left <= 30)


def test_no_end_date_never_expires():
    assert not expiry.is_expired(None, today=dt.date(2099, 1, 1))
    assert expiry.days_left(None, today=dt.date(2026, 1, 1)) is None
