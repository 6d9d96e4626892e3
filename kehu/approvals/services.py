"""Every write of the approval engine. Each function takes the acting user first, runs in one
transaction with the request row locked (two approvers acting at once resolve one after the other:
the second finds the step or request already decided and gets a 409), records a history event and
an audit entry, and notifies people once the transaction has committed."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import ROLES, Perm, Scope
from kehu.approvals import hooks, selectors
from kehu.approvals.models import (
    ApprovalChain,
    ApprovalEvent,
    ApprovalMeeting,
    ApprovalRequest,
    ApprovalStep,
    ApprovalTask,
    Decision,
    Delegation,
    RequestStatus,
    StepKind,
    StepMode,
    TaskStatus,
)
from kehu.audit.services import audit_record
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.notifications.services import notification_settle, notify

CHAIN_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
MAX_STEPS = 20
MAX_DELEGATION_HOPS = 5
DECISION_OUTCOME = {Decision.APPROVE: RequestStatus.APPROVED, Decision.REJECT: RequestStatus.REJECTED,
                    Decision.RETURN: RequestStatus.RETURNED}
DECISION_TASK_STATUS = {Decision.APPROVE: TaskStatus.APPROVED, Decision.REJECT: TaskStatus.REJECTED,
                        Decision.RETURN: TaskStatus.RETURNED}


# ---------------------------------------------------------------- who is asked

def _line(department_path: str | None) -> list[int]:
    """Department ids from a department up to the root, nearest first ("/1/4/9/" → [9, 4, 1])."""
    return [int(part) for part in (department_path or "").strip("/").split("/") if part][::-1]


def _line_roles() -> tuple[str, ...]:
    return tuple(r for r in settings.KEHU_APPROVAL_LINE_ROLES if r in ROLES)


def _active_others(requester):
    qs = User.objects.filter(is_active=True).order_by("id")
    return qs.exclude(pk=requester.pk) if requester is not None else qs


def line_levels(*, requester, department=None, roles: tuple[str, ...] | None = None,
                above=None) -> list[tuple[int, list[User]]]:
    """The levels of the department line (nearest first, up to the root) that have active users with
    one of ``roles`` (the business-manager roles by default) — not counting the requester — each
    with those users. ``above``: only the levels above that department id."""
    roles = roles or _line_roles()
    line = _line(department.path if department is not None else None)
    if above is not None:
        line = line[line.index(above) + 1:] if above in line else []
    by_dept: dict[int, list[User]] = {}
    for user in _active_others(requester).filter(role__in=roles, department_id__in=line):
        by_dept.setdefault(user.department_id, []).append(user)
    return [(d, by_dept[d]) for d in line if d in by_dept]


def step_assignees(step: ApprovalStep, *, requester, department=None, above=None) -> list[User]:
    """Who is asked at ``step`` for a request by ``requester`` — never the requester: nobody approves
    their own request. A role whose data scope is the whole company (executive, finance, …) is found
    company-wide; another role (manager) in the nearest department at or above the requester's that
    has active users with it, else the nearest business manager up the line (KEHU_APPROVAL_LINE_ROLES,
    never an administrator). A line_managers step: the next level of the line with a business manager
    (above the department ``above``). A meeting step: who may record the meeting (its role). Empty
    when nobody can be asked; the caller refuses then."""
    active = _active_others(requester)
    if step.kind == StepKind.USERS:
        return list(active.filter(pk__in=step.users.values("pk")))
    if step.kind == StepKind.LINE_MANAGERS:
        levels = line_levels(requester=requester, department=department, above=above)
        return levels[0][1] if levels else []
    if step.role not in ROLES:
        return []
    if ROLES[step.role].scope == Scope.ALL:
        return list(active.filter(role=step.role))
    levels = line_levels(requester=requester, department=department, roles=(step.role,))
    if not levels and step.role in _line_roles():
        levels = line_levels(requester=requester, department=department)
    return levels[0][1] if levels else []


def _route(user_id: int, *, requester_id: int, now: dt.datetime) -> tuple[int, int | None]:
    """Follow active delegations from ``user_id``: (who gets the task, on whose behalf, or None).
    A delegation to the requester is not followed (they would approve their own request)."""
    current, seen = user_id, {user_id}
    for _hop in range(MAX_DELEGATION_HOPS):
        nxt = (Delegation.objects.filter(delegator_id=current, starts_at__lte=now, ends_at__gt=now,
                                         delegate__is_active=True)
               .order_by("-starts_at", "-id").values_list("delegate_id", flat=True).first())
        if nxt is None or nxt in seen or nxt == requester_id:
            break
        seen.add(nxt)
        current = nxt
    return current, (user_id if current != user_id else None)


def _request_link(req: ApprovalRequest) -> str:
    return reverse("approvals:request", args=[req.pk])


def _event(req: ApprovalRequest, *, actor, action: str, at: dt.datetime, step_order: int | None = None,
           comment: str = "", on_behalf_of_id: int | None = None) -> None:
    ApprovalEvent.objects.create(
        request=req, at=at, actor=actor if actor and actor.pk else None,
        actor_name=str(actor)[:150] if actor and actor.pk else "system", on_behalf_of_id=on_behalf_of_id,
        action=action, round=req.round, step_order=step_order, comment=comment,
    )


def _no_approver(req: ApprovalRequest, step: ApprovalStep) -> Conflict:
    where = req.department.full_name() if req.department_id else _("no department")
    return Conflict(_("Nobody can approve step %(n)d (%(step)s) of “%(chain)s”: no one with that role up the "
                      "department line of %(where)s. Ask an administrator to assign a manager.")
                    % {"n": step.order, "step": step.name or step.get_kind_display(), "chain": req.chain.name,
                       "where": where}, code="no_approver")


def _activate(req: ApprovalRequest, step: ApprovalStep, *, now: dt.datetime, above=None) -> list[ApprovalTask]:
    """Open ``step`` in the request's current round: one task per resolved assignee (routed through
    delegations), each assignee notified. In a line_managers step, the level after ``above`` (the
    nearest one first). Nobody to ask: 409. The caller saves the request."""
    assignees = step_assignees(step, requester=req.requester, department=req.department, above=above)
    if not assignees:
        raise _no_approver(req, step)
    level = assignees[0].department_id if step.kind == StepKind.LINE_MANAGERS else None
    tasks, taken = [], set()
    for user in assignees:
        assignee_id, on_behalf_of = _route(user.pk, requester_id=req.requester_id, now=now)
        if assignee_id in taken:
            continue
        taken.add(assignee_id)
        tasks.append(ApprovalTask(request=req, step=step, step_order=step.order, step_mode=step.mode,
                                  round=req.round, assignee_id=assignee_id, delegated_from_id=on_behalf_of,
                                  line_department_id=level))
    ApprovalTask.objects.bulk_create(tasks)
    req.current_step = step.order
    people = User.objects.in_bulk([t.assignee_id for t in tasks])
    title = (_("Managers' meeting to decide: %(t)s") if step.kind == StepKind.MEETING
             else _("Approval needed: %(t)s"))
    for task in tasks:
        notify(user=people[task.assignee_id], title=title % {"t": req.title},
               body=_("Requested by %(who)s.") % {"who": req.requester}, link=_request_link(req))
    return tasks


def _locked_request(actor, request_id: int) -> ApprovalRequest:
    """The request row, locked for the rest of the transaction; NotFound when the actor cannot see it."""
    req = (ApprovalRequest.objects.select_for_update(of=("self",))
           .select_related("chain", "requester", "department", "content_type").filter(pk=request_id).first())
    if req is None or not selectors.can_see_request(actor, req):
        raise NotFound(_("Approval request not found."))
    return req


def _finish(req: ApprovalRequest, status: str, *, now: dt.datetime) -> None:
    """Close (or return) the request, let the target's app react in this transaction, and tell the
    requester once it commits."""
    req.status = status
    req.decided_at = None if status == RequestStatus.RETURNED else now
    req.save()
    hooks.dispatch_outcome(req, status)
    titles = {RequestStatus.APPROVED: _("Approved: %(t)s"), RequestStatus.REJECTED: _("Rejected: %(t)s"),
              RequestStatus.RETURNED: _("Returned for changes: %(t)s")}
    if status in titles:
        notify(user=req.requester, title=titles[status] % {"t": req.title}, link=_request_link(req))


def _skip_pending(req: ApprovalRequest, *, now: dt.datetime, step_order: int | None = None) -> int:
    qs = req.tasks.filter(round=req.round, status=TaskStatus.PENDING)
    if step_order is not None:
        qs = qs.filter(step_order=step_order)
    # The skipped approvers' "approval needed" notices no longer ask anything of them.
    notification_settle(user_ids=list(qs.values_list("assignee_id", flat=True)), link=_request_link(req))
    return qs.update(status=TaskStatus.SKIPPED, acted_at=now)


# ---------------------------------------------------------------- chains

def step_reach_problem(*, kind: str, role: str = "", users: list | None = None) -> str | None:
    """Why a step as defined could be approved by nobody with today's users (a message), or None.
    A role step needs an active user with the role (or, for a business-manager role, any business
    manager: the step then asks the nearest one up the line); a line step any business manager; a
    meeting an active user of the role that records it."""
    active = User.objects.filter(is_active=True)
    if kind == StepKind.USERS:
        return None if users else _("Name one or more active users.")
    if kind == StepKind.LINE_MANAGERS:
        if not active.filter(role__in=_line_roles()).exists():
            return _("Nobody has a business-manager role (%(roles)s) to approve up the line.") % {
                "roles": ", ".join(str(ROLES[r].label) for r in _line_roles())}
        return None
    if role not in ROLES:
        return _("Unknown role “%(r)s”.") % {"r": role}
    roles = (role, *_line_roles()) if kind == StepKind.ROLE_IN_LINE and role in _line_roles() else (role,)
    if not active.filter(role__in=roles).exists():
        return _("No active user has the role “%(r)s”: nobody could approve this step.") % {"r": ROLES[role].label}
    return None


def _clean_steps(steps: list[dict]) -> list[dict]:
    if not steps:
        raise Invalid(_("A chain needs at least one step."), fields={"steps": [_("Required.")]})
    if len(steps) > MAX_STEPS:
        raise Invalid(_("A chain has at most %(n)d steps.") % {"n": MAX_STEPS}, fields={"steps": [_("Too many.")]})
    cleaned = []
    for i, raw in enumerate(steps, start=1):
        key = f"steps.{i - 1}"
        kind, mode = raw.get("kind"), raw.get("mode") or StepMode.ANY
        if kind not in StepKind.values:
            raise Invalid(_("Step %(n)d: unknown kind.") % {"n": i}, fields={f"{key}.kind": [_("Unknown kind.")]})
        if mode not in StepMode.values:
            raise Invalid(_("Step %(n)d: unknown mode.") % {"n": i}, fields={f"{key}.mode": [_("Unknown mode.")]})
        role, users = (raw.get("role") or "").strip(), []
        if kind == StepKind.MEETING:
            role = role or "executive"
        if kind in (StepKind.ROLE_IN_LINE, StepKind.MEETING):
            if role not in ROLES:
                raise Invalid(_("Step %(n)d: unknown role “%(r)s”.") % {"n": i, "r": role},
                              fields={f"{key}.role": [_("Unknown role.")]})
        elif kind == StepKind.USERS:
            role = ""
            ids = list(dict.fromkeys(raw.get("users") or []))
            users = list(User.objects.filter(pk__in=ids, is_active=True)) if ids else []
            if not ids or len(users) != len(ids):
                raise Invalid(_("Step %(n)d: name one or more active users.") % {"n": i},
                              fields={f"{key}.users": [_("Unknown or inactive user.")]})
        else:
            role = ""
        problem = step_reach_problem(kind=kind, role=role, users=users)
        if problem:
            raise Invalid(_("Step %(n)d: %(problem)s") % {"n": i, "problem": problem},
                          fields={f"{key}.role": [problem]}, code="no_approver")
        cleaned.append({"order": i, "kind": kind, "mode": mode, "role": role, "users": users,
                        "name": (raw.get("name") or "").strip()[:100]})
    return cleaned


@transaction.atomic
def approval_chain_define(*, actor, code: str, name: str, steps: list[dict], active: bool = True) -> ApprovalChain:
    """Create or replace a chain (administrators). ``steps``: dicts with kind ("role_in_line" with a
    role, or "users" with user ids), mode ("any" / "all") and an optional name, in order. A chain
    with open requests keeps its steps until they are decided (409)."""
    if not actor.has_kehu_perm(Perm.APPROVAL_MANAGE):
        raise Forbidden(_("Only an administrator may define approval chains."))
    code, name = (code or "").strip(), (name or "").strip()
    if not CHAIN_CODE_RE.match(code):
        raise Invalid(_("The code is lower-case letters, digits, dots, dashes and underscores."),
                      fields={"code": [_("Not a valid code.")]})
    if not name or len(name) > 200:
        raise Invalid(_("A name of at most 200 characters is required."), fields={"name": [_("Required.")]})
    cleaned = _clean_steps(steps)
    chain = ApprovalChain.objects.select_for_update().filter(code=code).first()
    created = chain is None
    if created:
        chain = ApprovalChain.objects.create(code=code, name=name, active=active)
    else:
        if chain.requests.filter(status__in=[RequestStatus.PENDING, RequestStatus.RETURNED]).exists():
            raise Conflict(_("This chain has open requests; change it once they are decided."), code="chain_in_use")
        chain.name, chain.active = name, active
        chain.save()
        chain.steps.all().delete()
    for spec in cleaned:
        step = ApprovalStep.objects.create(chain=chain, order=spec["order"], kind=spec["kind"], mode=spec["mode"],
                                           role=spec["role"], name=spec["name"])
        if spec["users"]:
            step.users.set(spec["users"])
    audit_record(actor=actor, action="approval_chain.create" if created else "approval_chain.update", obj=chain,
                 changes={"steps": [{"kind": s["kind"], "role": s["role"], "mode": s["mode"],
                                     "users": [u.get_username() for u in s["users"]]} for s in cleaned],
                          "active": active})
    return chain


# ---------------------------------------------------------------- requests and decisions

@transaction.atomic
def approval_request(*, actor, chain_code: str, target, title: str, payload: dict | None = None,
                     line_of=None) -> ApprovalRequest:
    """Ask for approval of ``target`` (any saved model instance) through the chain ``chain_code``;
    the first step's assignees get tasks. One open request per target and chain (409 otherwise);
    a first step that resolves to nobody is refused (409), never routed to an administrator.
    ``line_of``: whose department line the steps walk up (e.g. the complaint's accountable person;
    the requester by default)."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise Forbidden(_("You are not allowed to do this."))
    if target is None or getattr(target, "pk", None) is None:
        raise Invalid(_("Only a saved record can be approved."), fields={"target": [_("Required.")]})
    title = (title or "").strip()
    if not title:
        raise Invalid(_("A title is required."), fields={"title": [_("Required.")]})
    chain = ApprovalChain.objects.filter(code=chain_code, active=True).first()
    if chain is None:
        raise Invalid(_("There is no active approval chain “%(c)s”.") % {"c": chain_code},
                      fields={"chain": [_("Unknown chain.")]}, code="unknown_chain")
    first = chain.steps.order_by("order").first()
    if first is None:
        raise Invalid(_("The approval chain “%(c)s” has no steps.") % {"c": chain_code},
                      fields={"chain": [_("No steps.")]})
    content_type = ContentType.objects.get_for_model(target)
    if ApprovalRequest.objects.filter(content_type=content_type, object_id=str(target.pk), chain=chain,
                                      status__in=[RequestStatus.PENDING, RequestStatus.RETURNED]).exists():
        raise Conflict(_("This is already awaiting approval."), code="already_requested")
    now = timezone.now()
    try:
        with transaction.atomic():
            req = ApprovalRequest.objects.create(
                chain=chain, requester=actor, department_id=(line_of or actor).department_id,
                content_type=content_type,
                object_id=str(target.pk), title=title[:200], payload=payload or {}, current_step=first.order,
            )
    except IntegrityError as exc:  # a concurrent request for the same target won the race
        raise Conflict(_("This is already awaiting approval."), code="already_requested") from exc
    _event(req, actor=actor, action="submitted", at=now)
    tasks = _activate(req, first, now=now)
    req.save()
    audit_record(actor=actor, action="approval.request", obj=req,
                 changes={"chain": chain.code, "target": f"{req.target_label}:{target.pk}",
                          "assignees": sorted(t.assignee_id for t in tasks)})
    return req


