"""The grading kinds on the policies' own examples (004 第13篇 第九条, the telecom star rule, Pareto, RFM,
the 000 2.1 scorecard, 002 key-account levels), plus hypothesis: deterministic and row-order independent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kehu.grading.kinds import KINDS, ConfigError, abc, consecutive, key_account, rfm, scorecard, threshold
from kehu.grading.kinds.base import METRICS, jsonb_text, months_back, text, window_of

AS_OF = dt.date(2026, 6, 30)
OLD = {"first_order_month": dt.date(2024, 1, 1)}


def month_rows(cid: int, values: list, metric: str = "quantity_t", as_of: dt.date = AS_OF) -> list[dict]:
    months = months_back(as_of, len(values))
    return [{"customer_id": cid, "month": m, metric: Decimal(str(v)), "order_count": 1}
            for m, v in zip(months, values, strict=True)]


def polyolefin(**overrides) -> dict:
    config = dict(threshold.DEFAULT_CONFIG, months=1, aggregate="last", **overrides)
    return threshold.validate(config)


def grade_one(kind, config, rows, previous=None, facts=None, as_of=AS_OF):
    result = kind.grade(config, rows=rows, customers={1: facts if facts is not None else OLD},
                        previous={1: previous} if previous else {}, as_of=as_of)
    return result[1]


# --- threshold tiers (聚烯烴 单月提货量) ---------------------------------------------------------------

@pytest.mark.parametrize(("tonnes", "expected"), [
    ("0", "普通"), ("999.999", "普通"), ("1000", "一星"), ("1999.999", "一星"), ("2000", "二星"),
    ("2999.999", "二星"), ("3000", "三星"), ("50000", "三星"),
])
def test_polyolefin_monthly_pickup_tier_boundaries(tonnes, expected):
    """普通 < 1000 t ≤ 一星 < 2000 ≤ 二星 < 3000 ≤ 三星 (lower bound inclusive)."""
    graded = grade_one(threshold, polyolefin(one_level_per_review=False), month_rows(1, [tonnes]))
    assert graded.grade == expected
    assert graded.explanation["value"] == str(Decimal(tonnes).normalize().__format__("f"))


def test_ordinary_customer_at_3500_moves_one_level_when_sequential_adjustment_is_on():
    """依次升降: a 普通 customer picking up 3500 t becomes 一星, not 三星."""
    graded = grade_one(threshold, polyolefin(one_level_per_review=True), month_rows(1, [3500]), previous="普通")
    assert graded.grade == "一星"
    assert graded.explanation["computed_grade"] == "三星"
    assert graded.explanation["limited_to_one_level"] is True
    assert graded.explanation["previous_grade"] == "普通"


def test_ordinary_customer_at_3500_jumps_to_three_stars_without_sequential_adjustment():
    graded = grade_one(threshold, polyolefin(one_level_per_review=False), month_rows(1, [3500]), previous="普通")
    assert graded.grade == "三星"
    assert graded.explanation["limited_to_one_level"] is False


def test_sequential_adjustment_also_limits_a_fall_to_one_level():
    graded = grade_one(threshold, polyolefin(), month_rows(1, [10]), previous="三星")
    assert graded.grade == "二星"


def test_newly_developed_customer_is_online_auction_grade():
    """网拍客户 = newly developed: first order within the last new_customer_months months."""
    facts = {"first_order_month": dt.date(2026, 5, 1)}
    graded = grade_one(threshold, polyolefin(), month_rows(1, [2500]), facts=facts)
    assert graded.grade == "网拍"
    assert graded.explanation["rule"] == "new_customer"
    assert grade_one(threshold, polyolefin(), [], facts={"first_order_month": None}).grade == "网拍"


def test_online_auction_customer_rises_one_level_per_review_once_no_longer_new():
    graded = grade_one(threshold, polyolefin(), month_rows(1, [2500]), previous="网拍")
    assert graded.grade == "普通"


def test_threshold_average_over_the_review_quarter():
    config = threshold.validate(dict(threshold.DEFAULT_CONFIG, one_level_per_review=False))
    graded = grade_one(threshold, config, month_rows(1, [900, 1000, 1100]))
    assert graded.grade == "一星"
    assert graded.explanation["months"] == {"2026-04": "900", "2026-05": "1000", "2026-06": "1100"}


def test_threshold_month_without_orders_counts_as_zero():
    config = threshold.validate(dict(threshold.DEFAULT_CONFIG, one_level_per_review=False, aggregate="min"))
    assert grade_one(threshold, config, month_rows(1, [3000, 3000])).grade == "普通"


def test_threshold_rows_outside_the_period_are_ignored():
    config = polyolefin(one_level_per_review=False)
    rows = month_rows(1, [5000, 10], as_of=AS_OF)
    assert grade_one(threshold, config, rows).grade == "普通"


@pytest.mark.parametrize(("config", "field"), [
    ({**threshold.DEFAULT_CONFIG, "metric": "bananas"}, "metric"),
    ({**threshold.DEFAULT_CONFIG, "months": 0}, "months"),
    ({**threshold.DEFAULT_CONFIG, "aggregate": "median"}, "aggregate"),
    ({**threshold.DEFAULT_CONFIG, "tiers": []}, "tiers"),
    ({**threshold.DEFAULT_CONFIG, "tiers": [{"grade": "A", "min": 5}, {"grade": "B", "min": 5}]}, "tiers.1.min"),
    ({**threshold.DEFAULT_CONFIG, "tiers": [{"grade": "A", "min": "x"}]}, "tiers.0.min"),
    ({**threshold.DEFAULT_CONFIG, "tiers": [{"grade": "", "min": 0}]}, "tiers.0.grade"),
    ({**threshold.DEFAULT_CONFIG, "new_grade": "普通"}, "tiers"),
    ({**threshold.DEFAULT_CONFIG, "one_level_per_review": "yes"}, "one_level_per_review"),
])
def test_threshold_config_errors_name_the_field(config, field):
    with pytest.raises(ConfigError) as exc:
        threshold.validate(config)
    assert field in exc.value.fields


def test_config_that_is_not_a_mapping_is_refused():
    for kind in KINDS.values():
        with pytest.raises(ConfigError):
            kind.validate(["tiers"])


_GRADES = st.sampled_from(["普通", "一星", "二星", "三星", "网拍", "A\"B", "旧等级", None])


@given(values=st.lists(st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False), min_size=1,
                       max_size=12),
       prev=_GRADES, first=st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), AS_OF)),
       sequential=st.booleans(), aggregate=st.sampled_from(threshold.AGGREGATES),
       new_grade=st.sampled_from(["网拍", None]), metric=st.sampled_from(["quantity_t", "amount"]))
@settings(max_examples=300, deadline=None)
def test_threshold_explanation_text_is_the_serialised_explanation(values, prev, first, sequential, aggregate,
                                                                   new_grade, metric):
    """A run stores explain_text; it must be exactly the compact JSON of the explanation the page shows."""
    import json

    config = threshold.validate({**threshold.DEFAULT_CONFIG, "months": len(values), "aggregate": aggregate,
                                 "one_level_per_review": sequential, "new_grade": new_grade, "metric": metric,
                                 "tiers": [{"grade": "普通", "min": 0}, {"grade": "A\"B", "min": "999.5"},
                                           {"grade": "二星", "min": 2000}, {"grade": "三星", "min": 3000}]})
    ctx = threshold.context(config, AS_OF)
    final, detail = threshold.decide(config, ctx, values, first, prev)
    expected = threshold.explain(config, ctx, values, detail, final, prev)
    text, computed = threshold.explain_text(config, ctx, values, detail, final, prev)
    assert text == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(text) == expected and computed == expected["computed_grade"]


# --- consecutive periods (连续 6 个月) -----------------------------------------------------------------

def telecom():
    return consecutive.validate(consecutive.DEFAULT_CONFIG)


def test_six_months_at_820_is_five_stars():
    assert grade_one(consecutive, telecom(), month_rows(1, [820] * 6, "amount")).grade == "五星"


def test_a_790_month_in_the_run_gives_four_stars():
    graded = grade_one(consecutive, telecom(), month_rows(1, [820, 820, 790, 820, 820, 820], "amount"))
    assert graded.grade == "四星"
    assert graded.explanation["lowest_month"] == "790"


def test_exactly_800_is_not_above_800():
    assert grade_one(consecutive, telecom(), month_rows(1, [800] * 6, "amount")).grade == "四星"


def test_a_month_without_spend_breaks_every_run():
    rows = month_rows(1, [900] * 6, "amount")[1:]
    assert grade_one(consecutive, telecom(), rows).grade == "普通"


def test_five_good_months_are_not_six():
    graded = grade_one(consecutive, telecom(), month_rows(1, [310] * 5 + [100], "amount"))
    assert graded.grade == "普通"


def test_consecutive_config_errors():
    with pytest.raises(ConfigError) as exc:
        consecutive.validate({**consecutive.DEFAULT_CONFIG, "tiers": [{"grade": "x", "above": 5},
                                                                       {"grade": "y", "above": 1}]})
    assert "tiers.1.above" in exc.value.fields
    with pytest.raises(ConfigError) as exc:
        consecutive.validate({**consecutive.DEFAULT_CONFIG, "default_grade": "三星"})
    assert "tiers" in exc.value.fields


# --- ABC / Pareto ---------------------------------------------------------------------------------------

PARETO = {1: 50, 2: 30, 3: 10, 4: 5, 5: 3, 6: 2}


def abc_rows(values: dict) -> list[dict]:
    return [{"customer_id": cid, "month": dt.date(2026, 6, 1), "amount": Decimal(v)} for cid, v in values.items()]


def test_abc_classes_on_a_known_pareto_set():
    """A until 80 % is reached (the crossing customer included), B to 95 %, C the rest."""
    config = abc.validate(abc.DEFAULT_CONFIG)
    result = abc.grade(config, rows=abc_rows(PARETO), customers={c: {} for c in PARETO}, previous={}, as_of=AS_OF)
    assert {c: g.grade for c, g in result.items()} == {1: "A", 2: "A", 3: "B", 4: "B", 5: "C", 6: "C"}
    assert result[3].explanation["cumulative_share_before"] == "0.8"
    assert result[1].explanation["rank"] == 1


@given(values=st.lists(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False), min_size=1, max_size=30),
       previous=st.lists(st.sampled_from(["A", "B", "C", "A\"B", "旧等级", None]), min_size=30, max_size=30),
       zero_total=st.booleans())
@settings(max_examples=200, deadline=None)
def test_abc_explanation_text_is_the_serialised_explanation(values, previous, zero_total):
    """A run stores ABC's explanation_text, written without the dict; it must be exactly the compact JSON of
    the explanation a preview (and the page) shows, and the lazy explanation the eager one's content."""
    import json

    if zero_total:
        values = [Decimal(0)] * len(values)
    data = dict(enumerate(values, start=1))
    prev = {c: p for c, p in zip(data, previous, strict=False) if p is not None}
    config = abc.validate({**abc.DEFAULT_CONFIG, "classes": [{"grade": "A", "share": "0.7"},
                                                            {"grade": "A\"B", "share": 0.9}, {"grade": "C", "share": 1}]})
    result = abc.grade(config, rows=abc_rows(data), customers={c: {} for c in data}, previous=prev, as_of=AS_OF)
    texts = {c: g.explanation_text() for c, g in result.items()}  # before any dict is built
    for cid, graded in result.items():
        assert texts[cid] == json.dumps(graded.explanation, ensure_ascii=False, separators=(",", ":"))
        assert graded.explanation["previous_grade"] == prev.get(cid)
        assert graded.computed_grade == graded.grade


