"""The complaint procedure as an allowed-transition map (ORM-free). 谁受理、谁跟进、谁回复:
record → judge nature → investigate cause → assign the responsible person → propose a solution →
solution approved (through the approval engine) → answer the customer → return visit → summarise and
evaluate → close. Any other move is illegal."""

from __future__ import annotations

RECORDED = "recorded"
JUDGED = "judged"
INVESTIGATING = "investigating"
ASSIGNED = "assigned"
SOLUTION_PROPOSED = "solution_proposed"
SOLUTION_APPROVED = "solution_approved"
ANSWERED = "answered"
RETURN_VISITED = "return_visited"
EVALUATED = "evaluated"
CLOSED = "closed"

STATES = [RECORDED, JUDGED, INVESTIGATING, ASSIGNED, SOLUTION_PROPOSED, SOLUTION_APPROVED, ANSWERED,
          RETURN_VISITED, EVALUATED, CLOSED]
OPEN_STATES = [s for s in STATES if s != CLOSED]
# The SLA clock (处理时间) runs until the handling result is told to the customer (answered); the
# return visit and the summary run on their own follow-up deadline, never an SLA breach.
SLA_STATES = STATES[:STATES.index(ANSWERED)]
FOLLOWUP_STATES = [ANSWERED, RETURN_VISITED, EVALUATED]

# action → (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "judge": (frozenset({RECORDED}), JUDGED),
    "investigate": (frozenset({JUDGED}), INVESTIGATING),
    "assign": (frozenset({INVESTIGATING, ASSIGNED}), ASSIGNED),
    "propose": (frozenset({ASSIGNED}), SOLUTION_PROPOSED),
    # driven by the approval engine's outcome, never by a user directly
    "solution_approved": (frozenset({SOLUTION_PROPOSED}), SOLUTION_APPROVED),
    "solution_sent_back": (frozenset({SOLUTION_PROPOSED}), ASSIGNED),
    "answer": (frozenset({SOLUTION_APPROVED}), ANSWERED),
    "return_visit": (frozenset({ANSWERED}), RETURN_VISITED),
    "evaluate": (frozenset({RETURN_VISITED}), EVALUATED),
    "close": (frozenset({EVALUATED}), CLOSED),
}
USER_ACTIONS = ["judge", "investigate", "assign", "propose", "answer", "return_visit", "evaluate", "close"]


class IllegalTransition(Exception):
    def __init__(self, action: str, state: str):
        super().__init__(f"{action} is not allowed from {state}")
        self.action, self.state = action, state


def next_state(state: str, action: str) -> str:
    """The state ``action`` leads to from ``state``; IllegalTransition if the procedure forbids it."""
    rule = TRANSITIONS.get(action)
    if rule is None or state not in rule[0]:
        raise IllegalTransition(action, state)
    return rule[1]


def allowed_actions(state: str) -> list[str]:
    return [a for a in USER_ACTIONS if state in TRANSITIONS[a][0]]