@transaction.atomic
def approval_decide(*, actor, request_id: int, decision: str, comment: str = "") -> ApprovalRequest:
    """Approve, reject or return the actor's pending task. A step in mode "any" completes on its first
    approval (the others' tasks are skipped), in mode "all" on the last; completing the last step
    approves the request. Reject and return need a comment and end the round at once."""
    req = _locked_request(actor, request_id)
    if decision not in Decision.values:
        raise Invalid(_("Decide approve, reject or return."), fields={"decision": [_("Unknown decision.")]})
    if req.status != RequestStatus.PENDING:
        raise Conflict(_("This request is no longer pending (%(s)s).") % {"s": req.get_status_display()},
                       code="closed")
    task = req.tasks.filter(round=req.round, step_order=req.current_step, assignee_id=actor.pk,
                            status=TaskStatus.PENDING).first()
    if task is None:
        if req.tasks.filter(round=req.round, assignee_id=actor.pk).exists():
            raise Conflict(_("This step has already been decided."), code="already_decided")
        raise Forbidden(_("This request is not waiting for your decision."))
    comment = (comment or "").strip()
    if decision != Decision.APPROVE and not comment:
        raise Invalid(_("Say why in a comment."), fields={"comment": [_("Required to reject or return.")]})
    step = req.chain.steps.filter(order=task.step_order).first()
    if step is not None and step.kind == StepKind.MEETING:
        raise Conflict(_("This step is decided in a managers' meeting: record the meeting and its decision."),
                       code="meeting_step")
    now = timezone.now()
    task.status, task.comment, task.acted_at = DECISION_TASK_STATUS[decision], comment, now
    task.save(update_fields=["status", "comment", "acted_at"])
    notification_settle(user_ids=[actor.pk], link=_request_link(req))
    _event(req, actor=actor, action=task.status, at=now, step_order=task.step_order, comment=comment,
           on_behalf_of_id=task.delegated_from_id)
    changes: dict = {"decision": decision, "step": task.step_order, "round": req.round}
    if task.delegated_from_id:
        changes["on_behalf_of"] = task.delegated_from_id
    if decision == Decision.APPROVE and task.step_mode == StepMode.ALL and req.tasks.filter(
            round=req.round, step_order=task.step_order, status=TaskStatus.PENDING).exists():
        changes["waiting"] = True
    else:
        _advance(req, step=step, step_order=task.step_order, decision=decision, now=now, changes=changes,
                 level=task.line_department_id)
    changes["status"] = req.status
    audit_record(actor=actor, action=f"approval.{decision}", obj=req, changes=changes)
    return req