@given(rows=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 300), st.decimals(min_value=0, max_value=10**7,
                                                                                   places=2, allow_nan=False)),
                     max_size=40),
       previous=st.lists(st.sampled_from(["重要价值", "一般挽留", "A\"B", None]), min_size=12, max_size=12),
       high=st.integers(1, 5))
@settings(max_examples=150, deadline=None)
def test_rfm_explanation_text_is_the_serialised_explanation(rows, previous, high):
    """RFM's explanation_text (what a run stores) is exactly the compact JSON of its explanation."""
    import json

    data = [{"customer_id": cid, "month": months_back(AS_OF, 12)[day % 12], "amount": amount, "order_count": 1,
             "last_order_date": months_back(AS_OF, 12)[day % 12]} for cid, day, amount in rows]
    prev = {c: p for c, p in enumerate(previous, start=1) if p is not None}
    config = rfm.validate({**rfm.DEFAULT_CONFIG, "high_from": high})
    result = rfm.grade(config, rows=data, customers={c: {} for c in range(1, 13)}, previous=prev, as_of=AS_OF)
    texts = {c: g.explanation_text() for c, g in result.items()}
    canonical = {c: g.canonical_text() for c, g in result.items()}
    for cid, graded in result.items():
        assert texts[cid] == json.dumps(graded.explanation, ensure_ascii=False, separators=(",", ":"))
        assert graded.computed_grade == graded.grade
        # what a run compares with the stored row: the explanation less previous_grade, printed as jsonb prints it
        assert canonical[cid] == jsonb_text({k: v for k, v in graded.explanation.items() if k != "previous_grade"})


