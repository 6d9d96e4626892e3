"""The pure allocation (资源量分配, 004 第13篇 第三条(二), 第十条): boundaries from the policy and properties
checked with hypothesis over generated rounds."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kehu.grading.allocation.allocate import (
    CAPPED,
    EXHAUSTED,
    FULL,
    NO_NEED,
    PROPORTIONAL,
    AllocationError,
    Defaults,
    Participant,
    Weights,
    allocate,
)

ORDER = ("direct", "exclusive_agent", "dealer")
W = Weights(D("0.4"), D("0.35"), D("0.25"))
UNIT = D("0.001")


def run(available, participants, **kw):
    return allocate(available=D(available), participants=participants, weights=kw.pop("weights", W),
                    class_order=kw.pop("class_order", ORDER), **kw)


def by_key(result):
    return {s.key: s for s in result.shares}


def agent(key, plan, score=80, capacity=None, cls="exclusive_agent"):
    return Participant(key=key, cls=cls, plan=D(plan), capacity=None if capacity is None else D(capacity),
                       review_score=D(score), completion=D(score) / 100, regularity=D(score) / 100)


def dealer(key, plan, score=80, capacity=None):
    return agent(key, plan, score, capacity, cls="dealer")


def test_supply_above_every_plan_gives_each_participant_its_plan_or_capacity():
    result = run("10000", [agent(1, "1200"), agent(2, "800", capacity="500"), dealer(3, "300"),
                           dealer(4, "250.5", capacity="900")])
    got = {k: s.allocated for k, s in by_key(result).items()}
    assert got == {1: D("1200"), 2: D("500"), 3: D("300"), 4: D("250.5")}
    assert {s.rule for s in result.shares} == {FULL}
    assert result.unallocated == D("10000") - D("2250.5")


def test_supply_exactly_the_needs_is_all_allocated():
    result = run("2250.5", [agent(1, "1200"), agent(2, "800", capacity="500"), dealer(3, "300"),
                            dealer(4, "250.5")])
    assert result.allocated == D("2250.5") and result.unallocated == 0
    assert {s.rule for s in result.shares} == {FULL}


def test_short_supply_serves_exclusive_agents_before_dealers_get_anything():
    """独家代理 before 经销商: with 1,500 t for 2,000 t of agents' plans, the dealers get nothing."""
    result = run("1500", [agent(1, "1200", score=90), agent(2, "800", score=60), dealer(3, "300", score=100)])
    s = by_key(result)
    assert s[3].allocated == 0 and s[3].rule == EXHAUSTED
    assert s[1].allocated + s[2].allocated == D("1500")
    assert [c.short for c in result.classes] == [False, True, True]


def test_direct_customers_are_served_before_agents():
    """确保直销量: the direct customers' plans first."""
    result = run("1000", [agent(1, "800"), agent(2, "700", cls="direct"), dealer(3, "100")])
    s = by_key(result)
    assert (s[2].allocated, s[1].allocated, s[3].allocated) == (D("700"), D("300"), D(0))


def test_within_a_short_class_the_fill_rate_is_proportional_to_the_score():
    """Agents with scores 80 and 40 and equal plans: 2:1."""
    result = run("900", [agent(1, "1000", score=80), agent(2, "1000", score=40)])
    s = by_key(result)
    assert (s[1].allocated, s[2].allocated) == (D("600"), D("300"))
    assert s[1].rule == s[2].rule == PROPORTIONAL


def test_proportional_to_score_times_plan():
    result = run("600", [agent(1, "1000", score=50), agent(2, "500", score=50)])
    s = by_key(result)
    assert (s[1].allocated, s[2].allocated) == (D("400"), D("200"))


def test_a_share_stops_at_capacity_and_the_rest_goes_to_the_others():
    """Scores 100 and 20 on 1,000 t needs (the first one's plan is 2,000 t, its capacity 1,000 t): 1,250 t
    by score would pass its capacity, so it gets 1,000 t and the other the remaining 500 t."""
    result = run("1500", [agent(1, "2000", score=100, capacity="1000"), agent(2, "1000", score=20)])
    s = by_key(result)
    assert (s[1].allocated, s[1].rule) == (D("1000"), CAPPED)
    assert (s[2].allocated, s[2].rule) == (D("500"), PROPORTIONAL)


def test_ties_split_evenly_and_the_odd_unit_goes_to_the_smaller_key():
    result = run("0.001", [agent(2, "5"), agent(1, "5")])
    s = by_key(result)
    assert (s[1].allocated, s[2].allocated) == (UNIT, D(0))
    result = run("10.001", [agent(1, "7"), agent(2, "7")])
    s = by_key(result)
    assert (s[1].allocated, s[2].allocated) == (D("5.001"), D("5"))


def test_the_odd_unit_goes_to_the_larger_remainder_before_the_higher_score():
    # exact shares 1/3 · 0.002 … : scores 100, 50 on needs 1 and 4 units → weights 100, 200 → 1/3, 2/3 of 1 unit
    result = run("0.001", [agent(1, "0.001", score=100), agent(2, "0.004", score=50)])
    assert by_key(result)[2].allocated == UNIT


def test_all_zero_scores_split_by_need():
    zero = [Participant(key=k, cls="dealer", plan=D(p), review_score=D(0), completion=D(0), regularity=D(0))
            for k, p in ((1, "300"), (2, "100"))]
    result = run("200", zero)
    s = by_key(result)
    assert (s[1].allocated, s[2].allocated) == (D("150"), D("50"))


