"""The reception rotation's rules (seed 004 第12篇 3–5, 第14篇 (二)), ORM-free, exhaustively with hypothesis:
fairness over a simulated month, absentees losing the turn, make-up turns after an assigned duty,
designated and returning receptions not counted, refusals handled with a priority make-up."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kehu.sales.reception import rotation as r

REPS = list(range(1, 9))
WORKING_DAYS = 22


def q(*order, **kw):
    return r.Queue(order=tuple(order), **kw)


def serve(queue, n):
    out = []
    for _ in range(n):
        turn, queue = r.next_turn(queue)
        out.append(turn.rep)
    return out, queue


def test_walk_ins_go_round_the_roster_in_order():
    served, _ = serve(q(1, 2, 3), 7)
    assert served == [1, 2, 3, 1, 2, 3, 1]


def test_rotation_carries_over_to_the_next_day_after_the_last_rep_served():
    _, day1 = serve(q(1, 2, 3), 2)  # 1 and 2 served: 3 is next
    day2 = r.new_day([1, 2, 3], previous_order=day1.order, previous_last=day1.last)
    assert serve(day2, 2)[0] == [3, 1]


def test_next_day_resumes_with_the_following_rep_on_duty_when_the_last_is_off():
    day2 = r.new_day([1, 3, 4], previous_order=(1, 2, 3, 4), previous_last=2)
    assert r.next_turn(day2)[0].rep == 3
    day2 = r.new_day([1, 2], previous_order=(1, 2, 3, 4), previous_last=4)
    assert r.next_turn(day2)[0].rep == 1


def test_absent_rep_loses_the_turn_without_make_up():
    queue = r.set_status(q(1, 2, 3), 2, r.ABSENT)
    turn, queue = r.next_turn(queue)
    assert turn.rep == 1
    turn, queue = r.next_turn(queue)
    assert (turn.rep, turn.lost, turn.owed) == (3, (2,), ())
    queue = r.set_status(queue, 2, r.PRESENT)
    assert serve(queue, 3)[0] == [1, 2, 3]  # back in the rotation at their place, nothing made up


def test_rep_out_on_assigned_duty_gets_one_make_up_per_turn_skipped():
    queue = r.set_status(q(1, 2, 3), 2, r.OUT)
    served, queue = serve(queue, 5)  # 1 3 1 3 1: rep 2 skipped twice
    assert served == [1, 3, 1, 3, 1]
    assert queue.makeups == (2, 2)
    queue = r.set_status(queue, 2, r.PRESENT)
    turn, queue = r.next_turn(queue)
    assert (turn.rep, turn.kind) == (2, r.MAKEUP)
    served, queue = serve(queue, 3)
    assert served == [2, 2, 3]  # the second make-up, then the rotation where it was (after 1: rep 2 → 3)


def test_make_up_does_not_move_the_rotation():
    queue = q(1, 2, 3, makeups=(3,))
    turn, after = r.next_turn(queue)
    assert (turn.rep, turn.kind, after.last) == (3, r.MAKEUP, None)
    assert r.next_turn(after)[0].rep == 1


def test_make_up_waits_while_the_rep_is_still_out():
    queue = r.set_status(q(1, 2, last=1, makeups=(2,)), 2, r.OUT)
    turn, queue = r.next_turn(queue)
    assert turn.rep == 1 and queue.makeups == (2, 2)


def test_nobody_at_the_desk_raises_and_changes_nothing():
    queue = r.set_status(r.set_status(q(1, 2), 1, r.ABSENT), 2, r.OUT)
    with pytest.raises(r.NoRepAvailable):
        r.next_turn(queue)
    with pytest.raises(r.NoRepAvailable):
        r.next_turn(q())


def test_designated_and_returning_receptions_leave_the_queue_alone():
    """Designated (指定接待) and returning customers are not counted: there is no queue operation for them,
    and the courtesy receiver of a returning customer whose rep is away is the last in line."""
    queue = q(1, 2, 3, 4, last=2)
    assert r.courtesy_receiver(queue) == 2  # line: 3 4 1 2 → last is 2
    assert r.courtesy_receiver(r.set_status(queue, 2, r.ABSENT)) == 1
    assert r.next_turn(queue)[0].rep == 3


def test_refused_rep_gets_a_priority_make_up_and_the_customer_goes_to_the_next_rep():
    turn, queue = r.next_turn(q(1, 2, 3))  # 1 receives, the customer refuses 1
    assert turn.rep == 1
    turn, queue = r.refuse(queue, 1)
    assert turn.rep == 2 and queue.makeups == (1,)
    turn, queue = r.next_turn(queue)
    assert (turn.rep, turn.kind) == (1, r.MAKEUP)
    assert r.next_turn(queue)[0].rep == 3


def test_position_in_line():
    queue = q(1, 2, 3, last=1, makeups=(3,))
    assert [r.position_of(queue, rep) for rep in (1, 2, 3)] == [4, 2, 1]
    assert r.position_of(r.set_status(queue, 2, r.ABSENT), 2) is None
    assert r.peek(queue, 4) == [3, 2, 3, 1]


# ---------------------------------------------------------------- fairness over a simulated month

@settings(max_examples=150, deadline=None)
@given(n_reps=st.integers(1, 8), per_day=st.lists(st.integers(0, 25), min_size=WORKING_DAYS,
                                                   max_size=WORKING_DAYS))
def test_fairness_over_a_month_every_rep_within_one_turn(n_reps, per_day):
    """No exceptions: over a month of working days, every rep on duty gets turns within ±1."""
    order = REPS[:n_reps]
    counts: Counter = Counter()
    prev = None
    for n in per_day:
        queue = r.new_day(order, previous_order=prev.order if prev else (), previous_last=prev.last if prev else None)
        served, prev = serve(queue, n)
        counts.update(served)
    turns = [counts[rep] for rep in order]
    assert max(turns) - min(turns) <= 1
    assert sum(turns) == sum(per_day)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), n_reps=st.integers(2, 8))
def test_fairness_with_assigned_duties_make_ups_honoured(data, n_reps):
    """Reps sent out on assigned duties get every skipped turn back once at the desk again: at the month's
    end (everyone back, enough walk-ins to serve the make-ups), turns are still within ±1."""
    order = REPS[:n_reps]
    counts: Counter = Counter()
    prev = None
    for _day in range(WORKING_DAYS):
        queue = r.new_day(order, previous_order=prev.order if prev else (), previous_last=prev.last if prev else None)
        events = data.draw(st.lists(st.one_of(st.just(("walk_in", 0)), st.tuples(st.just("out"), st.sampled_from(order)),
                                              st.tuples(st.just("back"), st.sampled_from(order))), max_size=30))
        for kind, rep in events:
            if kind == "walk_in":
                try:
                    turn, queue = r.next_turn(queue)
                except r.NoRepAvailable:
                    continue
                counts[turn.rep] += 1
            else:
                queue = r.set_status(queue, rep, r.OUT if kind == "out" else r.PRESENT)
        # end of the day: everyone back, the make-ups owed are served by the day's last walk-ins
        for rep in order:
            queue = r.set_status(queue, rep, r.PRESENT)
        while queue.makeups:
            turn, queue = r.next_turn(queue)
            assert turn.kind == r.MAKEUP
            counts[turn.rep] += 1
        # …and the round in progress is completed, as a month's walk-ins would
        while True:
            following = r.next_turn(queue)[0].rep
            if following == order[0] or queue.last is None:
                break
            turn, queue = r.next_turn(queue)
            counts[turn.rep] += 1
        prev = queue
    turns = [counts[rep] for rep in order]
    assert max(turns) - min(turns) <= 1, counts


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n_reps=st.integers(2, 8))
def test_absentees_lose_exactly_the_turns_that_came_while_absent(data, n_reps):
    """Between two turns of a rep who stays at the desk, every other rep at the desk all along gets
    exactly one turn; an absent rep's skipped turns are lost, never made up."""
    order = REPS[:n_reps]
    queue = r.new_day(order)
    trace = []  # (rep served, set of reps present before the turn)
    for _ in range(data.draw(st.integers(0, 60))):
        if data.draw(st.booleans()):
            rep = data.draw(st.sampled_from(order))
            queue = r.set_status(queue, rep, data.draw(st.sampled_from([r.PRESENT, r.ABSENT])))
            continue
        present = {rep for rep in order if queue.present(rep)}
        try:
            turn, queue = r.next_turn(queue)
        except r.NoRepAvailable:
            assert not present
            continue
        assert turn.kind == r.ROTATION and turn.rep in present and not queue.makeups
        for lost in turn.lost:
            assert lost not in present
        trace.append((turn.rep, present))
    for i, (rep, _) in enumerate(trace):
        nxt = next((j for j in range(i + 1, len(trace)) if trace[j][0] == rep), None)
        if nxt is None:
            continue
        window = trace[i + 1:nxt]
        always = set(order)
        for _, present in trace[i:nxt + 1]:
            always &= present
        if rep not in always:
            continue
        served = Counter(s for s, _ in window)
        for other in always - {rep}:
            assert served[other] == 1, (rep, other, trace)