def _advance(req: ApprovalRequest, *, step, step_order: int, decision: str, now: dt.datetime, changes: dict,
             level: int | None = None) -> None:
    """A step (or one level of a line_managers step) is decided: reject / return end the round, an
    approval opens the line's next level, else the next step, else approves the request."""
    if decision != Decision.APPROVE:
        _skip_pending(req, now=now)
        _finish(req, DECISION_OUTCOME[decision], now=now)
        return
    _skip_pending(req, now=now, step_order=step_order)
    if step is not None and step.kind == StepKind.LINE_MANAGERS and level is not None and step_assignees(
            step, requester=req.requester, department=req.department, above=level):
        _activate(req, step, now=now, above=level)
        req.save()
        changes["next_level"] = req.tasks.filter(round=req.round, step_order=step_order,
                                                 status=TaskStatus.PENDING).values_list(
            "line_department_id", flat=True).first()
        return
    nxt = req.chain.steps.filter(order__gt=step_order).order_by("order").first()
    if nxt is None:
        _finish(req, RequestStatus.APPROVED, now=now)
    else:
        _activate(req, nxt, now=now)
        req.save()
        changes["next_step"] = nxt.order


def can_record_meeting(actor, req: ApprovalRequest, step: ApprovalStep | None) -> bool:
    """Who may record the meeting of a pending meeting step: the step's role (the general manager by
    default), whoever holds one of its tasks, or an administrator of approvals."""
    if step is None or step.kind != StepKind.MEETING or req.status != RequestStatus.PENDING:
        return False
    if actor is None or not actor.is_authenticated or not actor.is_active or actor.pk == req.requester_id:
        return False
    if actor.role == step.role or actor.has_kehu_perm(Perm.APPROVAL_MANAGE):
        return True
    return req.tasks.filter(round=req.round, step_order=step.order, assignee_id=actor.pk,
                            status=TaskStatus.PENDING).exists()


