"""What a customer's grade earns in the service desk (差异化服务, 000 2.2; REQUIREMENTS §3, §5).

One customer's service level is read through ``kehu.grading.selectors.service_policy_for`` (the one
selector of grading). A list of complaints or requests shows each row's response priority: reading
the selector per row would be one query per row, so ``response_priorities`` answers a whole page in one
query with the selector's rule (the best response priority among the customer's grades' service
policies wins), and ``response_priority_expression`` is the same figure as an SQL expression, to sort a
list by it."""

from __future__ import annotations

from django.db.models import Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from kehu.grading.models import CustomerGrade, ServicePolicy
from kehu.grading.selectors import ServiceLevel, service_policy_for

# A row without a service level sorts after every graded one (priorities are 1–9).
NO_PRIORITY = 10


def service_level(customer_id: int | None) -> ServiceLevel | None:
    """The customer's service level, or None (no customer, no grade, or a grade without a service policy)."""
    return service_policy_for(customer_id) if customer_id else None


def response_priorities(customer_ids) -> dict[int, int]:
    """{customer id: response priority} for the customers that have a service level; one query."""
    ids = {pk for pk in customer_ids if pk}
    if not ids:
        return {}
    priority = (ServicePolicy.objects.filter(policy_name=OuterRef("policy_name"), grade=OuterRef("grade"))
                .values("response_priority")[:1])
    out: dict[int, int] = {}
    for customer_id, value in (CustomerGrade.objects.filter(customer_id__in=ids)
                               .annotate(priority=Subquery(priority)).values_list("customer_id", "priority")):
        if value is not None and value < out.get(customer_id, NO_PRIORITY):
            out[customer_id] = value
    return out


def response_priority_expression(customer_field: str = "customer_id"):
    """The response priority of the row's customer as an SQL expression (NO_PRIORITY when it has none):
    the best priority among the service policies of the customer's current grades."""
    graded = CustomerGrade.objects.filter(customer_id=OuterRef(OuterRef(customer_field)),
                                          policy_name=OuterRef("policy_name"), grade=OuterRef("grade"))
    best = (ServicePolicy.objects.filter(Exists(graded)).order_by("response_priority")
            .values("response_priority")[:1])
    return Coalesce(Subquery(best, output_field=IntegerField()), Value(NO_PRIORITY))


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


def service_levels_for(customer_ids) -> dict[int, ServiceLevel]:
    """{customer id: service level} for a page of customers in two queries (their grades, then those
    grades' service policies), with service_policy_for's rule: the best response priority, then resource
    priority, then policy name wins."""
    from kehu.grading.selectors import SERVICE_FIELDS

    ids = {pk for pk in customer_ids if pk}
    if not ids:
        return {}
    grades: dict[tuple[str, str], list[int]] = {}
    for cid, policy_name, grade in CustomerGrade.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "policy_name", "grade"):
        grades.setdefault((policy_name, grade), []).append(cid)
    if not grades:
        return {}
    names = {p for p, _g in grades}
    out: dict[int, ServiceLevel] = {}
    rows = (ServicePolicy.objects.filter(policy_name__in=names)
            .order_by("response_priority", "resource_priority", "policy_name").values(*SERVICE_FIELDS))
    for row in rows:
        for cid in grades.get((row["policy_name"], row["grade"]), ()):
            out.setdefault(cid, ServiceLevel(**row))  # rows come best first
    return out
