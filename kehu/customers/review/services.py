"""Writes of the periodic review (定期复核): start a run, build its items set-based in batches (the
worker's part), resolve items. Each write audits in its own transaction."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers import selectors as customer_selectors
from kehu.customers.models import ChangeRecord, Customer
from kehu.customers.review import rules
from kehu.customers.review.models import (
    RESOLVED_STATES,
    CustomerReview,
    ItemState,
    ReviewItem,
    ReviewRun,
    RunState,
)
from kehu.customers.review.selectors import review_item_get
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)

SCAN_BATCH = 5000
MAX_STALE_MONTHS = 120
MAX_DUE_DAYS = 250


def _require(actor, perm: str) -> None:
    if not actor.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


def _due_date(days: int):
    """``days`` working days after today (Asia/Shanghai), by the working-day calendar (holidays and
    make-up days included)."""
    from kehu.workdays.selectors import calendar_get

    return calendar_get().add_working_days(timezone.localdate(), days)


@transaction.atomic
def review_run_start(*, actor, stale_months: int | None = None, due_days: int | None = None,
                     note: str = "") -> ReviewRun:
    """Start a review over the actor's scope; the worker builds the items after commit."""
    _require(actor, Perm.REVIEW_MANAGE)
    stale_months = rules.stale_months() if stale_months is None else stale_months
    due_days = rules.due_working_days() if due_days is None else due_days
    errors = {}
    if not 1 <= stale_months <= MAX_STALE_MONTHS:
        errors["stale_months"] = [_("Between 1 and %(n)d months.") % {"n": MAX_STALE_MONTHS}]
    if not 1 <= due_days <= MAX_DUE_DAYS:
        errors["due_days"] = [_("Between 1 and %(n)d working days.") % {"n": MAX_DUE_DAYS}]
    if errors:
        raise Invalid(_("The review parameters are not valid."), fields=errors)
    run = ReviewRun(started_by=actor, department_id=actor.department_id, stale_months=stale_months,
                    due_days=due_days, due_date=_due_date(due_days), note=(note or "").strip()[:200])
    run.full_clean(exclude=["started_by", "department"])
    run.total = customer_selectors.customer_base(actor=actor).count()
    run.save()
    audit_record(actor=actor, action="review_run.start", obj=run,
                 changes={"stale_months": stale_months, "due_days": due_days, "due_date": str(run.due_date),
                          "customers": run.total})
    from kehu.customers.review.tasks import review_run_build_task

    run_id = run.pk
    transaction.on_commit(lambda: review_run_build_task(run_id), robust=True)
    return run


def review_run_build(*, run_id: int) -> ReviewRun:
    """Scan the starter's customers in id batches and write one item per customer needing review.
    Each batch commits with its cursor, so a crash resumes where it stopped; a customer with an open
    item in an earlier run is left to that run."""
    run = ReviewRun.objects.select_related("started_by").get(pk=run_id)
    if run.state == RunState.DONE:
        return run
    ReviewRun.objects.filter(pk=run_id).update(state=RunState.RUNNING)
    starter = run.started_by
    cutoff = rules.months_before(run.created_at, run.stale_months)
    base = customer_selectors.customer_base(actor=starter)
    try:
        while True:
            rows = list(base.filter(pk__gt=run.cursor).order_by("pk").values(*rules.COLUMNS)[:SCAN_BATCH])
            if not rows:
                break
            _build_batch(run, rows, cutoff)
            if len(rows) < SCAN_BATCH:
                break
    except Exception as exc:
        log.exception("review run %s failed", run_id)
        ReviewRun.objects.filter(pk=run_id).update(state=RunState.FAILED, error=str(exc)[:2000])
        raise
    ReviewRun.objects.filter(pk=run_id).update(state=RunState.DONE, finished_at=timezone.now())
    run.refresh_from_db()
    return run


@transaction.atomic
def _build_batch(run: ReviewRun, rows: list[dict], cutoff) -> None:
    ids = [r["id"] for r in rows]
    lo, hi = ids[0], ids[-1]
    reviewed = set(CustomerReview.objects.filter(customer_id__gte=lo, customer_id__lte=hi,
                                                 last_reviewed_at__gte=cutoff).values_list("customer_id", flat=True))
    # Open items of other runs: the customer is already being worked on.
    busy = set(ReviewItem.objects.filter(customer_id__gte=lo, customer_id__lte=hi, state=ItemState.OPEN)
               .exclude(run=run).values_list("customer_id", flat=True))
    items = []
    for row in rows:
        if row["id"] in busy:
            continue
        stale = row["updated_at"] < cutoff and row["id"] not in reviewed
        missing = rules.missing_fields(row)
        invalid = rules.invalid_fields(row)
        if not (stale or missing or invalid):
            continue
        details = {}
        if missing:
            details["missing"] = missing
        if invalid:
            details["invalid"] = invalid
        items.append(ReviewItem(run=run, customer_id=row["id"], assignee_id=row["owner_id"],
                                department_id=row["department_id"], stale=stale, incomplete=bool(missing),
                                invalid=bool(invalid), details=details, due_date=run.due_date))
    ReviewItem.objects.bulk_create(items, batch_size=1000, ignore_conflicts=True)
    run.cursor = ids[-1]
    run.scanned = min(run.total, run.scanned + len(rows)) if run.total else run.scanned + len(rows)
    run.items_count += len(items)
    ReviewRun.objects.filter(pk=run.pk).update(cursor=run.cursor, scanned=run.scanned, items_count=run.items_count)


