"""The complaint procedure's transition map (pure)."""

import itertools

import pytest

from kehu.service_desk import workflow

HAPPY_PATH = ["judge", "investigate", "assign", "propose", "solution_approved", "answer", "return_visit",
              "evaluate", "close"]


def test_the_procedure_runs_from_recorded_to_closed_in_the_policy_order():
    """record → judge → investigate → assign → propose → approved → answer → return visit → evaluate → close."""
    state = workflow.RECORDED
    for action in HAPPY_PATH:
        state = workflow.next_state(state, action)
    assert state == workflow.CLOSED


@pytest.mark.parametrize(("state", "action"), [
    (s, a) for s, a in itertools.product(workflow.STATES, workflow.TRANSITIONS)
    if s not in workflow.TRANSITIONS[a][0]
])
def test_every_jump_outside_the_procedure_is_refused(state, action):
    """No step may be skipped or repeated out of order (e.g. answering before the solution is approved)."""
    with pytest.raises(workflow.IllegalTransition):
        workflow.next_state(state, action)


def test_a_sent_back_solution_returns_to_the_responsible_person():
    """A rejected or returned solution goes back to "assigned" to be proposed again."""
    assert workflow.next_state(workflow.SOLUTION_PROPOSED, "solution_sent_back") == workflow.ASSIGNED


def test_a_closed_complaint_allows_no_user_action():
    assert workflow.allowed_actions(workflow.CLOSED) == []