def test_abc_shares_are_configurable():
    config = abc.validate({**abc.DEFAULT_CONFIG, "classes": [{"grade": "A", "share": 0.5},
                                                             {"grade": "B", "share": 1}]})
    result = abc.grade(config, rows=abc_rows(PARETO), customers={c: {} for c in PARETO}, previous={}, as_of=AS_OF)
    assert [c for c, g in result.items() if g.grade == "A"] == [1]


def test_abc_customers_without_revenue_are_the_last_class_and_ties_share_a_class():
    values = {1: 40, 2: 40, 3: 20, 4: 0}
    config = abc.validate({**abc.DEFAULT_CONFIG, "classes": [{"grade": "A", "share": 0.3},
                                                             {"grade": "B", "share": 0.9},
                                                             {"grade": "C", "share": 1}]})
    result = abc.grade(config, rows=abc_rows(values), customers={c: {} for c in values}, previous={}, as_of=AS_OF)
    assert result[1].grade == result[2].grade == "A"
    assert result[4].grade == "C"


def test_lorenz_curve_of_the_pareto_set():
    """Top 1 of 6 customers (16.7 %) make 50 %; the curve ends at (1, 1)."""
    points = abc.lorenz(PARETO.values())
    assert points[0] == (0, 0)
    assert points[1] == (Decimal(1) / 6, Decimal("0.5"))
    assert points[-1] == (1, 1)
    assert abc.lorenz([0, 0])[-1] == (1, 0)


