"""The service-request procedure as an allowed-transition map (ORM-free): open → accepted → in
progress → resolved → closed once the customer confirmed; cancelled from any state before resolution.
A resolved request can be reopened (the customer is not satisfied), and the result can be told to the
customer while it is resolved (``inform``, which an emergency needs before it may close)."""

from __future__ import annotations

OPEN = "open"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CLOSED = "closed"
CANCELLED = "cancelled"

STATES = [OPEN, ACCEPTED, IN_PROGRESS, RESOLVED, CLOSED, CANCELLED]
FINAL_STATES = [CLOSED, CANCELLED]
ACTIVE_STATES = [s for s in STATES if s not in FINAL_STATES]
# While the request is in one of these the SLA clock runs (resolved waits for the customer, not us).
SLA_STATES = [OPEN, ACCEPTED, IN_PROGRESS]

# action → (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({OPEN}), ACCEPTED),
    "start": (frozenset({ACCEPTED}), IN_PROGRESS),
    "resolve": (frozenset({IN_PROGRESS}), RESOLVED),
    "reopen": (frozenset({RESOLVED}), IN_PROGRESS),
    "inform": (frozenset({RESOLVED}), RESOLVED),
    "close": (frozenset({RESOLVED}), CLOSED),
    "cancel": (frozenset({OPEN, ACCEPTED, IN_PROGRESS}), CANCELLED),
}
ACTIONS = list(TRANSITIONS)


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
    return [a for a in ACTIONS if state in TRANSITIONS[a][0]]