def test_zero_plan_or_capacity_gets_nothing():
    result = run("100", [agent(1, "0"), agent(2, "50", capacity="0"), agent(3, "10")])
    s = by_key(result)
    assert (s[1].rule, s[2].rule, s[3].allocated) == (NO_NEED, NO_NEED, D("10"))


def test_unknown_inputs_take_the_defaults_and_say_so():
    p = Participant(key=1, cls="dealer", plan=D("10"))
    result = run("5", [p], defaults=Defaults(review_score=D(60), completion=D("0.5"), regularity=D("0.5")))
    share = result.shares[0]
    assert share.score == D("0.4") * 60 + D("0.35") * 50 + D("0.25") * 50
    assert share.inputs["review_score"]["default"] and share.inputs["completion"]["default"]


def test_completion_above_plan_counts_as_100_percent():
    over = Participant(key=1, cls="dealer", plan=D("10"), review_score=D(100), completion=D("1.7"),
                       regularity=D(1))
    assert run("1", [over]).shares[0].score == D(100)


def test_bad_input_is_refused():
    with pytest.raises(AllocationError):
        run("-1", [agent(1, "1")])
    with pytest.raises(AllocationError):
        run("1", [agent(1, "1"), agent(1, "2")])
    with pytest.raises(AllocationError):
        run("1", [agent(1, "1", cls="retail")])
    with pytest.raises(AllocationError):
        run("1", [agent(1, "1")], weights=Weights(D(0), D(0), D(0)))


# --- properties ---------------------------------------------------------------------------------------

quantities = st.decimals(min_value=0, max_value=5000, places=3, allow_nan=False, allow_infinity=False)
scores = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
rates = st.one_of(st.none(), st.decimals(min_value=0, max_value=2, places=3, allow_nan=False, allow_infinity=False))
participants = st.lists(
    st.builds(lambda cls, plan, cap, review, completion, regularity: (cls, plan, cap, review, completion, regularity),
              st.sampled_from(ORDER), quantities, st.one_of(st.none(), quantities), st.one_of(st.none(), scores),
              rates, rates),
    min_size=0, max_size=12)
weights = st.builds(Weights, *[st.decimals(min_value=0, max_value=1, places=2) for _ in range(3)]).filter(
    lambda w: w.total() > 0)


def _build(rows):
    return [Participant(key=i + 1, cls=c, plan=p, capacity=cap, review_score=r, completion=comp,
                        regularity=None if reg is None else min(reg, D(1)))
            for i, (c, p, cap, r, comp, reg) in enumerate(rows)]


@settings(max_examples=300, deadline=None)
@given(available=quantities, rows=participants, w=weights, data=st.data())
def test_allocation_properties(available, rows, w, data):
    people = _build(rows)
    result = run(available, people, weights=w)
    shares = by_key(result)
    # never above plan or capacity, never negative, whole units
    for p in people:
        s = shares[p.key]
        cap = p.plan if p.capacity is None else min(p.plan, p.capacity)
        assert 0 <= s.allocated <= cap
        assert s.allocated % UNIT == 0
    # never more than the supply; all of it when the needs exceed it
    assert result.allocated <= available
    total_need = sum((s.need for s in result.shares), D(0))
    assert result.allocated == min(total_need, (available // UNIT) * UNIT)
    # a class gets something only when every class before it has its whole need
    for i, summary in enumerate(result.classes):
        if any(shares[p.key].allocated for p in people if p.cls == summary.cls):
            for before in result.classes[:i]:
                assert all(shares[p.key].allocated == shares[p.key].need for p in people if p.cls == before.cls)
    # within a short class the exact shares follow score × need, none above its need
    for summary in result.classes:
        if not summary.short:
            continue
        open_ = [shares[p.key] for p in people if p.cls == summary.cls and shares[p.key].rule == PROPORTIONAL]
        positive = [s for s in open_ if s.score > 0]
        ratios = {Fraction(s.exact) / (Fraction(s.score) * Fraction(s.need / UNIT)) for s in positive}
        assert len(ratios) <= 1
        for s in open_:  # rounding moves a share by less than one unit
            assert abs(Fraction(s.allocated / UNIT) - s.exact) < 1
    # independent of input order, deterministic
    shuffled = data.draw(st.permutations(people))
    again = by_key(run(available, shuffled, weights=w))
    assert {k: (s.allocated, s.rule) for k, s in again.items()} == {k: (s.allocated, s.rule)
                                                                      for k, s in shares.items()}


@settings(max_examples=100, deadline=None)
@given(rows=participants, w=weights)
def test_supply_above_all_needs_serves_every_need(rows, w):
    people = _build(rows)
    total = sum((p.plan for p in people), D(0))
    result = run(total + 1, people, weights=w)
    for p in people:
        cap = p.plan if p.capacity is None else min(p.plan, p.capacity)
        assert by_key(result)[p.key].allocated == cap


@settings(max_examples=100, deadline=None)
@given(rows=participants, w=weights, extra=quantities)
def test_more_supply_never_gives_anyone_less(rows, w, extra):
    people = _build(rows)
    available = sum((p.plan for p in people), D(0)) / 2
    less, more = by_key(run(available, people, weights=w)), by_key(run(available + extra, people, weights=w))
    # monotone up to the one unit rounding can move
    assert all(more[k].allocated + UNIT >= less[k].allocated for k in less)
