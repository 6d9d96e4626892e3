"""Periodic review (定期复核) and reassignment over the API."""

from __future__ import annotations

from django.utils import timezone
from ninja import Query, Router, Schema, Status

from kehu.customers.review import reassign, selectors, services
from kehu.customers.review.schemas import (
    ItemOut,
    ItemPage,
    ReassignIn,
    ReassignOut,
    ReassignPreviewOut,
    ResolveIn,
    RunIn,
    RunOut,
    RunPage,
    item_out,
    run_out,
)

router = Router(tags=["review"])


@router.post("/review-runs", response={201: RunOut}, summary="Start a periodic review over my scope")
def review_run_create(request, payload: RunIn):
    run = services.review_run_start(actor=request.user, **payload.dict())
    run = selectors.review_run_get(actor=request.user, run_id=run.pk)
    return Status(201, run_out(run, selectors.review_run_progress(actor=request.user, run=run)))


@router.get("/review-runs", response=RunPage)
def review_run_list(request, limit: int | None = None, cursor: str | None = None):
    page = selectors.review_run_list(actor=request.user, limit=limit, cursor=cursor)
    return {"items": [run_out(r) for r in page.items], "next": page.next}


@router.get("/review-runs/{run_id}", response=RunOut, summary="A run with its progress per department and person")
def review_run_get(request, run_id: int):
    run = selectors.review_run_get(actor=request.user, run_id=run_id)
    return run_out(run, selectors.review_run_progress(actor=request.user, run=run))


class ItemFilters(Schema):
    run: int | None = None
    state: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    ordering: str = "due_date"
    limit: int | None = None
    cursor: str | None = None


@router.get("/review-items", response=ItemPage)
def review_item_list(request, filters: Query[ItemFilters]):
    page = selectors.review_item_list(actor=request.user, **filters.dict())
    today = timezone.localdate()
    return {"items": [item_out(i, today) for i in page.items], "next": page.next}


@router.get("/review-items/{item_id}", response=ItemOut)
def review_item_get(request, item_id: int):
    return item_out(selectors.review_item_get(actor=request.user, item_id=item_id), timezone.localdate())


@router.post("/review-items/{item_id}/resolve", response=ItemOut,
             summary="Confirm current, mark fixed, or not applicable")
def review_item_resolve(request, item_id: int, payload: ResolveIn):
    services.review_item_resolve(actor=request.user, item_id=item_id, state=payload.state, note=payload.note)
    return item_out(selectors.review_item_get(actor=request.user, item_id=item_id), timezone.localdate())


@router.post("/reassignments/preview", response=ReassignPreviewOut,
             summary="Plan moving a user's customers (writes nothing)")
def reassignment_preview(request, payload: ReassignIn):
    return reassign.reassignment_preview(actor=request.user, source_id=payload.source, target_ids=payload.targets,
                                         strategy=payload.strategy, seed=payload.seed, filters=payload.filters())


@router.post("/reassignments", response={201: ReassignOut}, summary="Move a user's customers to named users")
def reassignment_commit(request, payload: ReassignIn):
    return Status(201, reassign.reassignment_commit(
        actor=request.user, source_id=payload.source, target_ids=payload.targets, strategy=payload.strategy,
        seed=payload.seed, filters=payload.filters()))