@transaction.atomic
def approval_meeting_record(*, actor, request_id: int, held_on: dt.date, participants: list[int], minutes: str,
                            decision: str) -> ApprovalMeeting:
    """Record the managers' meeting (经理办公会) that decided the request's current meeting step: its
    date, participants, minutes (required) and decision. The decision is the step's outcome: approve
    moves on (or approves the request), reject and return end the round, with the same outcome
    hooks as any decision."""
    req = _locked_request(actor, request_id)
    if req.status != RequestStatus.PENDING:
        raise Conflict(_("This request is no longer pending (%(s)s).") % {"s": req.get_status_display()},
                       code="closed")
    step = req.chain.steps.filter(order=req.current_step).first()
    if step is None or step.kind != StepKind.MEETING:
        raise Conflict(_("The current step is not decided in a meeting."), code="not_meeting_step")
    if not can_record_meeting(actor, req, step):
        raise Forbidden(_("Only %(role)s or an administrator may record this meeting.")
                        % {"role": ROLES[step.role].label if step.role in ROLES else step.role})
    if decision not in Decision.values:
        raise Invalid(_("Decide approve, reject or return."), fields={"decision": [_("Unknown decision.")]})
    minutes = (minutes or "").strip()
    if not minutes:
        raise Invalid(_("The meeting's minutes are required."), fields={"minutes": [_("Required.")]})
    if held_on is None or held_on > timezone.localdate():
        raise Invalid(_("Give the date the meeting was held (not in the future)."),
                      fields={"held_on": [_("Not valid.")]})
    ids = list(dict.fromkeys(participants or []))
    people = list(User.objects.filter(pk__in=ids, is_active=True))
    if not ids or len(people) != len(ids):
        raise Invalid(_("Name the meeting's participants (active users)."),
                      fields={"participants": [_("Unknown or inactive user.")]})
    now = timezone.now()
    meeting = ApprovalMeeting.objects.create(request=req, round=req.round, step_order=step.order, held_on=held_on,
                                             minutes=minutes, decision=decision, recorded_by=actor, recorded_at=now)
    meeting.participants.set(people)
    own = req.tasks.filter(round=req.round, step_order=step.order, assignee_id=actor.pk,
                           status=TaskStatus.PENDING).first()
    if own is not None:
        own.status, own.comment, own.acted_at = DECISION_TASK_STATUS[decision], minutes[:2000], now
        own.save(update_fields=["status", "comment", "acted_at"])
    notification_settle(user_ids=[actor.pk], link=_request_link(req))
    _event(req, actor=actor, action="meeting_recorded", at=now, step_order=step.order,
           comment=f"{DECISION_TASK_STATUS[decision].label} · {held_on:%Y-%m-%d} · {minutes}"[:4000])
    changes: dict = {"decision": decision, "step": step.order, "round": req.round, "held_on": held_on.isoformat(),
                     "participants": sorted(p.pk for p in people)}
    _advance(req, step=step, step_order=step.order, decision=decision, now=now, changes=changes)
    changes["status"] = req.status
    audit_record(actor=actor, action="approval.meeting_record", obj=req, changes=changes)
    return meeting