def test_abc_config_errors():
    with pytest.raises(ConfigError) as exc:
        abc.validate({**abc.DEFAULT_CONFIG, "classes": [{"grade": "A", "share": 0.8}, {"grade": "B", "share": 0.9}]})
    assert "classes.1.share" in exc.value.fields
    with pytest.raises(ConfigError) as exc:
        abc.validate({**abc.DEFAULT_CONFIG, "classes": [{"grade": "A", "share": 0.9}, {"grade": "B", "share": 0.5}]})
    assert "classes.1.share" in exc.value.fields


# --- RFM ------------------------------------------------------------------------------------------------

def test_jsonb_text_prints_like_postgresql():
    """The reference for the kinds' canonical texts: keys by UTF-8 length, then bytes (满意 is 6 bytes, after
    "score"), ", " and ": ", strings escaped like json.dumps without ensure_ascii (PostgreSQL's own printing is
    compared in test_sql_equivalence.py)."""
    value = {"满意": {"value": None, "score": "1.5", "missing": True}, "b": [1, "x\"y\n"], "ab": False, "a": {}}
    assert jsonb_text(value) == ('{"a": {}, "b": [1, "x\\"y\\n"], "ab": false, "满意": {"score": "1.5", "value": null, '
                                 '"missing": true}}')


