"""The agent accountable for an open complaint may open its customer's page (masked, read-only,
audited by the customers app) even outside their data scope: 谁受理、谁跟进、谁回复."""

from __future__ import annotations

from django.db.models import Q

from kehu.customers.assignments import assignment_provider


@assignment_provider("complaints")
def complaint_customers(user) -> Q:
    """Customers of the open complaints ``user`` is accountable for."""
    from kehu.service_desk.models import Complaint, open_q

    if user is None or not getattr(user, "pk", None):
        return Q(pk__in=[])
    return Q(pk__in=Complaint.objects.filter(open_q(), accountable_id=user.pk, customer_id__isnull=False)
             .values("customer_id"))
