"""Every read of grading. Policies are configuration: anyone signed in may read the active ones (the
grade names appear on customer pages); drafts and history of versions need GRADING_MANAGE."""

from __future__ import annotations

from django.db.models import Count
from django.utils.translation import gettext as _

from kehu.access.roles import Perm, Scope
from kehu.customers.selectors import customer_get
from kehu.errors import Forbidden, NotFound
from kehu.grading.models import CustomerGrade, GradeHistory, GradingPolicy, GradingRun, Movement

HISTORY_LIMIT = 100
MOVEMENT_ROWS = 500


def _require_manage(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.GRADING_MANAGE):
        raise Forbidden(_("Only an administrator or an executive may manage grading policies."))


def policy_list(*, actor, state: str | None = None):
    """Every version, newest first per name (administration)."""
    _require_manage(actor)
    qs = GradingPolicy.objects.select_related("created_by").order_by("name", "-version")
    if state:
        qs = qs.filter(state=state)
    return qs


def policy_get(*, actor, policy_id: int) -> GradingPolicy:
    _require_manage(actor)
    policy = GradingPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No such grading policy."))
    return policy


def run_list(*, actor, policy_id: int | None = None, limit: int = 20):
    _require_manage(actor)
    qs = GradingRun.objects.select_related("policy", "actor")
    if policy_id:
        qs = qs.filter(policy_id=policy_id)
    return qs[:limit]


def customer_grades(*, actor, customer_id: int) -> tuple:
    """A customer's current grades and their history (newest first), within the actor's scope (404 outside)."""
    customer = customer_get(actor=actor, customer_id=customer_id)
    grades = list(CustomerGrade.objects.filter(customer_id=customer.pk).select_related("policy")
                  .order_by("policy_name"))
    history = list(GradeHistory.objects.filter(customer_id=customer.pk).select_related("policy", "actor")
                   .order_by("-created_at", "-id")[:HISTORY_LIMIT])
    return customer, grades, history


def movement_summary(*, actor, policy_name: str | None = None, as_of=None) -> list[dict]:
    """Up / down / new / lost counts per period (as-of date), policy and department, in the actor's scope
    (the department recorded with each change)."""
    qs = GradeHistory.objects.exclude(movement=Movement.SAME)
    if actor.role_spec.scope != Scope.ALL:
        if actor.role_spec.scope == Scope.SUBTREE:
            qs = qs.filter(department_id__in=actor.department_subtree_ids())
        else:
            qs = qs.filter(customer__owner_id=actor.pk)
    if policy_name:
        qs = qs.filter(policy_name=policy_name)
    if as_of:
        qs = qs.filter(as_of=as_of)
    rows = (qs.values("as_of", "policy_name", "department_id", "department__name", "movement")
            .annotate(n=Count("id")).order_by("-as_of", "policy_name", "department__name"))
    table: dict[tuple, dict] = {}
    for row in rows:
        key = (row["as_of"], row["policy_name"], row["department_id"])
        item = table.setdefault(key, {"as_of": row["as_of"], "policy_name": row["policy_name"],
                                      "department": row["department__name"] or "",
                                      **{m: 0 for m in (Movement.UP, Movement.DOWN, Movement.NEW, Movement.LOST,
                                                         Movement.OVERRIDE)}})
        item[row["movement"]] += row["n"]
    return list(table.values())[:MOVEMENT_ROWS]