def test_rfm_hand_computed_example():
    """Five customers, as_of 2026-06-30, 12 months.

    cid  last order   days  orders  amount   R F M   segment
    1    2026-06-20     10      10   10000   5 5 5   重要价值
    2    2026-06-01     29       1    9000   4 1 4   重要发展  (F=1 < 3)
    3    2025-12-15    197       8    8000   2 4 3   重要保持  (R=2)
    4    2025-08-01    333       1    5000   1 1 2   一般挽留
    5    2026-03-01    121       6     100   3 3 1   一般价值
    Scores: 1 + ⌊5 × worse / 5⌋ = 1 + worse."""
    data = {1: (dt.date(2026, 6, 20), 10, 10000), 2: (dt.date(2026, 6, 1), 1, 9000),
            3: (dt.date(2025, 12, 15), 8, 8000), 4: (dt.date(2025, 8, 1), 1, 5000),
            5: (dt.date(2026, 3, 1), 6, 100)}
    rows = [{"customer_id": c, "month": d.replace(day=1), "last_order_date": d, "order_count": n,
             "amount": Decimal(a)} for c, (d, n, a) in data.items()]
    config = rfm.validate(rfm.DEFAULT_CONFIG)
    result = rfm.grade(config, rows=rows, customers={c: {} for c in data}, previous={}, as_of=AS_OF)
    assert {c: result[c].explanation["scores"] for c in data} == {
        1: {"R": 5, "F": 5, "M": 5}, 2: {"R": 4, "F": 1, "M": 4}, 3: {"R": 2, "F": 4, "M": 3},
        4: {"R": 1, "F": 1, "M": 2}, 5: {"R": 3, "F": 3, "M": 1}}
    assert {c: g.grade for c, g in result.items()} == {1: "重要价值", 2: "重要发展", 3: "重要保持",
                                                       4: "一般挽留", 5: "一般价值"}
    assert result[1].explanation["recency_days"] == "10"


def test_rfm_customer_without_orders_scores_lowest():
    rows = [{"customer_id": 1, "month": dt.date(2026, 6, 1), "order_count": 3, "amount": Decimal(500),
             "last_order_date": dt.date(2026, 6, 5)}]
    result = rfm.grade(rfm.validate(rfm.DEFAULT_CONFIG), rows=rows, customers={1: {}, 2: {}}, previous={},
                       as_of=AS_OF)
    assert result[2].explanation["scores"] == {"R": 1, "F": 1, "M": 1}
    assert result[2].grade == "一般挽留"


def test_rfm_every_segment_must_be_named():
    with pytest.raises(ConfigError) as exc:
        rfm.validate({"segments": {"HHH": "重要价值"}})
    assert "segments" in exc.value.fields


def test_quintiles_give_ties_the_same_score():
    scores = rfm.quintile_scores({1: Decimal(5), 2: Decimal(5), 3: Decimal(1), 4: None})
    assert scores[1] == scores[2]
    assert scores[4] == 1


# --- scorecard / key account ------------------------------------------------------------------------

def card_config(**kw):
    return scorecard.validate({**scorecard.DEFAULT_CONFIG, **kw})


HAND_ALL = {k: 100 for k in ("influence", "fit", "stability", "responsiveness", "cooperation", "satisfaction")}


def value_rows(cid=1):
    # amount 1,000,000 over 12 months, 30 % margin, all paid on time, second half +50 %
    rows = []
    for i, m in enumerate(months_back(AS_OF, 12)):
        amount = Decimal(400000 / 6) if i < 6 else Decimal(600000 / 6)
        rows.append({"customer_id": cid, "month": m, "amount": amount, "gross_margin": amount * Decimal("0.3"),
                     "due_amount": amount, "paid_on_time_amount": amount, "order_count": 1})
    return rows


def test_scorecard_full_marks_is_core():
    graded = grade_one(scorecard, card_config(), value_rows(), facts={"scores": HAND_ALL})
    assert graded.grade == "核心"
    assert Decimal(graded.explanation["score"]) == 100


@pytest.mark.parametrize(("hand", "expected"), [
    (100, "核心"), (80, "核心"), ("79.99", "重点"), (60, "重点"), (40, "普通"), ("39.99", "潜在·边缘"), (0, "潜在·边缘")])
def test_scorecard_bands(hand, expected):
    """核心 ≥ 80 > 重点 ≥ 60 > 普通 ≥ 40 > 潜在·边缘 (two hand-scored dimensions, weights 0.5 each)."""
    config = card_config(dimensions=[{"key": k, "source": "manual", "weight": w} for k, w in
                                     (("influence", 0.5), ("satisfaction", 0.5))])
    graded = grade_one(scorecard, config, [], facts={"scores": {"influence": hand, "satisfaction": hand}})
    assert graded.grade == expected