@transaction.atomic
def approval_resubmit(*, actor, request_id: int, comment: str = "") -> ApprovalRequest:
    """The requester sends a returned request again: a new round from the first step."""
    req = _locked_request(actor, request_id)
    if req.requester_id != actor.pk:
        raise Forbidden(_("Only the requester may resubmit."))
    if req.status != RequestStatus.RETURNED:
        raise Conflict(_("Only a request returned for changes can be resubmitted."), code="not_returned")
    first = req.chain.steps.order_by("order").first()
    if first is None:
        raise Conflict(_("The approval chain has no steps any more."), code="no_approver")
    now = timezone.now()
    req.round += 1
    req.status = RequestStatus.PENDING
    _event(req, actor=actor, action="resubmitted", at=now, comment=(comment or "").strip())
    _activate(req, first, now=now)
    req.save()
    audit_record(actor=actor, action="approval.resubmit", obj=req, changes={"round": req.round})
    return req


@transaction.atomic
def approval_cancel(*, actor, request_id: int, comment: str = "") -> ApprovalRequest:
    """The requester withdraws an open (pending or returned) request."""
    req = _locked_request(actor, request_id)
    if req.requester_id != actor.pk:
        raise Forbidden(_("Only the requester may cancel."))
    if not req.is_open:
        raise Conflict(_("This request is already closed (%(s)s).") % {"s": req.get_status_display()}, code="closed")
    now = timezone.now()
    _skip_pending(req, now=now)
    _event(req, actor=actor, action="cancelled", at=now, comment=(comment or "").strip())
    _finish(req, RequestStatus.CANCELLED, now=now)
    audit_record(actor=actor, action="approval.cancel", obj=req, changes={"status": req.status})
    return req


