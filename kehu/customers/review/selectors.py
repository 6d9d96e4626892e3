"""Reads of the periodic review, narrowed to the actor's scope: an item belongs to its assignee (and
their department's managers); a run is seen by review managers whose scope covers it or its items."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm, Scope
from kehu.access.scopes import scope_q
from kehu.customers.review.models import ItemState, ReviewItem, ReviewRun
from kehu.errors import BadRequest, Forbidden, NotFound
from kehu.pagination import Page, paginate

ITEM_ORDERINGS = {"id": int, "due_date": dt.date}
RUN_ORDERINGS = {"id": int}


def _require(actor, perm: str) -> None:
    if not actor.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


def item_scope(actor) -> Q:
    return scope_q(actor, owner_field="assignee", department_field="department")


def review_item_base(*, actor) -> QuerySet[ReviewItem]:
    """Review items the actor may see: their own; their scope's (subtree, all) only with the review
    permission. A data scope alone (the service desk's, finance's, the auditor's "all") does not open
    other people's review work, as the review pages do not."""
    if not actor.has_kehu_perm(Perm.REVIEW_MANAGE):
        return ReviewItem.objects.filter(assignee_id=actor.pk)
    return ReviewItem.objects.filter(item_scope(actor))


def review_item_get(*, actor, item_id: int, for_update: bool = False) -> ReviewItem:
    qs = review_item_base(actor=actor).select_related("customer", "assignee", "run")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    item = qs.filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("Review item not found."))
    return item


def review_item_list(*, actor, run: int | None = None, state: str | None = None, assignee: str | None = None,
                     overdue: bool | None = None, ordering: str = "due_date", limit: int | None = None,
                     cursor: str | None = None) -> Page:
    """A page of review items in scope; ``assignee`` is a user id or ``me``; ``overdue`` means open and
    past its due date (Asia/Shanghai)."""
    qs = review_item_base(actor=actor)
    if run:
        qs = qs.filter(run_id=run)
    if state:
        if state not in ItemState.values:
            raise BadRequest(_("Unknown state “%(s)s”.") % {"s": state}, fields={"state": [_("Unknown state.")]})
        qs = qs.filter(state=state)
    if assignee:
        if assignee == "me":
            qs = qs.filter(assignee_id=actor.pk)
        elif assignee.isdigit():
            qs = qs.filter(assignee_id=int(assignee))
        else:
            raise BadRequest(_("The assignee must be a user id or “me”."), fields={"assignee": [_("Not valid.")]})
    if overdue is not None:
        late = Q(state=ItemState.OPEN, due_date__lt=timezone.localdate())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    qs = qs.select_related("customer", "assignee", "department", "resolved_by")
    return paginate(qs, ordering=ordering or "due_date", allowed=ITEM_ORDERINGS, limit=limit, cursor=cursor)


def review_run_base(*, actor) -> QuerySet[ReviewRun]:
    """Runs a review manager may see: started within their scope, or holding items in it."""
    _require(actor, Perm.REVIEW_MANAGE)
    own = scope_q(actor, owner_field="started_by", department_field="department")
    if actor.role_spec.scope == Scope.ALL:
        return ReviewRun.objects.all()
    items = ReviewItem.objects.filter(item_scope(actor), run_id=OuterRef("pk"))
    return ReviewRun.objects.filter(own | Q(Exists(items)))


def review_run_get(*, actor, run_id: int) -> ReviewRun:
    run = review_run_base(actor=actor).select_related("started_by", "department").filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("Review run not found."))
    return run


def review_run_list(*, actor, limit: int | None = None, cursor: str | None = None) -> Page:
    qs = review_run_base(actor=actor).select_related("started_by", "department")
    return paginate(qs, ordering="-id", allowed=RUN_ORDERINGS, limit=limit, cursor=cursor)


def _counts(qs: QuerySet, today: dt.date) -> QuerySet:
    return qs.annotate(total=Count("id"), open=Count("id", filter=Q(state=ItemState.OPEN)),
                       overdue=Count("id", filter=Q(state=ItemState.OPEN, due_date__lt=today)))


def review_run_progress(*, actor, run: ReviewRun) -> dict:
    """Counts of the run's items in the actor's scope: overall, per department and per person
    (total / open / done / overdue), two grouped queries whatever the size."""
    today = timezone.localdate()
    items = ReviewItem.objects.filter(item_scope(actor), run=run)
    by_dept = list(_counts(items.values("department_id", "department__name"), today).order_by("department__name"))
    by_person = list(_counts(items.values("assignee_id", "assignee__display_name", "assignee__username",
                                          "department__name"), today).order_by("department__name",
                                                                                "assignee__username"))

    def shape(row: dict, **key) -> dict:
        return {**key, "total": row["total"], "open": row["open"], "done": row["total"] - row["open"],
                "overdue": row["overdue"]}

    departments = [shape(r, id=r["department_id"], name=r["department__name"] or "") for r in by_dept]
    people = [shape(r, id=r["assignee_id"], name=r["assignee__display_name"] or r["assignee__username"],
                    department=r["department__name"] or "") for r in by_person]
    total = sum(d["total"] for d in departments)
    opened = sum(d["open"] for d in departments)
    return {"total": total, "open": opened, "done": total - opened,
            "overdue": sum(d["overdue"] for d in departments), "departments": departments, "people": people}


def reassign_source_get(*, actor, user_id: int) -> User:
    """A user whose customers the actor may hand over (active or not), within the actor's scope."""
    qs = User.objects.select_related("department")
    scope = actor.role_spec.scope
    if scope == Scope.SUBTREE:
        qs = qs.filter(department_id__in=actor.department_subtree_ids())
    elif scope == Scope.OWN:
        qs = qs.filter(pk=actor.pk)
    user = qs.filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("User not found."))
    return user


def reassign_user_choices(*, actor) -> QuerySet[User]:
    """The users the reassignment form offers (sources: anyone in scope; targets are checked again)."""
    qs = User.objects.filter(role__in=["account_manager", "manager", "executive", "admin"])
    if actor.role_spec.scope == Scope.SUBTREE:
        qs = qs.filter(department_id__in=actor.department_subtree_ids())
    elif actor.role_spec.scope == Scope.OWN:
        qs = qs.filter(pk=actor.pk)
    return qs.select_related("department").order_by("department__path", "display_name", "username")