def test_scorecard_band_lower_bound_is_inclusive():
    config = card_config(dimensions=[{"key": "fit", "source": "manual", "weight": 1}])
    assert grade_one(scorecard, config, [], facts={"scores": {"fit": 60}}).grade == "重点"
    assert grade_one(scorecard, config, [], facts={"scores": {"fit": 59.99}}).grade == "普通"


def test_scorecard_missing_hand_score_counts_as_configured_and_is_flagged():
    config = card_config(dimensions=[{"key": "fit", "source": "manual", "weight": 1}], missing_score=50)
    graded = grade_one(scorecard, config, [], facts={})
    assert graded.grade == "普通"
    assert graded.explanation["dimensions"]["fit"]["missing"] is True


def test_scorecard_payment_timeliness_from_payments():
    config = card_config(dimensions=[{"key": "payment", "source": "on_time_rate", "weight": 1,
                                      "zero": 0.5, "full": 1}])
    rows = [{"customer_id": 1, "month": dt.date(2026, 6, 1), "due_amount": Decimal(100),
             "paid_on_time_amount": Decimal(75)}]
    graded = grade_one(scorecard, config, rows)
    assert graded.explanation["dimensions"]["payment"]["score"] == "50"
    assert graded.grade == "普通"


def test_scorecard_weights_must_add_up_to_one():
    with pytest.raises(ConfigError) as exc:
        card_config(dimensions=[{"key": "fit", "source": "manual", "weight": 0.5}])
    assert "dimensions" in exc.value.fields


def test_scorecard_bands_must_descend():
    with pytest.raises(ConfigError) as exc:
        card_config(bands=[{"grade": "a", "min": 10}, {"grade": "b", "min": 20}])
    assert "bands.1.min" in exc.value.fields


def test_key_account_levels():
    config = key_account.validate(key_account.DEFAULT_CONFIG)
    rows = [{"customer_id": 1, "month": m, "amount": Decimal(500000), "order_count": 1}
            for m in months_back(AS_OF, 12)]
    top = grade_one(key_account, config, rows, facts={"scores": {"potential_value": 100},
                                                       "lifetime_amount": 30000000})
    assert top.grade == "一级"
    assert top.explanation["kind"] == "key_account"
    assert grade_one(key_account, config, [], facts={}).grade == "三级"
    mid = grade_one(key_account, config, rows, facts={"scores": {"potential_value": 40}})
    assert mid.grade == "二级"


def test_every_default_config_is_valid_and_levels_cover_its_grades():
    for kind in KINDS.values():
        config = kind.validate(kind.DEFAULT_CONFIG)
        assert len(kind.levels(config)) == len(set(kind.levels(config))) >= 2


# --- hypothesis: deterministic and independent of row order ----------------------------------------------

row_strategy = st.fixed_dictionaries({
    "customer_id": st.integers(1, 6),
    "month": st.sampled_from(months_back(AS_OF, 14)),
    "quantity_t": st.decimals(0, 5000, places=3),
    "amount": st.decimals(0, 2000, places=2),
    "gross_margin": st.decimals(-100, 500, places=2),
    "order_count": st.integers(0, 5),
    "due_amount": st.decimals(0, 2000, places=2),
    "paid_on_time_amount": st.decimals(0, 2000, places=2),
    "last_order_date": st.dates(dt.date(2025, 5, 1), AS_OF),
})
CONFIGS = {name: kind.validate(kind.DEFAULT_CONFIG) for name, kind in KINDS.items()}


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(row_strategy, max_size=30), kind_name=st.sampled_from(sorted(KINDS)), data=st.data())
def test_grading_is_deterministic_and_independent_of_row_order(rows, kind_name, data):
    kind = KINDS[kind_name]
    customers = {c: {"first_order_month": dt.date(2025, 1, 1), "scores": {"fit": 70}} for c in range(1, 7)}
    previous = data.draw(st.dictionaries(st.integers(1, 6), st.sampled_from(kind.levels(CONFIGS[kind_name]))))
    shuffled = data.draw(st.permutations(rows))
    first = kind.grade(CONFIGS[kind_name], rows=rows, customers=customers, previous=previous, as_of=AS_OF)
    again = kind.grade(CONFIGS[kind_name], rows=list(shuffled), customers=dict(reversed(customers.items())),
                       previous=previous, as_of=AS_OF)
    assert {c: (g.grade, g.explanation) for c, g in first.items()} == \
        {c: (g.grade, g.explanation) for c, g in again.items()}
    levels = kind.levels(CONFIGS[kind_name])
    assert all(g.grade in levels for g in first.values())


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.decimals(0, 10000, places=3), min_size=1, max_size=8), start=st.integers(0, 4))
def test_sequential_adjustment_never_moves_more_than_one_level(values, start):
    config = threshold.validate(dict(threshold.DEFAULT_CONFIG, months=1, aggregate="last"))
    order = threshold.levels(config)
    grade = order[start]
    for v in values:
        new = grade_one(threshold, config, month_rows(1, [v]), previous=grade).grade
        assert abs(order.index(new) - order.index(grade)) <= 1
        grade = new


