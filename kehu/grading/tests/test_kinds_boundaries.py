"""Every boundary of every grading kind, on the policies' figures (issue 11: "each a small pure module tested
exhaustively"), beside test_kinds.py's worked examples: the telecom star rule's three bounds ("above" is
strict) and its six-month window; 依次升降 in both directions from every grade; all eight RFM segments
reachable and named; each scorecard value dimension hand-computed, clamped at its zero and full; the key-account
bands (一级 ≥ 75 > 二级 ≥ 50 > 三级) and its loyalty and lifetime-value inputs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kehu.grading.kinds import consecutive, key_account, rfm, scorecard, threshold
from kehu.grading.kinds.base import months_back
from kehu.grading.tests.test_kinds import AS_OF, grade_one, month_rows, polyolefin

# --- consecutive periods: spend > 300 / 500 / 800 a month for 6 months → 3 / 4 / 5 stars -------------------


@pytest.mark.parametrize(("lowest", "expected"), [
    ("0", "普通"), ("300", "普通"), ("300.01", "三星"), ("500", "三星"), ("500.01", "四星"), ("800", "四星"),
    ("800.01", "五星"), ("100000", "五星"),
])
def test_telecom_star_bounds_are_strictly_above(lowest, expected):
    """The lowest of the six months decides: 'more than 300' means 300 itself is not enough."""
    values = ["900", "900", lowest, "900", "900", "900"]
    graded = grade_one(consecutive, consecutive.validate(consecutive.DEFAULT_CONFIG), month_rows(1, values, "amount"))
    assert graded.grade == expected


def test_only_the_last_six_months_count():
    """A poor month seven months back is outside the run; the same month inside it breaks the five stars."""
    config = consecutive.validate(consecutive.DEFAULT_CONFIG)
    assert grade_one(consecutive, config, month_rows(1, [100] + [820] * 6, "amount")).grade == "五星"
    assert grade_one(consecutive, config, month_rows(1, [820] * 6 + [100], "amount")).grade == "普通"


def test_the_run_length_is_configurable():
    config = consecutive.validate({**consecutive.DEFAULT_CONFIG, "months": 3})
    assert grade_one(consecutive, config, month_rows(1, [100, 100, 100, 820, 820, 820], "amount")).grade == "五星"


# --- threshold tiers with 依次升降 (one level per review), from every grade ------------------------------------

LEVELS = ["网拍", "普通", "一星", "二星", "三星"]


@pytest.mark.parametrize("previous", ["普通", "一星", "二星", "三星"])
@pytest.mark.parametrize("tonnes", ["0", "1500", "2500", "3500"])
def test_sequential_adjustment_moves_at_most_one_level_towards_the_computed_grade(previous, tonnes):
    free = grade_one(threshold, polyolefin(one_level_per_review=False), month_rows(1, [tonnes])).grade
    stepped = grade_one(threshold, polyolefin(one_level_per_review=True), month_rows(1, [tonnes]), previous=previous)
    p, f, s = LEVELS.index(previous), LEVELS.index(free), LEVELS.index(stepped.grade)
    assert s == p + (f > p) - (f < p)  # one step towards the computed grade, or stay when it is the same
    assert stepped.explanation["computed_grade"] == free
    assert stepped.explanation["limited_to_one_level"] is (abs(f - p) > 1)


# --- RFM: all eight named segments --------------------------------------------------------------------------

def _pair(better: str) -> list[dict]:
    """Two customers; customer 1 is better than customer 2 in the dimensions named by ``better`` (R, F, M)."""
    recent, old = dt.date(2026, 6, 25), dt.date(2025, 9, 1)
    one = {"R": recent if "R" in better else old, "F": 9 if "F" in better else 1,
           "M": Decimal(9000) if "M" in better else Decimal(100)}
    two = {"R": old if "R" in better else recent, "F": 1 if "F" in better else 9,
           "M": Decimal(100) if "M" in better else Decimal(9000)}
    return [{"customer_id": cid, "month": v["R"].replace(day=1), "last_order_date": v["R"], "order_count": v["F"],
             "amount": v["M"]} for cid, v in ((1, one), (2, two))]


@pytest.mark.parametrize("key", rfm.SEGMENT_KEYS)
def test_every_rfm_segment_is_reached_and_named(key):
    """Of two customers the better in a dimension scores 1 + ⌊5 × 1/2⌋ = 3 (high from 3), the other 1."""
    config = rfm.validate(rfm.DEFAULT_CONFIG)
    better = "".join(d for d, hl in zip("RFM", key, strict=True) if hl == "H")
    result = rfm.grade(config, rows=_pair(better), customers={1: {}, 2: {}}, previous={}, as_of=AS_OF)
    complement = "".join("L" if c == "H" else "H" for c in key)
    assert (result[1].grade, result[2].grade) == (config["segments"][key], config["segments"][complement])
    assert {v for v in result[1].explanation["scores"].values()} <= {1, 3}


def test_rfm_high_from_is_configurable():
    config = rfm.validate({**rfm.DEFAULT_CONFIG, "high_from": 4})  # 3 is no longer high
    result = rfm.grade(config, rows=_pair("RFM"), customers={1: {}, 2: {}}, previous={}, as_of=AS_OF)
    assert result[1].grade == config["segments"]["LLL"]


# --- scorecard: each value dimension hand-computed ----------------------------------------------------------

def _one_dimension(source: str, **bounds) -> dict:
    return scorecard.validate({**scorecard.DEFAULT_CONFIG, "dimensions": [
        {"key": "d", "source": source, "weight": 1, **bounds}]})


def _year(first_half: Decimal, second_half: Decimal, margin: str = "0.15", on_time: str = "1") -> list[dict]:
    rows = []
    for i, m in enumerate(months_back(AS_OF, 12)):
        amount = (first_half if i < 6 else second_half) / 6
        rows.append({"customer_id": 1, "month": m, "amount": amount, "gross_margin": amount * Decimal(margin),
                     "due_amount": amount, "paid_on_time_amount": amount * Decimal(on_time), "order_count": 1})
    return rows


@pytest.mark.parametrize(("source", "bounds", "rows", "score"), [
    # volume: 500,000 of 0 … 1,000,000 → 50
    ("amount", {"zero": 0, "full": 1000000}, _year(Decimal(200000), Decimal(300000)), "50"),
    # margin rate 15 % of 0 … 30 % → 50
    ("margin_rate", {"zero": 0, "full": 0.3}, _year(Decimal(200000), Decimal(300000)), "50"),
    # growth: second half 300,000 vs first 200,000 = +50 % on -20 % … +50 % → 100; flat (0 %) → 2/7 → 28.57
    ("growth", {"zero": -0.2, "full": 0.5}, _year(Decimal(200000), Decimal(300000)), "100"),
    ("growth", {"zero": -0.2, "full": 0.5}, _year(Decimal(250000), Decimal(250000)), "28.57"),
    # payment timeliness 75 % on 50 % … 100 % → 50; 40 % is below zero → 0
    ("on_time_rate", {"zero": 0.5, "full": 1}, _year(Decimal(1), Decimal(1), on_time="0.75"), "50"),
    ("on_time_rate", {"zero": 0.5, "full": 1}, _year(Decimal(1), Decimal(1), on_time="0.4"), "0"),
    # above full is clamped to 100
    ("amount", {"zero": 0, "full": 1000}, _year(Decimal(200000), Decimal(300000)), "100"),
])
def test_scorecard_value_dimensions_are_scaled_between_zero_and_full(source, bounds, rows, score):
    graded = grade_one(scorecard, _one_dimension(source, **bounds), rows)
    assert graded.explanation["dimensions"]["d"]["score"] == score


def test_scorecard_hand_scores_are_clamped_to_0_100():
    config = _one_dimension("manual")
    assert grade_one(scorecard, config, [], facts={"scores": {"d": 130}}).explanation["score"] == "100"
    assert grade_one(scorecard, config, [], facts={"scores": {"d": -5}}).explanation["score"] == "0"


# --- key-account levels (大客户 一级 / 二级 / 三级) -------------------------------------------------------------

def _potential_only(score) -> dict:
    return {"scores": {"potential_value": score}, "lifetime_amount": 0}


def test_key_account_potential_alone_is_a_quarter_of_the_score():
    graded = grade_one(key_account, key_account.validate(key_account.DEFAULT_CONFIG), [], facts=_potential_only(100))
    assert graded.explanation["score"] == "25" and graded.grade == "三级"


@pytest.mark.parametrize(("monthly", "potential", "expected"), [
    # 12 active months → loyalty 100 (× 0.2 = 20); amount 12 × m of 5,000,000 (× 0.35); lifetime = amount
    # (× 0.2 of 20,000,000); potential × 0.25.
    # 12 × 250,000 = 3,000,000: 0.35 × 60 + 0.2 × 15 + 20 + 0.25 × p = 44 + 0.25 p
    ("250000", 24, "二级"),  # 50.00: the lower bound of 二级 is inclusive
    ("250000", "23.96", "三级"),  # 49.99
    ("250000", 100, "二级"),  # 69
    # 12 × 500,000 = 6,000,000: 35 + 0.2 × 30 + 20 + 0.25 p = 61 + 0.25 p
    ("500000", 56, "一级"),  # 75.00
    ("500000", "55.96", "二级"),  # 74.99
])
def test_key_account_bands_on_hand_computed_scores(monthly, potential, expected):
    config = key_account.validate(key_account.DEFAULT_CONFIG)
    rows = [{"customer_id": 1, "month": m, "amount": Decimal(monthly), "order_count": 1}
            for m in months_back(AS_OF, 12)]
    graded = grade_one(key_account, config, rows, facts={"scores": {"potential_value": potential}})
    assert graded.grade == expected


def test_key_account_loyalty_is_the_share_of_active_months_and_lifetime_comes_from_the_facts():
    config = key_account.validate(key_account.DEFAULT_CONFIG)
    rows = [{"customer_id": 1, "month": m, "amount": Decimal(1), "order_count": 1}
            for m in months_back(AS_OF, 12)[:3]]
    graded = grade_one(key_account, config, rows, facts={"scores": {}, "lifetime_amount": 10000000})
    dims = graded.explanation["dimensions"]
    assert dims["loyalty"]["score"] == "25"  # 3 of 12 months
    assert dims["lifetime_value"]["score"] == "50"  # 10,000,000 of 20,000,000
    assert dims["potential_value"]["missing"] is True
