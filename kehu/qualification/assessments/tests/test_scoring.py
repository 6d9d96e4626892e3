"""The assessment maths, ORM-free and exhaustive: periods tile the year, scores stay within 0–100, an item that
does not apply never lowers the total, and the result bands follow the total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kehu.qualification.assessments import scoring

score = st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2))


@pytest.mark.parametrize("kind", ["quarter", "half", "year"])
@given(year=st.integers(2000, 2100))
def test_periods_tile_the_year_without_gap_or_overlap(kind, year):
    days = dt.date(year, 1, 1)
    for number in range(1, scoring.KINDS[kind] + 1):
        start, end = scoring.period_bounds(kind, year, number)
        assert start == days
        assert scoring.period_of(kind, start) == scoring.period_of(kind, end) == (year, number)
        days = end + dt.timedelta(days=1)
    assert days == dt.date(year + 1, 1, 1)


@given(day=st.dates(dt.date(2001, 1, 1), dt.date(2099, 12, 31)), kind=st.sampled_from(["quarter", "half", "year"]))
def test_previous_period_ends_the_day_before_the_current_one_starts(day, kind):
    year, number = scoring.period_of(kind, day)
    start = scoring.period_bounds(kind, year, number)[0]
    assert scoring.period_bounds(kind, *scoring.previous_period(kind, day))[1] == start - dt.timedelta(days=1)


@given(done=st.decimals(0, 10**6, places=3), planned=st.decimals(0, 10**6, places=3))
def test_plan_completion_is_capped_at_100_and_absent_without_a_plan(done, planned):
    s = scoring.plan_score(done, planned)
    if planned == 0:
        assert s is None
    else:
        assert Decimal(0) <= s <= Decimal(100)


@given(a=score, p=score, r=score, c=score, k=score, ctype=st.sampled_from(sorted(scoring.DEFAULT_WEIGHTS)))
def test_total_is_a_weighted_mean_of_the_items_that_apply(a, p, r, c, k, ctype):
    scores = {"admission": a, "plan": p, "regularity": r, "cooperation": c, "credit": k}
    total = scoring.total(scores, scoring.DEFAULT_WEIGHTS[ctype])
    present = [v for v in scores.values() if v is not None]
    if not present:
        assert total is None and scoring.result_of(total) == "unrated"
        return
    assert min(present) - Decimal("0.01") <= total <= max(present) + Decimal("0.01")
    assert scoring.result_of(total) in {"excellent", "good", "qualified", "unqualified"}


def test_weights_of_each_customer_type_add_up_to_one():
    for weights in scoring.DEFAULT_WEIGHTS.values():
        assert sum(weights.values()) == Decimal(1)


@pytest.mark.parametrize(("total", "result"), [(Decimal(90), "excellent"), (Decimal("89.99"), "good"),
                                               (Decimal(75), "good"), (Decimal(60), "qualified"),
                                               (Decimal("59.99"), "unqualified"), (Decimal(0), "unqualified")])
def test_result_bands(total, result):
    assert scoring.result_of(total) == result


def test_admission_recheck():
    assert scoring.admission_score("active", True) == 100
    assert scoring.admission_score("active", False) == 50
    assert scoring.admission_score("active", False, is_organization=False) == 100
    assert scoring.admission_score("suspended", True) == 0
