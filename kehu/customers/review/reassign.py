"""Reassignment of a user's customers (客户转移 / 随机抽数分配) when a rep leaves or takes long leave.

Two strategies:
* ``even`` — each customer, in id order, goes to the target with the fewest customers so far
  (their current customers plus those already dealt): the targets end as level as possible;
* ``random`` — the policy's 随机抽数分配: the customers are shuffled with a seeded generator and dealt
  in turn to the targets (also shuffled), so who gets which customer is a draw, each target gets the
  same number ±1, and the same seed gives the same draw (the preview's seed is what the commit uses).

A preview computes the plan and writes nothing; the commit recomputes it under row locks and moves
the customers in batches: owner and department (the department follows the owner, as in
customer_update), one history row and one audit entry per customer, open review items follow, and
each target is notified once with the count."""

from __future__ import annotations

import heapq
import random
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.audit.services import audit_record_many
from kehu.customers import selectors as customer_selectors
from kehu.customers.models import ChangeRecord, Customer
from kehu.customers.review.selectors import reassign_source_get
from kehu.customers.review.services import review_open_items_reassign
from kehu.errors import Forbidden, Invalid

STRATEGIES = ("even", "random")
BATCH = 2000
SAMPLE = 20
MAX_TARGETS = 50


@dataclass
class Plan:
    source: User
    targets: list[User]
    strategy: str
    seed: int | None
    current: dict[int, int]  # target id → customers owned before
    assignment: list[tuple[int, str, int | None, int]]  # (customer id, name, old department, target id)


def _require(actor) -> None:
    if not (actor.has_kehu_perm(Perm.CUSTOMER_ASSIGN) and actor.has_kehu_perm(Perm.REVIEW_MANAGE)):
        raise Forbidden(_("You are not allowed to reassign customers."))


