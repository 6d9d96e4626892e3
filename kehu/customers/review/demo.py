"""Demo data of the periodic review: some older records, one finished company-wide run with its items
spread over the reps, part of them already worked down."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kehu.customers.models import Customer
from kehu.customers.review import services
from kehu.customers.review.models import ItemState, ReviewItem


def demo_load(*, users: dict, rng: random.Random) -> str:
    admin = users["admin"]
    ids = list(Customer.objects.filter(deleted_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    if not ids:
        return "review: no customers, nothing to review"
    # About a fifth of the archive was last touched 13–30 months ago (older data migrated in).
    old = rng.sample(ids, max(1, len(ids) // 5))
    now = timezone.now()
    for i, pk in enumerate(old):
        touched = now - dt.timedelta(days=400 + (i * 37) % 500)  # created before it was last touched
        Customer.objects.filter(pk=pk).update(created_at=touched - dt.timedelta(days=30 + (i * 53) % 700),
                                              updated_at=touched)
    run = services.review_run_start(actor=admin, note="年度客户信息复核")
    run = services.review_run_build(run_id=run.pk)
    items = list(ReviewItem.objects.filter(run=run).select_related("assignee").order_by("pk"))
    resolved = 0
    for item in items:
        roll = rng.random()
        if item.stale and not (item.incomplete or item.invalid) and roll < 0.45:
            state, note = ItemState.CONFIRMED, rng.choice(["电话核实,信息无变化", "拜访时确认", ""])
        elif roll < 0.1:
            state, note = ItemState.NOT_APPLICABLE, "客户已停业"
        else:
            continue
        services.review_item_resolve(actor=item.assignee, item_id=item.pk, state=state, note=note)
        resolved += 1
    return f"review: run #{run.pk} with {len(items)} items, {resolved} resolved"
