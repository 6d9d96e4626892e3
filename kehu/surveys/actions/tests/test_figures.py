"""NPS, CSAT and keywords against hand-computed examples (kehu/surveys/actions/figures.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.surveys.actions import figures as fx


def test_nps_of_ten_answers_by_hand():
    """Scores 10, 10, 9, 8, 7, 6, 5, 3, 0, 9: promoters 10, 10, 9, 9 = 4; passives 8, 7 = 2;
    detractors 6, 5, 3, 0 = 4. NPS = 100 × (4 − 4) / 10 = 0."""
    counts = {10: 2, 9: 2, 8: 1, 7: 1, 6: 1, 5: 1, 3: 1, 0: 1}
    out = fx.nps(counts)
    assert (out["promoters"], out["passives"], out["detractors"], out["n"]) == (4, 2, 4, 10)
    assert out["nps"] == 0.0 and out["promoters_pct"] == 40.0 and out["detractors_pct"] == 40.0


def test_nps_of_seven_answers_by_hand():
    """Scores 9, 9, 10, 8, 6, 10, 7: promoters 4, passives 2, detractors 1 → 100 × (4 − 1) / 7 = 42.857… → 42.9."""
    out = fx.nps({9: 2, 10: 2, 8: 1, 7: 1, 6: 1})
    assert (out["promoters"], out["passives"], out["detractors"]) == (4, 2, 1)
    assert out["nps"] == 42.9


def test_nps_of_only_detractors_is_minus_100_and_of_nobody_none():
    assert fx.nps({0: 3, 6: 1})["nps"] == -100.0
    assert fx.nps({})["nps"] is None


def test_csat_of_a_five_point_question_by_hand():
    """Ratings 5, 4, 4, 3, 2, 1 (1–5): top two box (4–5) = 3 of 6 = 50 %; bottom box (1) = 1 of 6 = 16.7 %;
    normalised (x − 1) × 25 = 100, 75, 75, 50, 25, 0 → mean 325 / 6 = 54.166… → 54.2."""
    out = fx.csat("rating_5", {5: 1, 4: 2, 3: 1, 2: 1, 1: 1})
    assert out == {"n": 6, "top_box_pct": 50.0, "low_box_pct": 16.7, "mean_100": 54.2}


def test_csat_of_a_ten_point_question_by_hand():
    """Ratings 10, 9, 7, 1 (1–10): top two box (9–10) = 2 of 4 = 50 %; bottom (1–2) = 1 of 4 = 25 %;
    normalised (x − 1) × 100 / 9 = 100, 88.89, 66.67, 0 → mean 255.56 / 4 = 63.9."""
    out = fx.csat("rating_10", {10: 1, 9: 1, 7: 1, 1: 1})
    assert out == {"n": 4, "top_box_pct": 50.0, "low_box_pct": 25.0, "mean_100": 63.9}


def test_csat_of_the_visit_report_scales_reads_the_score_out_of_100():
    """Quality 100, 90, 70, 60: top box (100, 90) 2 of 4; bottom (60) 1 of 4; mean (100 + 90 + 70 + 60) / 4 = 80."""
    assert fx.csat("visit_quality", {100: 1, 90: 1, 70: 1, 60: 1}) == {
        "n": 4,
        "top_box_pct": 50.0,
        "low_box_pct": 25.0,
        "mean_100": 80.0,
    }
    assert (
        fx.is_low("visit_attitude", 30)
        and fx.is_low("visit_attitude", 0)
        and not fx.is_low("visit_attitude", 80)
    )


def test_counters_roll_up_like_the_whole():
    """A dimension of two five-point questions = the sum of its questions' counters."""
    a, b = fx.Csat(), fx.Csat()
    a.add("rating_5", 5, 2)
    b.add("rating_5", 1, 2)
    a.merge(b)
    assert a.out() == {"n": 4, "top_box_pct": 50.0, "low_box_pct": 50.0, "mean_100": 50.0}


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.integers(0, 10), st.integers(0, 50)))
def test_nps_is_between_minus_100_and_100_and_the_groups_add_up(counts):
    out = fx.nps(counts)
    assert out["promoters"] + out["passives"] + out["detractors"] == out["n"] == sum(counts.values())
    if out["n"]:
        assert -100 <= out["nps"] <= 100


@pytest.mark.parametrize(
    "kind, low, ok", [("nps", 6, 7), ("rating_5", 1, 2), ("rating_10", 2, 3), ("matrix", 1, 2)]
)
def test_low_scores_are_the_bottom_box(kind, low, ok):
    assert fx.is_low(kind, low) and not fx.is_low(kind, ok) and not fx.is_low(kind, None)


def test_keywords_drop_stop_words_single_characters_and_punctuation():
    words = fx.terms("产品质量稳定，但价格偏高，希望售后响应快一些！")
    assert "价格" in words and "售后" in words and "产品质量" in words
    assert not any(len(w) < 2 for w in words) and "希望" not in words and "一些" not in words
    assert fx.terms("") == [] and fx.terms("，。！") == []


def test_keyword_counts_count_each_answer_once():
    """“价格偏高，价格太高” twice and “售后慢” once: 价格 is in 2 answers (not 4), 售后 in 1."""
    counts = dict(fx.keyword_counts([("价格偏高，价格太高", 2), ("售后慢", 1)]))
    assert counts["价格"] == 2 and counts["售后"] == 1