# ---------------------------------------------------------------- delegation

@transaction.atomic
def delegation_set(*, actor, delegate_id: int, ends_at: dt.datetime, starts_at: dt.datetime | None = None,
                   reason: str = "") -> Delegation:
    """While away, the actor's approval tasks go to the delegate: new ones from ``starts_at`` (now by
    default), and the pending ones at once when the delegation starts now."""
    now = timezone.now()
    starts_at = starts_at or now
    delegate = User.objects.filter(pk=delegate_id, is_active=True).first()
    if delegate is None:
        raise Invalid(_("Choose an active user as delegate."), fields={"delegate": [_("Unknown or inactive user.")]})
    if delegate.pk == actor.pk:
        raise Invalid(_("You cannot delegate to yourself."), fields={"delegate": [_("Choose someone else.")]})
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise Invalid(_("Give times with a time zone."), fields={"ends_at": [_("Not valid.")]})
    if ends_at <= starts_at or ends_at <= now:
        raise Invalid(_("The delegation must end after it starts, and in the future."),
                      fields={"ends_at": [_("Must be later.")]})
    if Delegation.objects.filter(delegator_id=actor.pk, starts_at__lt=ends_at, ends_at__gt=starts_at).exists():
        raise Conflict(_("You already have a delegation in that period; end it first."), code="overlap")
    item = Delegation.objects.create(delegator=actor, delegate=delegate, starts_at=starts_at, ends_at=ends_at,
                                     reason=(reason or "").strip()[:200])
    moved = _hand_over(actor, delegate, now=now) if starts_at <= now else 0
    audit_record(actor=actor, action="delegation.set", obj=item,
                 changes={"delegate": delegate.get_username(), "starts_at": starts_at.isoformat(),
                          "ends_at": ends_at.isoformat(), "tasks_handed_over": moved})
    return item