def customer_problems(customer: Customer) -> dict:
    """The rules' verdict on one loaded customer: {"missing": [...], "invalid": [...]}."""
    row = {c: getattr(customer, c) for c in rules.COLUMNS}
    return {"missing": rules.missing_fields(row), "invalid": rules.invalid_fields(row)}


@transaction.atomic
def review_item_resolve(*, actor, item_id: int, state: str, note: str = "") -> ReviewItem:
    """Close an open item: confirmed current (确认无误), fixed after editing (已修正) — refused while the
    record still misses a required field or holds an invalid value — or not applicable (不适用).
    Confirmed and fixed stamp the customer's last-reviewed time."""
    if state not in RESOLVED_STATES:
        raise Invalid(_("Choose confirmed, fixed or not applicable."),
                      fields={"state": [_("Allowed: confirmed, fixed, not_applicable")]})
    item = review_item_get(actor=actor, item_id=item_id, for_update=True)
    if item.assignee_id != actor.pk and not actor.has_kehu_perm(Perm.REVIEW_MANAGE):
        raise Forbidden(_("Only the assignee or a review manager can resolve this item."))
    if item.state != ItemState.OPEN:
        raise Conflict(_("This item is already resolved (%(s)s).") % {"s": item.get_state_display()},
                       code="already_resolved")
    customer = Customer.objects.filter(pk=item.customer_id, deleted_at__isnull=True).first()
    if customer is None and state != ItemState.NOT_APPLICABLE:
        raise NotFound(_("Customer not found."))
    if state == ItemState.FIXED:
        problems = customer_problems(customer)
        left = problems["missing"] + problems["invalid"]
        if left:
            raise Conflict(_("The record still needs fixing: %(f)s.") % {"f": rules.field_labels(left)},
                           fields={"state": [_("Edit the customer first.")]}, code="still_incomplete")
    now = timezone.now()
    note = (note or "").strip()[:500]
    item.state, item.resolved_by, item.resolved_at, item.note = state, actor, now, note
    item.full_clean(exclude=["run", "customer", "assignee", "department", "resolved_by"])
    item.save(update_fields=["state", "resolved_by", "resolved_at", "note"])
    changes = {"state": [ItemState.OPEN.value, state]} | ({"note": note} if note else {})
    if customer is not None:
        if state in (ItemState.CONFIRMED, ItemState.FIXED):
            CustomerReview.objects.update_or_create(customer_id=customer.pk,
                                                    defaults={"last_reviewed_at": now, "reviewed_by": actor})
        ChangeRecord.objects.create(customer_id=customer.pk, at=now, actor=actor, actor_name=actor.get_username(),
                                    object_type="reviewitem", object_id=item.pk, action="review", changes=changes)
    audit_record(actor=actor, action="review_item.resolve", obj=item, changes=changes)
    return item


def review_open_items_reassign(*, customer_ids: list[int], owner_id: int, department_id: int | None) -> int:
    """Open review items follow their customer to its new owner (called inside a reassignment)."""
    return ReviewItem.objects.filter(Q(customer_id__in=customer_ids), state=ItemState.OPEN).update(
        assignee_id=owner_id, department_id=department_id)


def review_schedule_start(*, now=None) -> ReviewRun | None:
    """Start the scheduled company-wide run when one is due, as the user named by
    KEHU_REVIEW_SCHEDULE_USER (default: the first active administrator)."""
    from django.conf import settings

    from kehu.access.models import User

    username = getattr(settings, "KEHU_REVIEW_SCHEDULE_USER", "")
    qs = User.objects.filter(is_active=True)
    starter = qs.filter(username=username).first() if username else qs.filter(role="admin").order_by("pk").first()
    if starter is None or not starter.has_kehu_perm(Perm.REVIEW_MANAGE):
        log.warning("scheduled review: no active user with review.manage to start it")
        return None
    if not review_schedule_due(starter=starter, now=now):
        return None
    return review_run_start(actor=starter, note=_("Scheduled review"))


def review_schedule_due(*, starter, now=None) -> bool:
    """Whether the schedule should start a run: ``starter`` started none within
    KEHU_REVIEW_SCHEDULE_MONTHS (0 turns the schedule off). A manager's own department run does not
    count: it covers part of the company only."""
    from django.conf import settings

    months = int(getattr(settings, "KEHU_REVIEW_SCHEDULE_MONTHS", 12) or 0)
    if months <= 0:
        return False
    now = now or timezone.now()
    return not ReviewRun.objects.filter(started_by=starter,
                                        created_at__gte=rules.months_before(now, months)).exists()
