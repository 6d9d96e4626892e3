"""The grading API (/api/v1/grading/…): policies, preview, activation and runs (GRADING_MANAGE); a
customer's grades and service level (in scope); service policies; movements. Parse → call → shape."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status

from kehu.grading import selectors, services
from kehu.grading.kinds import KINDS

router = Router(tags=["grading"])

KindT = Literal[tuple(KINDS)]  # type: ignore[valid-type]
AsOfT = dt.date


class PolicyIn(Schema):
    name: str = Field(..., max_length=100)
    kind: KindT
    config: dict[str, Any]
    description: str = Field("", max_length=500)
    active_from: dt.date | None = Field(None, ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))


class PolicyOut(Schema):
    id: int
    name: str
    kind: str
    version: int
    state: str
    active_from: dt.date | None
    description: str
    config: dict[str, Any]


class AsOfIn(Schema):
    as_of: dt.date | None = Field(None, ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31),
                                  description="Review date; default: the end of last month.")


class MovementOut(Schema):
    from_grade: str = Field(..., alias="from")
    to: str
    count: int


class SampleOut(Schema):
    customer_id: int
    name: str
    from_grade: str = Field(..., alias="from")
    to: str
    explanation: dict[str, Any]


class PreviewOut(Schema):
    policy_id: int
    as_of: dt.date
    customers: int
    changed: int
    lost: int
    movements: list[MovementOut]
    sample: list[SampleOut]


class RunOut(Schema):
    id: int
    policy_id: int
    as_of: dt.date
    trigger: str
    status: str
    customers: int
    changed: int
    error: str


class GradeOut(Schema):
    policy_name: str
    grade: str
    previous_grade: str
    graded_at: dt.datetime
    override_reason: str
    explanation: dict[str, Any]


class HistoryOut(Schema):
    policy_name: str
    as_of: dt.date
    grade: str
    previous_grade: str
    movement: str
    reason: str
    created_at: dt.datetime
    explanation: dict[str, Any]


class ServiceLevelOut(Schema):
    policy_name: str
    grade: str
    dedicated_manager: bool
    complaint_sla_working_days: int | None
    service_request_sla_working_days: int | None
    inspection_cycle_days: int | None
    visit_every_days: int | None
    response_priority: int
    resource_priority: int


class CustomerGradesOut(Schema):
    customer_id: int
    grades: list[GradeOut]
    history: list[HistoryOut]
    service: ServiceLevelOut | None


class ServicePolicyIn(Schema):
    policy_name: str = Field(..., min_length=1, max_length=100)
    grade: str = Field(..., min_length=1, max_length=40)
    dedicated_manager: bool = False
    complaint_sla_working_days: int | None = Field(None, ge=1, le=3660)
    service_request_sla_working_days: int | None = Field(None, ge=1, le=3660)
    inspection_cycle_days: int | None = Field(None, ge=1, le=3660)
    visit_every_days: int | None = Field(None, ge=1, le=3660)
    response_priority: int = Field(3, ge=1, le=9)
    resource_priority: int = Field(3, ge=1, le=9)


class ServicePolicyOut(ServicePolicyIn):
    id: int


class MovementRowOut(Schema):
    as_of: dt.date
    policy_name: str
    department: str
    up: int
    down: int
    new: int
    lost: int
    override: int


class MovementFilters(Schema):
    policy: str | None = Field(None, max_length=100)


def _policy(p) -> dict:
    return {"id": p.pk, "name": p.name, "kind": p.kind, "version": p.version, "state": p.state,
            "active_from": p.active_from, "description": p.description, "config": p.config}


def _run(r) -> dict:
    return {"id": r.pk, "policy_id": r.policy_id, "as_of": r.as_of, "trigger": r.trigger, "status": r.status,
            "customers": r.customers, "changed": r.changed, "error": r.error}


@router.get("/grading/policies", response=list[PolicyOut], summary="Every version of every grading policy")
def policy_list(request):
    return [_policy(p) for p in selectors.policy_list(actor=request.user)[:500]]


@router.post("/grading/policies", response={201: PolicyOut}, summary="Save a draft (a new version of its name)")
def policy_create(request, payload: PolicyIn):
    return Status(201, _policy(services.policy_create(actor=request.user, **payload.dict())))


@router.get("/grading/policies/{policy_id}", response=PolicyOut, summary="One policy version")
def policy_get(request, policy_id: int):
    return _policy(selectors.policy_get(actor=request.user, policy_id=policy_id))


@router.post("/grading/policies/{policy_id}/preview", response=PreviewOut, by_alias=True,
             summary="What a run would change (writes nothing)")
def policy_preview(request, policy_id: int, payload: AsOfIn):
    return services.run_preview(actor=request.user, policy_id=policy_id, as_of=payload.as_of)


def _enqueue(run) -> None:
    from django.db import transaction

    from kehu.grading.tasks import grading_run_task

    transaction.on_commit(lambda: grading_run_task(run.pk))


@router.post("/grading/policies/{policy_id}/activate", response={202: RunOut},
             summary="Activate a draft and start its first run")
def policy_activate(request, policy_id: int, payload: AsOfIn):
    run = services.policy_activate_and_run(actor=request.user, policy_id=policy_id, as_of=payload.as_of)
    _enqueue(run)
    return Status(202, _run(run))


class ScheduleIn(Schema):
    active_from: dt.date = Field(..., ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31),
                                 description="The day this version takes effect (after today)")


@router.post("/grading/policies/{policy_id}/schedule", response=PolicyOut,
             summary="Schedule a draft to take effect at a later date (the worker activates it that day)")
def policy_schedule(request, policy_id: int, payload: ScheduleIn):
    from kehu.grading import activation

    return _policy(activation.policy_schedule(actor=request.user, policy_id=policy_id,
                                              active_from=payload.active_from))


@router.post("/grading/policies/{policy_id}/unschedule", response=PolicyOut,
             summary="Cancel a schedule: the version is a draft again")
def policy_unschedule(request, policy_id: int):
    from kehu.grading import activation

    return _policy(activation.policy_unschedule(actor=request.user, policy_id=policy_id))


@router.post("/grading/policies/{policy_id}/runs", response={202: RunOut}, summary="Regrade now (active policy)")
def run_start(request, policy_id: int, payload: AsOfIn):
    run = services.run_start(actor=request.user, policy_id=policy_id, as_of=payload.as_of)
    _enqueue(run)
    return Status(202, _run(run))


@router.get("/grading/policies/{policy_id}/runs", response=list[RunOut], summary="Recent runs of a policy")
def run_list(request, policy_id: int):
    selectors.policy_get(actor=request.user, policy_id=policy_id)  # an unknown policy is 404, not an empty list
    return [_run(r) for r in selectors.run_list(actor=request.user, policy_id=policy_id)]


@router.get("/grading/customers/{customer_id}", response=CustomerGradesOut,
            summary="A customer's grades, their history with explanations, and its service level")
def customer_grades(request, customer_id: int):
    customer, grades, history = selectors.customer_grades(actor=request.user, customer_id=customer_id)
    level = selectors.service_policy_for(customer.pk)
    return {"customer_id": customer.pk, "grades": grades, "history": history,
            "service": level.__dict__ if level else None}


@router.get("/grading/service-policies", response=list[ServicePolicyOut], summary="What each grade earns")
def service_policy_list(request):
    return list(selectors.service_policy_list(actor=request.user)[:500])


@router.post("/grading/service-policies", response=ServicePolicyOut,
             summary="Set what a grade earns (create or replace)")
def service_policy_set(request, payload: ServicePolicyIn):
    return services.service_policy_set(actor=request.user, **payload.dict())


@router.delete("/grading/service-policies/{service_policy_id}", response={204: None},
               summary="Remove a grade's service policy")
def service_policy_delete(request, service_policy_id: int):
    services.service_policy_delete(actor=request.user, service_policy_id=service_policy_id)
    return Status(204, None)


@router.get("/grading/movements", response=list[MovementRowOut],
            summary="Up / down / new / lost per review date, policy and department (in scope)")
def movements(request, filters: Query[MovementFilters]):
    return selectors.movement_summary(actor=request.user, policy_name=filters.policy)


class OverrideIn(Schema):
    policy_name: str = Field(..., min_length=1, max_length=100)
    grade: str = Field(..., min_length=1, max_length=40)
    reason: str = Field(..., min_length=1, max_length=500)


class OverrideOut(Schema):
    approval_request_id: int
    status: str


@router.post("/grading/customers/{customer_id}/overrides", response={202: OverrideOut},
             summary="Ask to set a customer's grade by hand, with a reason (approval; holds until the next review)")
def override_request(request, customer_id: int, payload: OverrideIn):
    req = services.override_request(actor=request.user, customer_id=customer_id, **payload.dict())
    return Status(202, {"approval_request_id": req.pk, "status": req.status})


class RenewIn(Schema):
    policy_name: str = Field(..., min_length=1, max_length=100)
    reason: str = Field(..., min_length=1, max_length=500)


@router.post("/grading/customers/{customer_id}/overrides/renew", response={202: OverrideOut},
             summary="Ask to keep an overridden grade through the next review, with a reason (approval)")
def override_renew(request, customer_id: int, payload: RenewIn):
    req = services.override_renew_request(actor=request.user, customer_id=customer_id, **payload.dict())
    return Status(202, {"approval_request_id": req.pk, "status": req.status})


class HandScoreOut(Schema):
    dimension: str
    group: str
    policies: list[str]
    score: Decimal | None
    note: str
    scored_by: str | None
    scored_at: dt.datetime | None


class HandScoreChangeOut(Schema):
    dimension: str
    from_score: str | None = Field(None, alias="from")
    to: str
    note: str
    by: str
    at: dt.datetime


class HandScoresOut(Schema):
    customer_id: int
    dimensions: list[HandScoreOut]
    history: list[HandScoreChangeOut]


class HandScoreIn(Schema):
    dimension: str = Field(..., min_length=1, max_length=40)
    score: Decimal = Field(..., ge=0, le=100, decimal_places=2)
    note: str = Field("", max_length=200)


class HandScoresIn(Schema):
    scores: list[HandScoreIn] = Field(..., min_length=1, max_length=50)


def _hand_scores(actor, customer_id: int) -> dict:
    customer, dims, retired, history = selectors.customer_hand_scores(actor=actor, customer_id=customer_id)

    def shape(key, group, policies, cur):
        return {"dimension": key, "group": group, "policies": policies,
                "score": cur.score if cur else None, "note": cur.note if cur else "",
                "scored_by": cur.scored_by.get_username() if cur and cur.scored_by else None,
                "scored_at": cur.scored_at if cur else None}

    rows = [shape(d["key"], d["group"], d["policies"], d["current"]) for d in dims]
    rows += [shape(s.dimension, "", [], s) for s in retired]
    changes = [{"dimension": e.changes.get("dimension", ""), "from": e.changes.get("from"),
                "to": e.changes.get("to", ""), "note": e.changes.get("note", ""), "by": e.actor_name, "at": e.at}
               for e in history]
    return {"customer_id": customer.pk, "dimensions": rows, "history": changes}


@router.get("/grading/customers/{customer_id}/scores", response=HandScoresOut, by_alias=True,
            summary="A customer's hand scores (strategy, interaction, potential …) with who scored them and when")
def hand_scores(request, customer_id: int):
    return _hand_scores(request.user, customer_id)


@router.put("/grading/customers/{customer_id}/scores", response=HandScoresOut, by_alias=True,
            summary="Score dimensions by hand, 0–100 (all or none; each change audited)")
def hand_scores_set(request, customer_id: int, payload: HandScoresIn):
    from django.db import transaction

    with transaction.atomic():
        for item in payload.scores:
            services.hand_score_set(actor=request.user, customer_id=customer_id, dimension=item.dimension,
                                    score=item.score, note=item.note)
    return _hand_scores(request.user, customer_id)