def _hand_over(delegator, delegate, *, now: dt.datetime) -> int:
    """Move the delegator's pending tasks to the delegate (not where the delegate is the requester or
    already has a task in the same step)."""
    moved = 0
    tasks = (ApprovalTask.objects.select_related("request")
             .filter(assignee=delegator, status=TaskStatus.PENDING, request__status=RequestStatus.PENDING)
             .exclude(request__requester=delegate))
    for task in tasks:
        if ApprovalTask.objects.filter(request_id=task.request_id, round=task.round, step_order=task.step_order,
                                       assignee=delegate).exists():
            continue
        task.delegated_from_id = task.delegated_from_id or delegator.pk
        task.assignee = delegate
        task.save(update_fields=["assignee", "delegated_from"])
        _event(task.request, actor=delegator, action="delegated", at=now, step_order=task.step_order,
               comment=str(delegate))
        notify(user=delegate, title=_("Approval needed: %(t)s") % {"t": task.request.title},
               body=_("On behalf of %(who)s.") % {"who": delegator}, link=_request_link(task.request))
        moved += 1
    return moved


@transaction.atomic
def delegation_end(*, actor, delegation_id: int) -> Delegation:
    """End a delegation now (its delegator, or an administrator). Tasks already handed over stay with
    the delegate; new ones go to the delegator again."""
    qs = Delegation.objects.select_for_update()
    if not actor.has_kehu_perm(Perm.APPROVAL_MANAGE):
        qs = qs.filter(Q(delegator_id=actor.pk) | Q(delegate_id=actor.pk))
    item = qs.filter(pk=delegation_id).first()
    if item is None:
        raise NotFound(_("Delegation not found."))
    if item.delegator_id != actor.pk and not actor.has_kehu_perm(Perm.APPROVAL_MANAGE):
        raise Forbidden(_("Only the delegator may end a delegation."))
    now = timezone.now()
    if item.ends_at <= now:
        raise Conflict(_("This delegation has already ended."), code="ended")
    # One that never began ends as it would have started (the row stays, for the record).
    item.ends_at = now if item.starts_at < now else item.starts_at + dt.timedelta(microseconds=1)
    item.save(update_fields=["ends_at"])
    audit_record(actor=actor, action="delegation.end", obj=item, changes={"ends_at": item.ends_at.isoformat()})
    return item