@settings(max_examples=60, deadline=None)
@given(values=st.dictionaries(st.integers(1, 20), st.integers(0, 1000), min_size=1))
def test_abc_higher_contribution_never_gets_a_lower_class(values):
    config = abc.validate(abc.DEFAULT_CONFIG)
    result = abc.grade(config, rows=abc_rows(values), customers={c: {} for c in values}, previous={}, as_of=AS_OF)
    order = abc.levels(config)
    for a in values:
        for b in values:
            if values[a] > values[b]:
                assert order.index(result[a].grade) >= order.index(result[b].grade)


def eager_scorecard(config, *, rows, customers, previous, as_of, kind="scorecard"):
    """The scorecard as it graded before its explanations were built lazily (session score11): every customer's
    explanation dict at once. The reference the lazy kind and its JSON text must equal."""
    months = months_back(as_of, config["months"])
    window = window_of(rows, months)
    empty = {m: Decimal(0) for m in METRICS}
    out = {}
    for cid, facts in customers.items():
        facts = facts or {}
        values = scorecard.derived_values(window.sums.get(cid, empty), window.halves.get(cid, (Decimal(0),) * 2 + (0,)),
                                          months, facts)
        hand = facts.get("scores") or {}
        total = Decimal(0)
        parts = {}
        for dim in config["dimensions"]:
            if dim["source"] == "manual":
                raw = hand.get(dim["key"])
                score = None if raw is None else min(max(Decimal(str(raw)), Decimal(0)), Decimal(100))
                shown = None if raw is None else text(Decimal(str(raw)))
            else:
                score = scorecard.scale(values[dim["source"]], dim["zero"], dim["full"])
                shown = text(values[dim["source"]])
            missing = score is None
            if missing:
                score = config["missing_score"]
            total += score * dim["weight"]
            parts[dim["key"]] = {"value": shown, "score": text(round(score, 2)), "weight": text(dim["weight"]),
                                 "missing": missing}
        chosen = config["bands"][-1]
        for band in config["bands"]:
            if total >= band["min"]:
                chosen = band
                break
        out[cid] = (chosen["grade"], {"kind": kind, "rule": "score_band", "score": text(round(total, 2)),
                                      "band_min": text(chosen["min"]), "dimensions": parts,
                                      "previous_grade": previous.get(cid)})
    return out


ALL_SOURCES_CONFIG = {
    "months": 6, "missing_score": "37.5",
    "dimensions": [
        {"key": "volume", "source": "amount", "weight": 0.1, "zero": 0, "full": 50000},
        {"key": "tonnes", "source": "quantity_t", "weight": 0.05, "zero": 10, "full": 400},
        {"key": "orders", "source": "order_count", "weight": 0.05, "zero": 0, "full": 9},
        {"key": "margin", "source": "margin_rate", "weight": 0.1, "zero": 0, "full": 0.3},
        {"key": "payment", "source": "on_time_rate", "weight": 0.1, "zero": 0.5, "full": 1},
        {"key": "growth", "source": "growth", "weight": 0.1, "zero": -0.2, "full": 0.5},
        {"key": "life", "source": "lifetime_amount", "weight": 0.1, "zero": 0, "full": 200000},
        {"key": "loyal", "source": "active_month_share", "weight": 0.1, "zero": 0, "full": 1},
        {"key": "fit \"A\"", "source": "manual", "weight": 0.15},
        {"key": "满意度", "source": "manual", "weight": 0.15},
    ],
    "bands": [{"grade": "核心", "min": "61.5"}, {"grade": "A\"B", "min": 45}, {"grade": "普通", "min": 30},
              {"grade": "潜在·边缘", "min": 0}],
}


money = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)


@given(rows=st.lists(st.tuples(st.integers(1, 8), st.integers(0, 7), money, st.one_of(st.none(), money), money,
                               money), max_size=40),
       hand=st.lists(st.tuples(st.sampled_from(["fit \"A\"", "满意度", "unused"]),
                               st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)), max_size=10),
       lifetime=st.dictionaries(st.integers(1, 8), st.one_of(st.none(), money), max_size=8),
       previous=st.lists(st.sampled_from(["核心", "A\"B", "旧等级", None]), min_size=8, max_size=8),
       kind_name=st.sampled_from(["scorecard", "key_account", "all"]))
@settings(max_examples=200, deadline=None)
def test_scorecard_lazy_explanations_and_text_equal_the_eager_kind(rows, hand, lifetime, previous, kind_name):
    """The scorecard and key-account kinds compute totals first and build an explanation only when read (a dict,
    or straight as the JSON text a run stores): the grade and explanation are those of the eager kind, and the
    text is exactly the compact JSON of the explanation."""
    import json

    span = months_back(AS_OF, 8)
    data = [{"customer_id": cid, "month": span[m], "amount": a, "gross_margin": gm, "due_amount": due,
             "paid_on_time_amount": min(paid, due), "quantity_t": a / 7, "order_count": 1}
            for cid, m, a, gm, due, paid in rows]
    customers = {c: {} for c in range(1, 9)}
    for i, (key, score) in enumerate(hand):
        customers[1 + i % 8].setdefault("scores", {})[key] = score
    for cid, amount in lifetime.items():
        customers[cid]["lifetime_amount"] = amount
    prev = {c: p for c, p in enumerate(previous, start=1) if p is not None}
    module = key_account if kind_name == "key_account" else scorecard
    config = module.validate(ALL_SOURCES_CONFIG if kind_name == "all" else module.DEFAULT_CONFIG)
    result = module.grade(config, rows=data, customers=customers, previous=prev, as_of=AS_OF)
    expected = eager_scorecard(config, rows=data, customers=customers, previous=prev, as_of=AS_OF,
                               kind="key_account" if kind_name == "key_account" else "scorecard")
    texts = {c: g.explanation_text() for c, g in result.items()}  # before any dict is built
    eager = module.grade(config, rows=data, customers=customers, previous=prev, as_of=AS_OF, texts=True)
    assert {c: (g.grade, g.explanation_text()) for c, g in eager.items()} == {
        c: (g.grade, texts[c]) for c, g in result.items()}  # a run's one pass: the same grades and texts
    # A repeat run compares the customers it has a stored row for by their canonical text first (the JSON text
    # only when read): the same grades and texts, and the canonical text is the explanation less previous_grade
    # as PostgreSQL prints jsonb.
    compared = set(list(customers)[::2])
    repeat = module.grade(config, rows=data, customers=customers, previous=prev, as_of=AS_OF, texts=True,
                          canonical=compared)
    assert {c: (g.grade, g.explanation_text()) for c, g in repeat.items()} == {
        c: (g.grade, texts[c]) for c, g in result.items()}
    for cid, graded in repeat.items():
        assert graded.canonical_text() == (jsonb_text({k: v for k, v in expected[cid][1].items()
                                                       if k != "previous_grade"}) if cid in compared else None)
    assert set(result) == set(expected)
    for cid, graded in result.items():
        assert (graded.grade, graded.explanation) == expected[cid]
        assert texts[cid] == json.dumps(expected[cid][1], ensure_ascii=False, separators=(",", ":"))
        assert graded.computed_grade == graded.grade
