from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from kehu.workdays import selectors, services
from kehu.workdays.models import DayKind
from kehu.workdays.schemas import (
    MAX_DAYS,
    AddOut,
    BetweenOut,
    DayFilters,
    DayIn,
    DayList,
    DayOut,
    DueOut,
    SeedIn,
    SeedOut,
)

router = Router(tags=["workdays"])


def day_out(day) -> dict:
    return {"date": day.date, "kind": day.kind, "name": day.name, "source": day.source, "note": day.note,
            "working": day.kind == DayKind.MAKEUP_WORKDAY}


class AddQuery(Schema):
    date: dt.date
    days: int = Field(..., ge=-MAX_DAYS, le=MAX_DAYS)


class DueQuery(Schema):
    received_at: dt.datetime = Field(..., description="ISO 8601; without an offset it is read as Asia/Shanghai.")
    days: int = Field(..., ge=0, le=MAX_DAYS)


class BetweenQuery(Schema):
    start: dt.datetime
    end: dt.datetime


@router.get("/workdays", response=DayList, by_alias=True,
            summary="Special days (holidays, make-up working days, closures) in a range of at most 366 days")
def day_list(request, filters: Query[DayFilters]):
    year = timezone.localdate().year
    date_from = filters.date_from or (dt.date(filters.date_to.year, 1, 1) if filters.date_to else dt.date(year, 1, 1))
    date_to = filters.date_to or dt.date(date_from.year, 12, 31)
    days = selectors.day_list(actor=request.user, date_from=date_from, date_to=date_to, kind=filters.kind,
                              source=filters.source)
    return {"from": date_from, "to": date_to, "years_loaded": selectors.years_loaded(),
            "items": [day_out(d) for d in days]}


@router.get("/workdays/add", response=AddOut, summary="The n-th working day after a date")
def working_day_add(request, query: Query[AddQuery]):
    return selectors.working_day_add(actor=request.user, date=query.date, days=query.days)


@router.get("/workdays/due", response=DueOut, summary="When something due within n working days falls due")
def sla_due(request, query: Query[DueQuery]):
    return selectors.sla_due_compute(actor=request.user, received_at=query.received_at, days=query.days)


@router.get("/workdays/between", response=BetweenOut, summary="Working days between two instants")
def working_days_between(request, query: Query[BetweenQuery]):
    return selectors.working_days_count(actor=request.user, start=query.start, end=query.end)


@router.post("/workdays", response={200: DayOut, 201: DayOut},
             summary="Add or replace a special day (administrators)")
def day_set(request, payload: DayIn):
    day, created = services.day_set(actor=request.user, **payload.dict())
    return Status(201 if created else 200, day_out(day))


@router.post("/workdays/seed", response=SeedOut, summary="Load the statutory schedule (administrators)")
def calendar_seed(request, payload: SeedIn):
    return services.calendar_seed(actor=request.user, years=payload.years)


# After /workdays/seed: Django tries the URL patterns in order and {date} would match "seed".
@router.delete("/workdays/{date}", response={204: None}, summary="Remove a special day (administrators)")
def day_delete(request, date: dt.date):
    services.day_delete(actor=request.user, date=date)
    return Status(204, None)

