"""客户经理制 (000 2.2, issue 11 "dedicated account manager required"): a grade whose service policy says
``dedicated_manager`` must have an account manager of its own — the customer's owner is an active user of a
role in settings.KEHU_GRADING_DEDICATED_ROLES (default: account managers). The customers of such grades whose
owner is not (a manager, an administrator, a departed user …) are counted here, in the actor's data scope, for
those who may assign owners (Perm.CUSTOMER_ASSIGN): the workbench's to-do (workbench.py)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q

from kehu.access.roles import Perm
from kehu.grading.models import CustomerGrade, ServicePolicy


def without_dedicated_manager(*, actor) -> list[dict]:
    """[{"policy_name", "grade", "n"}] for each grade requiring a dedicated account manager that has customers in
    the actor's scope without one; [] for those who may not assign owners. Two queries."""
    from kehu.customers.selectors import customer_base

    if not actor.has_kehu_perm(Perm.CUSTOMER_ASSIGN):
        return []
    tiers = Q()
    for policy_name, grade in ServicePolicy.objects.filter(dedicated_manager=True).values_list("policy_name", "grade"):
        tiers |= Q(policy_name=policy_name, grade=grade)
    if not tiers:
        return []
    served = Q(owner__is_active=True, owner__role__in=list(settings.KEHU_GRADING_DEDICATED_ROLES))
    unserved = customer_base(actor=actor).exclude(served).values("pk")
    return list(CustomerGrade.objects.filter(tiers, customer__in=unserved).values("policy_name", "grade")
                .annotate(n=Count("customer_id")).order_by("policy_name", "grade"))