@given(order=st.lists(st.sampled_from(REPS), min_size=1, max_size=8, unique=True),
       prev=st.lists(st.sampled_from(REPS), min_size=0, max_size=8, unique=True), data=st.data())
def test_new_day_starts_with_a_rep_on_duty(order, prev, data):
    last = data.draw(st.one_of(st.none(), st.sampled_from(REPS)))
    queue = r.new_day(order, previous_order=tuple(prev), previous_last=last)
    assert queue.order == tuple(order) and (queue.last is None or queue.last in order)
    first = r.next_turn(queue)[0].rep
    if last in order:
        assert first == order[(order.index(last) + 1) % len(order)]
    elif last in prev and any(rep in order for rep in prev):
        follow = [rep for rep in prev[prev.index(last) + 1:] + prev[:prev.index(last) + 1] if rep in order]
        assert first == follow[0]


@given(order=st.lists(st.sampled_from(REPS), min_size=1, max_size=8, unique=True), data=st.data())
def test_refusal_never_hands_the_customer_back_to_the_refused_rep(order, data):
    queue = r.new_day(order)
    refused = data.draw(st.sampled_from(order))
    try:
        turn, after = r.refuse(queue, refused)
    except r.NoRepAvailable:
        assert order == [refused]
        return
    assert turn.rep != refused and after.makeups[0] == refused
