"""Reads of inspections, scoped like the customers they belong to (the customer's owner / department;
roles with the whole company in scope see all). An inspector also sees the plans and visits assigned
to them. Reading needs a service permission (complaint handling or inspection management)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import ROLES, Perm
from kehu.access.scopes import scope_q
from kehu.errors import BadRequest, Forbidden, NotFound
from kehu.pagination import Page, _decode, paginate
from kehu.service_desk.inspections.models import (
    InspectionChecklist,
    InspectionChecklistItem,
    InspectionPlan,
    InspectionReport,
    InspectionVisit,
    VisitState,
)

PLAN_ORDERINGS = {"id": int, "next_due": dt.date}
VISIT_ORDERINGS = {"id": int, "due_date": dt.date, "scheduled_date": dt.date}
CHECKLIST_ORDERINGS = {"id": int, "name": str}
READ_PERMS = (Perm.COMPLAINT_HANDLE, Perm.INSPECTION_MANAGE)


def can_read(actor) -> bool:
    return bool(actor and actor.is_authenticated and any(actor.has_kehu_perm(p) for p in READ_PERMS))


def require_read(actor) -> None:
    if not can_read(actor):
        raise Forbidden(_("You are not allowed to see inspections."))


def require_manage(actor) -> None:
    if not (actor and actor.is_authenticated and actor.has_kehu_perm(Perm.INSPECTION_MANAGE)):
        raise Forbidden(_("Only those who manage inspections may do this."))


def _scope(actor, *, as_inspector: bool = True) -> Q:
    """Rows hanging off a customer in the actor's scope, or (unless ``as_inspector`` is off, as for
    managing plans) assigned to the actor as inspector."""
    q = scope_q(actor, owner_field="customer__owner", department_field="customer__department")
    if q and as_inspector:  # an empty Q means every row
        q |= Q(inspector_id=actor.pk)
    return q & Q(customer__deleted_at__isnull=True)


def _check_cursor(cursor: str | None, ordering: str, orderings: dict) -> None:
    """paginate() passes date cursor values through unchecked: refuse a malformed one here (400)."""
    if not cursor or orderings.get(ordering.lstrip("-")) is not dt.date:
        return
    value, _last = _decode(cursor)
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(_("The cursor is not valid."), fields={"cursor": [_("Malformed cursor.")]}) from exc


# ---------------------------------------------------------------- checklists

def checklist_list(*, actor, active: bool | None = None, ordering: str = "name", limit: int | None = None,
                   cursor: str | None = None) -> Page:
    """Checklists (the same for everyone who may read inspections), each with its items."""
    require_read(actor)
    qs = InspectionChecklist.objects.prefetch_related(
        Prefetch("items", queryset=InspectionChecklistItem.objects.order_by("position", "id")))
    if active is not None:
        qs = qs.filter(active=active)
    return paginate(qs, ordering=ordering or "name", allowed=CHECKLIST_ORDERINGS, limit=limit, cursor=cursor)


def checklist_get(*, actor, checklist_id: int) -> InspectionChecklist:
    require_read(actor)
    checklist = InspectionChecklist.objects.prefetch_related(
        Prefetch("items", queryset=InspectionChecklistItem.objects.order_by("position", "id"))).filter(
        pk=checklist_id).first()
    if checklist is None:
        raise NotFound(_("Checklist not found."))
    return checklist


def checklist_choices(*, actor) -> QuerySet[InspectionChecklist]:
    require_read(actor)
    return InspectionChecklist.objects.filter(active=True).order_by("name")


# ---------------------------------------------------------------- plans

def plan_base(*, actor, as_inspector: bool = True) -> QuerySet[InspectionPlan]:
    require_read(actor)
    return InspectionPlan.objects.filter(_scope(actor, as_inspector=as_inspector))


def plan_get(*, actor, plan_id: int, for_update: bool = False, manage: bool = False) -> InspectionPlan:
    """One plan in scope, or NotFound. ``manage``: only by the customer's scope (being a plan's
    inspector lets one see it, not change it)."""
    qs = plan_base(actor=actor, as_inspector=not manage).select_related("customer", "checklist", "inspector")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    plan = qs.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("Inspection plan not found."))
    return plan


def plan_list(*, actor, customer: int | None = None, active: bool | None = None, inspector: int | None = None,
              importance: str | None = None, ordering: str = "next_due", limit: int | None = None,
              cursor: str | None = None) -> Page:
    """A page of plans in scope, soonest next inspection first by default."""
    qs = plan_base(actor=actor).select_related("customer", "checklist", "inspector")
    filters = {"customer_id": customer, "active": active, "inspector_id": inspector, "importance": importance}
    qs = qs.filter(**{k: v for k, v in filters.items() if v not in (None, "")})
    ordering = ordering or "next_due"
    _check_cursor(cursor, ordering, PLAN_ORDERINGS)
    return paginate(qs, ordering=ordering, allowed=PLAN_ORDERINGS, limit=limit, cursor=cursor)


# ---------------------------------------------------------------- visits

def visit_base(*, actor, as_inspector: bool = True) -> QuerySet[InspectionVisit]:
    require_read(actor)
    return InspectionVisit.objects.filter(_scope(actor, as_inspector=as_inspector))


def visit_get(*, actor, visit_id: int, for_update: bool = False, manage: bool = False) -> InspectionVisit:
    """One visit in scope, or NotFound (``manage``: as for plan_get)."""
    qs = visit_base(actor=actor, as_inspector=not manage).select_related("customer", "inspector", "plan",
                                                                         "plan__checklist")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    visit = qs.filter(pk=visit_id).first()
    if visit is None:
        raise NotFound(_("Inspection visit not found."))
    return visit


def visit_detail(*, actor, visit_id: int) -> InspectionVisit:
    """One visit in scope with its report (``report_or_none``) and checklist items, in bounded queries."""
    visit = visit_get(actor=actor, visit_id=visit_id)
    visit.report_or_none = InspectionReport.objects.select_related("filed_by").filter(visit_id=visit.pk).first()
    visit.checklist_items = list(visit.plan.checklist.items.order_by("position", "id"))
    return visit


def visit_list(*, actor, customer: int | None = None, state: str | None = None, overdue: bool | None = None,
               inspector: int | None = None, plan: int | None = None, due_from: dt.date | None = None,
               due_to: dt.date | None = None, ordering: str = "due_date", limit: int | None = None,
               cursor: str | None = None) -> Page:
    """A page of visits in scope. ``overdue=True``: open visits the sweep flagged as past due."""
    qs = visit_base(actor=actor).select_related("customer", "inspector", "plan__checklist")
    if state == "closed":  # cancelled or missed
        qs = qs.filter(state__in=[VisitState.CANCELLED, VisitState.MISSED])
    elif state:
        qs = qs.filter(state=state)
    if overdue is True:
        qs = qs.filter(state=VisitState.SCHEDULED, overdue_at__isnull=False)
    elif overdue is False:
        qs = qs.filter(overdue_at__isnull=True)
    filters = {"customer_id": customer, "inspector_id": inspector, "plan_id": plan,
               "due_date__gte": due_from, "due_date__lte": due_to}
    qs = qs.filter(**{k: v for k, v in filters.items() if v not in (None, "")})
    ordering = ordering or "due_date"
    _check_cursor(cursor, ordering, VISIT_ORDERINGS)
    return paginate(qs, ordering=ordering, allowed=VISIT_ORDERINGS, limit=limit, cursor=cursor)


def inspector_choices(*, actor) -> QuerySet[User]:
    """Active users who may inspect: those who handle service work (complaint handlers)."""
    roles = [name for name, spec in ROLES.items() if Perm.COMPLAINT_HANDLE in spec.perms]
    return User.objects.filter(is_active=True, role__in=roles).select_related("department").order_by(
        "department__path", "id")


def managers_of(user: User, cache: dict | None = None) -> list[User]:
    """Managers of ``user``'s department, or of the nearest department above that has one."""
    path = user.department.path if user.department_id else ""
    key = path
    if cache is not None and key in cache:
        return cache[key]
    found: list[User] = []
    for dept_id in [int(x) for x in path.strip("/").split("/") if x][::-1]:
        found = list(User.objects.filter(department_id=dept_id, role="manager", is_active=True))
        if found:
            break
    if cache is not None:
        cache[key] = found
    return found
