"""The agent accountable for (or assigned to) an open service request may open its customer's page
(masked, read-only, audited by the customers app) even outside their data scope."""

from __future__ import annotations

from django.db.models import Q

from kehu.customers.assignments import assignment_provider


@assignment_provider("service_requests")
def service_request_customers(user) -> Q:
    """Customers of the open service requests ``user`` is accountable for or assigned to."""
    from kehu.service_desk.tickets import workflow
    from kehu.service_desk.tickets.models import ServiceTicket

    if user is None or not getattr(user, "pk", None):
        return Q(pk__in=[])
    return Q(pk__in=ServiceTicket.objects.filter(Q(accountable_id=user.pk) | Q(assignee_id=user.pk),
                                                 state__in=workflow.ACTIVE_STATES).values("customer_id"))
