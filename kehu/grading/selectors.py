"""Every read of grading. Policies are configuration: anyone signed in may read the active ones (the
grade names appear on customer pages); drafts and history of versions need GRADING_MANAGE."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from kehu.access.roles import Perm, Scope
from kehu.customers.selectors import customer_get
from kehu.errors import Forbidden, NotFound
from kehu.grading.models import (
    CustomerGrade,
    GradeHistory,
    GradingPolicy,
    GradingRun,
    Movement,
    ServicePolicy,
)

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


@dataclass(frozen=True)
class ServiceLevel:
    """What a customer's grade earns; None in a figure means the company default applies."""

    policy_name: str
    grade: str
    dedicated_manager: bool
    complaint_sla_working_days: int | None
    service_request_sla_working_days: int | None
    inspection_cycle_days: int | None
    visit_every_days: int | None
    response_priority: int
    resource_priority: int


SERVICE_FIELDS = ("policy_name", "grade", "dedicated_manager", "complaint_sla_working_days",
                  "service_request_sla_working_days", "inspection_cycle_days", "visit_every_days",
                  "response_priority", "resource_priority")


def service_policy_for(customer_id: int) -> ServiceLevel | None:
    """The service level of a customer: the service policy of its current grade (under any policy name);
    when grades under several policies map to one, the one with the best response priority wins. One
    query. For other apps (complaint SLA, inspection cycle, visits); the caller has already checked that
    its user may see the customer."""
    grades = CustomerGrade.objects.filter(customer_id=customer_id, policy_name=OuterRef("policy_name"),
                                          grade=OuterRef("grade"))
    row = (ServicePolicy.objects.filter(Exists(grades))
           .order_by("response_priority", "resource_priority", "policy_name").values(*SERVICE_FIELDS).first())
    return ServiceLevel(**row) if row else None


def service_policy_list(*, actor, policy_name: str | None = None):
    """Every grade's service policy, for those who set them (GRADING_MANAGE; the page and the API agree).
    Other apps read a customer's level through service_policy_for."""
    _require_manage(actor)
    qs = ServicePolicy.objects.all()
    return qs.filter(policy_name=policy_name) if policy_name else qs


HAND_SCORE_HISTORY = 50


def customer_hand_scores(*, actor, customer_id: int) -> tuple:
    """A customer's hand scores (人工评分) within the actor's scope (404 outside): the dimensions the
    active scorecard / key-account policies score by hand, each with its latest score (or None), and
    the history of changes (the audit entries, newest first: who, when, from → to)."""
    from kehu.audit.models import AuditEntry
    from kehu.grading.models import HandScore
    from kehu.grading.services import hand_dimensions

    customer = customer_get(actor=actor, customer_id=customer_id)
    latest = {s.dimension: s for s in HandScore.objects.filter(customer_id=customer.pk).select_related("scored_by")}
    dims = [{**d, "current": latest.pop(d["key"], None)} for d in hand_dimensions()]
    # Scores of dimensions no active policy uses any more stay visible (read-only).
    retired = sorted(latest.values(), key=lambda s: s.dimension)
    history = list(AuditEntry.objects.filter(object_type=customer._meta.label_lower, object_id=str(customer.pk),
                                             action="grading.hand_score.set").select_related("actor")
                   .order_by("-at", "-id")[:HAND_SCORE_HISTORY])
    return customer, dims, retired, history


def service_policy_table(*, actor) -> tuple[list[dict], list]:
    """Every active policy with each of its grades (highest first) and the grade's service policy (or
    None); service policies of grades no active policy has any more are listed under ``orphans``."""
    from kehu.grading.kinds import KINDS, ConfigError

    _require_manage(actor)
    rows = {(s.policy_name, s.grade): s for s in ServicePolicy.objects.all()}
    table = []
    for policy in GradingPolicy.objects.filter(state="active").order_by("name"):
        kind = KINDS.get(policy.kind)
        try:
            levels = list(reversed(kind.levels(kind.validate(policy.config)))) if kind else []
        except ConfigError:
            levels = []
        table.append({"policy": policy, "grades": [{"grade": g, "service": rows.pop((policy.name, g), None)}
                                                   for g in levels]})
    orphans = sorted(rows.values(), key=lambda s: (s.policy_name, s.grade))
    return table, orphans


def pending_override_requests(grades) -> dict[int, object]:
    """The open approval request (override or renewal, chain grade_override) of each of these grade rows:
    grade id → request. One query."""
    from django.contrib.contenttypes.models import ContentType

    from kehu.approvals.models import ApprovalRequest, RequestStatus

    ids = [str(g.pk) for g in grades]
    if not ids:
        return {}
    qs = ApprovalRequest.objects.filter(content_type=ContentType.objects.get_for_model(CustomerGrade),
                                        object_id__in=ids, chain__code="grade_override",
                                        status__in=[RequestStatus.PENDING, RequestStatus.RETURNED])
    return {int(r.object_id): r for r in qs}


# ---------------------------------------------------------------- service levels of many customers at once
# The same rule as service_policy_for, for lists: one query per page instead of one per row.

# A row without a service level sorts after every graded one (priorities are 1–9).
NO_PRIORITY = 10


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


def service_levels_ranked() -> dict[tuple[str, str], tuple[int, ServiceLevel]]:
    """{(policy name, grade): (rank, service level)} of every service policy, rank 0 the best by
    service_levels_for's rule (response priority, then resource priority, then policy name): for a caller that
    reads many customers' grades itself (one pass) and keeps, per customer, the level of lowest rank."""
    rows = (ServicePolicy.objects.order_by("response_priority", "resource_priority", "policy_name")
            .values(*SERVICE_FIELDS))
    return {(row["policy_name"], row["grade"]): (rank, ServiceLevel(**row)) for rank, row in enumerate(rows)}


def service_levels_for(customer_ids) -> dict[int, ServiceLevel]:
    """{customer id: service level} for a page of customers in two queries (their grades, then those
    grades' service policies), with service_policy_for's rule: the best response priority, then resource
    priority, then policy name wins."""
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
