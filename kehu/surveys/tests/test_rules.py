"""The survey's pure rules, exhaustively: the procedure's transition map (only the next step, or a review
returning to drafting; nothing after closing) and the validation of answers against each kind's scale."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from kehu.surveys import rules
from kehu.surveys.models import STAGE_ORDER, QuestionKind

stages = st.sampled_from(rules.STAGES)


def test_the_procedure_is_the_models_stage_order():
    assert list(rules.STAGES) == STAGE_ORDER
    assert set(rules.KINDS) == set(QuestionKind.values)


@given(stages, stages)
def test_a_step_cannot_be_skipped(current, to):
    i, j = rules.STAGES.index(current), rules.STAGES.index(to)
    code = rules.transition_error(current, to)
    if current == "closed":
        assert code == "survey_closed"
    elif j == i + 1 or (current, to) == ("review", "drafting"):
        assert code is None
    elif j > i + 1:
        assert code == "survey_step_skipped"
    else:
        assert code == "survey_step_backwards"


def test_walking_the_next_steps_reaches_closed_through_every_step():
    seen, stage = ["plan"], "plan"
    while (nxt := rules.next_stage(stage)) is not None:
        assert rules.transition_error(stage, nxt) is None
        seen.append(nxt)
        stage = nxt
    assert seen == list(rules.STAGES)
    assert rules.allowed_moves("closed") == []
    assert rules.allowed_moves("review") == ["drafting", "fieldwork"]


@given(st.sampled_from(sorted(set(rules.SCALES) - {"matrix"})), st.integers(min_value=-5, max_value=120))
def test_a_scale_answer_is_accepted_exactly_on_its_scale(kind, value):
    q = rules.QuestionSpec(id=1, kind=kind)
    answers, errors = rules.validate_answers([q], {"q1": [str(value)]})
    if value in rules.SCALES[kind]:
        assert errors == {} and answers[0].number == value
    else:
        assert errors == {"q1": ["out_of_range"]} and answers == []


def test_nps_is_0_to_10_and_visit_scales_are_the_report_forms():
    assert rules.SCALES["nps"] == tuple(range(11))
    assert rules.SCALES["visit_quality"] == (100, 90, 85, 80, 70, 60)
    assert rules.SCALES["visit_attitude"] == (100, 90, 85, 80, 30, 0)


OPTS = [{"value": "a", "label": "甲"}, {"value": "b", "label": "乙"}, {"value": "c", "label": "丙"}]


@given(st.lists(st.sampled_from(["a", "b", "c", "x"]), min_size=1, max_size=4))
def test_choices_must_be_options_and_single_takes_one(picked):
    single = rules.QuestionSpec(id=1, kind="single", options=OPTS)
    multiple = rules.QuestionSpec(id=2, kind="multiple", options=OPTS)
    a1, e1 = rules.validate_answers([single], {"q1": picked})
    a2, e2 = rules.validate_answers([multiple], {"q2": picked})
    unknown = "x" in picked
    assert bool(e2) == unknown
    if not unknown:
        assert a2[0].choices == list(dict.fromkeys(picked))
    assert bool(e1) == (unknown or len(set(picked)) > 1)


def test_required_optional_matrix_and_text():
    qs = [rules.QuestionSpec(id=1, kind="rating_5"), rules.QuestionSpec(id=2, kind="text", required=False),
          rules.QuestionSpec(id=3, kind="matrix", options=OPTS[:2])]
    answers, errors = rules.validate_answers(qs, {})
    assert errors == {"q1": ["required"], "q3": ["required"]} and answers == []
    answers, errors = rules.validate_answers(qs, {"q1": ["5"], "q3__a": ["4"], "q3__b": ["2"]})
    assert errors == {}
    assert [(a.question_id, a.row, a.number) for a in answers] == [(1, "", 5), (3, "a", 4), (3, "b", 2)]
    _a, errors = rules.validate_answers(qs, {"q1": ["5"], "q3__a": ["4"], "q3__b": ["9"]})
    assert errors == {"q3": ["out_of_range"]}
    _a, errors = rules.validate_answers(qs, {"q1": ["5"], "q3__a": ["4"], "q3__b": ["2"], "q2": ["长" * 2001]})
    assert errors == {"q2": ["too_long"]}
    _a, errors = rules.validate_answers(qs, {"q1": ["5", "4"], "q3__a": ["4"], "q3__b": ["2"]})
    assert errors == {"q1": ["out_of_range"]}


def test_question_definitions():
    assert rules.question_problems(kind="single", text="题", options=OPTS[:1]) == {"options": "too_few_options"}
    assert rules.question_problems(kind="matrix", text="题", options=OPTS[:1]) == {}
    assert rules.question_problems(kind="multiple", text="题", options=[OPTS[0], OPTS[0]]) == {
        "options": "duplicate_options"}
    assert rules.question_problems(kind="bogus", text="", options=[]) == {"kind": "unknown_kind", "text": "required"}


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=10_000))
@example(1605, 10_000)  # 16.05 % shown as 16.1: exactly half a step (CI found it)
def test_response_rate(responded, invited):
    rate = rules.response_rate(min(responded, invited), invited)
    if invited == 0:
        assert rate is None
    else:
        # exact arithmetic: the shown one-decimal rate is within half a step of the true ratio (in floats, 16.1 -
        # 16.05 comes out as 0.0500000000000007: the test's own rounding error, not the rule's)
        exact = Fraction(100 * min(responded, invited), invited)
        assert 0 <= rate <= 100 and abs(Fraction(str(rate)) - exact) <= Fraction(1, 20)


@given(st.integers(min_value=-10**6, max_value=10**6))
def test_a_link_expires_exactly_at_its_expiry(seconds):
    expires = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    now = expires + dt.timedelta(seconds=seconds)
    state = rules.link_state(expires_at=expires, responded_at=None, now=now)
    assert state == ("valid" if seconds < 0 else "expired")
