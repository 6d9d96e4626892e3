"""Who may open a customer's page because of an inspection plan: its inspector (masked, read-only, audited;
see kehu.customers.assignments), even when the customer is outside the inspector's data scope."""

from __future__ import annotations

from django.db.models import Q

from kehu.customers.assignments import assignment_provider


@assignment_provider("inspections")
def inspector_customers(user) -> Q:
    """Customers with an active inspection plan that ``user`` inspects."""
    from kehu.service_desk.inspections.models import InspectionPlan

    return Q(pk__in=InspectionPlan.objects.filter(inspector_id=user.pk, active=True).values("customer_id"))
