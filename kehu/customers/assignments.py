"""Who may open a customer's page because they are assigned to work on one of its records.

The inspector of an inspection plan, or the agent accountable for a complaint or a service request,
may need a customer's page outside their data scope (masked, read-only, audited). The apps that own
those records register a provider here; the customers app never imports their models::

    # kehu/<app>/customer_access.py, discovered by the customers app at start-up
    from kehu.customers.assignments import assignment_provider

    @assignment_provider("inspections")
    def inspector_customers(user) -> Q:  # a filter on Customer: customers this user is assigned to
        return Q(pk__in=InspectionPlan.objects.filter(inspector=user, active=True).values("customer_id"))
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

_PROVIDERS: dict[str, Callable] = {}


def assignment_provider(key: str):
    """Register ``fn(user) -> Q`` (a filter on Customer) under ``key``."""

    def wrap(fn):
        _PROVIDERS[key] = fn
        return fn

    return wrap


def assigned_via(user, customer_id: int) -> list[str]:
    """The keys of the providers through which ``user`` is assigned to customer ``customer_id`` (for the audit)."""
    from kehu.customers.models import Customer

    return [key for key, fn in _PROVIDERS.items() if Customer.objects.filter(fn(user), pk=customer_id).exists()]


def assigned_q(user) -> Q:
    """Customers the user is assigned to work on through any registered app (empty Q-false if none)."""
    q = Q(pk__in=[])
    for fn in _PROVIDERS.values():
        q |= fn(user)
    return q