def _targets(actor, source: User, target_ids: list[int]) -> list[User]:
    ids = list(dict.fromkeys(target_ids or []))
    if not ids:
        raise Invalid(_("Choose at least one user to receive the customers."), fields={"targets": [_("Required.")]})
    if len(ids) > MAX_TARGETS:
        raise Invalid(_("At most %(n)d target users.") % {"n": MAX_TARGETS}, fields={"targets": [_("Too many.")]})
    if source.pk in ids:
        raise Invalid(_("The customers cannot be moved to their current owner."),
                      fields={"targets": [_("Remove the source user.")]})
    found = {u.pk: u for u in customer_selectors.assignable_owner_list(actor=actor).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid(_("You cannot make these users owners: %(ids)s.") % {"ids": ", ".join(map(str, missing))},
                      fields={"targets": [_("Not assignable by you.")]})
    return [found[i] for i in ids]


def reassignment_plan(*, actor, source_id: int, target_ids: list[int], strategy: str = "even",
                      seed: int | None = None, filters: dict | None = None, lock: bool = False) -> Plan:
    """Who gets which of the source's customers (in the actor's scope, optionally filtered as the
    customer list)."""
    from kehu.imports.exports import export_queryset

    _require(actor)
    if strategy not in STRATEGIES:
        raise Invalid(_("Unknown strategy “%(s)s”.") % {"s": strategy},
                      fields={"strategy": [_("Allowed: even, random")]})
    source = reassign_source_get(actor=actor, user_id=source_id)
    targets = _targets(actor, source, target_ids)
    filters = {k: v for k, v in (filters or {}).items() if k not in ("owner",)}
    qs = export_queryset(actor=actor, filters=filters).filter(owner_id=source.pk)
    if lock:
        qs = qs.select_for_update(of=("self",))
    rows = list(qs.order_by("pk").values_list("pk", "name", "department_id"))
    current = dict.fromkeys((t.pk for t in targets), 0)
    current.update(Customer.objects.filter(owner_id__in=current, deleted_at__isnull=True).values("owner_id")
                   .annotate(n=Count("pk")).values_list("owner_id", "n"))
    if strategy == "random":
        seed = secrets.randbelow(2**31) if seed is None else seed
        rng = random.Random(seed)
        rng.shuffle(rows)
        order = [t.pk for t in targets]
        rng.shuffle(order)
        assignment = [(cid, name, dept, order[i % len(order)]) for i, (cid, name, dept) in enumerate(rows)]
        assignment.sort()
    else:
        seed = None
        heap = [(current[t.pk], i, t.pk) for i, t in enumerate(targets)]
        heapq.heapify(heap)
        assignment = []
        for cid, name, dept in rows:
            n, i, tid = heapq.heappop(heap)
            assignment.append((cid, name, dept, tid))
            heapq.heappush(heap, (n + 1, i, tid))
    return Plan(source=source, targets=targets, strategy=strategy, seed=seed, current=current,
                assignment=assignment)


def _summary(plan: Plan) -> dict:
    added = dict.fromkeys(plan.current, 0)
    for *_rest, tid in plan.assignment:
        added[tid] += 1
    names = {t.pk: str(t) for t in plan.targets}
    return {
        "source": {"id": plan.source.pk, "name": str(plan.source)},
        "strategy": plan.strategy, "seed": plan.seed, "total": len(plan.assignment),
        "targets": [{"id": t.pk, "name": str(t), "department": t.department.name if t.department_id else "",
                     "current": plan.current[t.pk], "added": added[t.pk], "after": plan.current[t.pk] + added[t.pk]}
                    for t in plan.targets],
        "sample": [{"customer": cid, "name": name, "target": tid, "target_name": names[tid]}
                   for cid, name, _dept, tid in plan.assignment[:SAMPLE]],
    }


def reassignment_preview(*, actor, source_id: int, target_ids: list[int], strategy: str = "even",
                         seed: int | None = None, filters: dict | None = None) -> dict:
    """The plan's counts per target and a sample of rows; writes nothing. For ``random`` the seed
    to commit with is returned."""
    return _summary(reassignment_plan(actor=actor, source_id=source_id, target_ids=target_ids,
                                      strategy=strategy, seed=seed, filters=filters))


@transaction.atomic
def reassignment_commit(*, actor, source_id: int, target_ids: list[int], strategy: str = "even",
                        seed: int | None = None, filters: dict | None = None) -> dict:
    """Move the customers as planned (same seed → same draw as the preview)."""
    plan = reassignment_plan(actor=actor, source_id=source_id, target_ids=target_ids, strategy=strategy,
                             seed=seed, filters=filters, lock=True)
    now = timezone.now()
    targets = {t.pk: t for t in plan.targets}
    actor_name = actor.get_username()
    source_id = plan.source.pk
    for start in range(0, len(plan.assignment), BATCH):
        batch = plan.assignment[start:start + BATCH]
        by_target: dict[int, list[int]] = {}
        for cid, _name, _dept, tid in batch:
            by_target.setdefault(tid, []).append(cid)
        for tid, ids in by_target.items():
            Customer.objects.filter(pk__in=ids).update(owner_id=tid, department_id=targets[tid].department_id,
                                                       updated_at=now, version=F("version") + 1)
            review_open_items_reassign(customer_ids=ids, owner_id=tid, department_id=targets[tid].department_id)
        changes, history, objects = [], [], []
        for cid, name, dept, tid in batch:
            change = {"owner": [source_id, tid]}
            if dept != targets[tid].department_id:
                change["department"] = [dept, targets[tid].department_id]
            changes.append(change)
            history.append(ChangeRecord(customer_id=cid, at=now, actor=actor, actor_name=actor_name,
                                        object_type="customer", object_id=cid, action="update", changes=change))
            objects.append(Customer(pk=cid, name=name))
        ChangeRecord.objects.bulk_create(history, batch_size=1000)
        audit_record_many(actor=actor, action="customer.reassign", objects=objects, changes=changes)
    summary = _summary(plan)
    from kehu.notifications.services import notify

    for row in summary["targets"]:
        if row["added"]:
            notify(user=targets[row["id"]],
                   title=_("%(n)d customers were reassigned to you") % {"n": row["added"]},
                   body=_("From %(source)s, by %(actor)s.") % {"source": summary["source"]["name"], "actor": str(actor)},
                   link="/")
    summary["moved"] = summary.pop("total")
    return summary