# ---------------------------------------------------------------- reminders (worker)

def approval_remind_overdue(*, now: dt.datetime | None = None, older_than_hours: float | None = None) -> list[int]:
    """Remind the assignees of tasks pending longer than KEHU_APPROVAL_REMIND_HOURS (default 24), each
    task at most once per interval however many runs or workers. Returns the reminded task ids."""
    now = now or timezone.now()
    hours = settings.KEHU_APPROVAL_REMIND_HOURS if older_than_hours is None else older_than_hours
    cutoff = now - dt.timedelta(hours=float(hours))
    due_q = Q(status=TaskStatus.PENDING) & (Q(reminded_at__isnull=True) | Q(reminded_at__lte=cutoff))
    due = list(ApprovalTask.objects.filter(due_q, request__status=RequestStatus.PENDING, created_at__lte=cutoff)
               .order_by("id").values_list("id", flat=True)[:1000])
    reminded = []
    for task_id in due:
        with transaction.atomic():
            # The conditional update is the claim: a second run (or worker) finds nothing to do.
            if not ApprovalTask.objects.filter(due_q, pk=task_id).update(reminded_at=now):
                continue
            task = ApprovalTask.objects.select_related("request", "assignee").get(pk=task_id)
            _event(task.request, actor=None, action="reminded", at=now, step_order=task.step_order,
                   comment=str(task.assignee))
            notify(user=task.assignee, title=_("Reminder: approval waiting: %(t)s") % {"t": task.request.title},
                   body=_("Waiting since %(at)s.") % {"at": f"{timezone.localtime(task.created_at):%Y-%m-%d %H:%M}"},
                   link=_request_link(task.request))
            audit_record(actor=None, action="approval.remind", obj=task.request,
                         changes={"task": task.pk, "assignee": task.assignee.get_username()})
            reminded.append(task_id)
    return reminded
