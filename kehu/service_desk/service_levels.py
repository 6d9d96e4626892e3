"""What a customer's grade earns in the service desk (差异化服务, 000 2.2; REQUIREMENTS §3, §5).

One customer's service level is read through ``kehu.grading.selectors.service_policy_for`` (the one
selector of grading). A list of complaints or requests shows each row's response priority: reading
the selector per row would be one query per row, so grading's ``response_priorities`` answers a whole page
in one query with the selector's rule (the best response priority among the customer's grades' service
policies wins), and ``response_priority_expression`` is the same figure as an SQL expression, to sort a
list by it."""

from __future__ import annotations

# The rule lives in grading's selectors (one place); these names are re-exported for the desk.
from kehu.grading.selectors import (  # noqa: F401
    NO_PRIORITY,
    ServiceLevel,
    response_priorities,
    response_priority_expression,
    service_levels_for,
    service_policy_for,
)


def service_level(customer_id: int | None) -> ServiceLevel | None:
    """The customer's service level, or None (no customer, no grade, or a grade without a service policy)."""
    return service_policy_for(customer_id) if customer_id else None


def with_priorities(rows, *, attr: str = "response_priority") -> list:
    """Each row (a complaint or request with ``customer_id``) with its customer's response priority set
    as ``attr`` (None without a service level); one query for all the rows."""
    rows = list(rows)
    if rows and all(hasattr(r, attr) for r in rows):  # already annotated (a list sorted by priority)
        for r in rows:
            setattr(r, attr, None if getattr(r, attr) in (None, NO_PRIORITY) else getattr(r, attr))
        return rows
    found = response_priorities(r.customer_id for r in rows)
    for r in rows:
        setattr(r, attr, found.get(r.customer_id))
    return rows
