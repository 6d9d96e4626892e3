"""Every read of the approval engine. A request is visible to its requester, its assignees (and the
people they act for), whoever may read all approvals, and managers whose department subtree holds
the requester's department; to anyone else it does not exist (NotFound)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm, Scope
from kehu.approvals.models import (
    ApprovalChain,
    ApprovalEvent,
    ApprovalMeeting,
    ApprovalRequest,
    ApprovalStep,
    ApprovalTask,
    Delegation,
    RequestStatus,
    TaskStatus,
)
from kehu.errors import NotFound
from kehu.pagination import Page, paginate

REQUEST_ORDERINGS = {"id": int, "created_at": dt.datetime, "updated_at": dt.datetime}
TASK_ORDERINGS = {"id": int, "created_at": dt.datetime}


def _active(actor) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def request_visible_q(actor) -> Q:
    """The filter of the requests the actor may see."""
    if not _active(actor):
        return Q(pk__in=[])
    if actor.has_kehu_perm(Perm.APPROVAL_READ_ALL):
        return Q()
    involved = ApprovalTask.objects.filter(Q(assignee_id=actor.pk) | Q(delegated_from_id=actor.pk),
                                           request_id=OuterRef("pk"))
    q = Q(requester_id=actor.pk) | Q(Exists(involved))
    if actor.role_spec.scope == Scope.SUBTREE:
        q |= Q(department_id__in=actor.department_subtree_ids())
    return q


def can_see_request(actor, req: ApprovalRequest) -> bool:
    """The rule of request_visible_q for one loaded request."""
    if not _active(actor):
        return False
    if actor.has_kehu_perm(Perm.APPROVAL_READ_ALL) or req.requester_id == actor.pk:
        return True
    if actor.role_spec.scope == Scope.SUBTREE and req.department_id in actor.department_subtree_ids():
        return True
    return req.tasks.filter(Q(assignee_id=actor.pk) | Q(delegated_from_id=actor.pk)).exists()


def _request_qs() -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.select_related("chain", "requester", "department", "content_type")


def request_get(*, actor, request_id: int) -> ApprovalRequest:
    """One visible request with its tasks, events (the full history) and chain steps, or NotFound."""
    req = (_request_qs().filter(request_visible_q(actor), pk=request_id)
           .prefetch_related(
               Prefetch("tasks", queryset=ApprovalTask.objects.select_related("assignee", "delegated_from",
                                                                              "line_department")
                        .order_by("round", "step_order", "id")),
               Prefetch("events", queryset=ApprovalEvent.objects.select_related("actor", "on_behalf_of")
                        .order_by("at", "id")),
               Prefetch("meetings", queryset=ApprovalMeeting.objects.select_related("recorded_by")
                        .prefetch_related("participants")),
               Prefetch("chain__steps", queryset=ApprovalStep.objects.order_by("order").prefetch_related("users")),
           ).first())
    if req is None:
        raise NotFound(_("Approval request not found."))
    return req


def request_list_mine(*, actor, status: str | None = None, ordering: str = "-id", limit: int | None = None,
                      cursor: str | None = None) -> Page:
    """A page of the requests the actor made."""
    qs = _request_qs().filter(requester_id=actor.pk) if _active(actor) else ApprovalRequest.objects.none()
    if status:
        qs = qs.filter(status=status)
    return paginate(qs, ordering=ordering, allowed=REQUEST_ORDERINGS, limit=limit, cursor=cursor)


def inbox_base(*, actor) -> QuerySet[ApprovalTask]:
    """The actor's tasks waiting for a decision."""
    if not _active(actor):
        return ApprovalTask.objects.none()
    return ApprovalTask.objects.filter(assignee_id=actor.pk, status=TaskStatus.PENDING,
                                       request__status=RequestStatus.PENDING)


def inbox_list(*, actor, ordering: str = "id", limit: int | None = None, cursor: str | None = None) -> Page:
    """A page of the actor's pending tasks, oldest first, each with its request."""
    qs = inbox_base(actor=actor).select_related("request", "request__requester", "request__chain",
                                                "request__content_type", "delegated_from", "step")
    return paginate(qs, ordering=ordering, allowed=TASK_ORDERINGS, limit=limit, cursor=cursor)


def inbox_count(*, actor) -> int:
    return inbox_base(actor=actor).count()


def chain_list(*, actor) -> QuerySet[ApprovalChain]:
    """Every chain with its steps (no secret to a signed-in user: it says who approves what)."""
    if not _active(actor):
        return ApprovalChain.objects.none()
    return ApprovalChain.objects.prefetch_related(
        Prefetch("steps", queryset=ApprovalStep.objects.order_by("order").prefetch_related("users"))).order_by("code")


def delegation_list(*, actor, now: dt.datetime | None = None) -> QuerySet[Delegation]:
    """The delegations the actor gave or received (an administrator sees all); with ``now``, only
    those not over yet."""
    if not _active(actor):
        return Delegation.objects.none()
    qs = Delegation.objects.select_related("delegator", "delegate")
    if not actor.has_kehu_perm(Perm.APPROVAL_MANAGE):
        qs = qs.filter(Q(delegator_id=actor.pk) | Q(delegate_id=actor.pk))
    if now is not None:
        qs = qs.filter(ends_at__gt=now)
    return qs.order_by("-starts_at", "-id")


def meetings_for(*, actor, target) -> QuerySet[ApprovalMeeting]:
    """The managers' meetings recorded about ``target`` (e.g. a complaint), in requests the actor can
    see, oldest first — for the target's own page."""
    from django.contrib.contenttypes.models import ContentType

    if not _active(actor) or getattr(target, "pk", None) is None:
        return ApprovalMeeting.objects.none()
    visible = ApprovalRequest.objects.filter(request_visible_q(actor),
                                             content_type=ContentType.objects.get_for_model(target),
                                             object_id=str(target.pk))
    return (ApprovalMeeting.objects.filter(request__in=visible).select_related("recorded_by", "request")
            .prefetch_related("participants").order_by("held_on", "id"))
