"""API shapes of the working-day calendar."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

KindT = Literal["holiday", "makeup_workday", "closure"]
SourceT = Literal["statutory", "company"]
# Input bound on day counts: ten years of working days, far beyond any policy, small enough to answer.
MAX_DAYS = 2500


class DayFilters(Schema):
    date_from: dt.date | None = Field(None, alias="from", description="First date (default: 1 January this year).")
    date_to: dt.date | None = Field(None, alias="to", description="Last date, at most 366 days on (default: 31 December).")
    kind: KindT | None = None
    source: SourceT | None = None


class DayOut(Schema):
    date: dt.date
    kind: KindT
    name: str
    source: SourceT
    note: str
    working: bool = Field(..., description="Whether the date is worked (make-up day) or not (holiday, closure).")


class DayList(Schema):
    date_from: dt.date = Field(..., alias="from")
    date_to: dt.date = Field(..., alias="to")
    years_loaded: list[int]
    items: list[DayOut]


class DayIn(Schema):
    date: dt.date
    kind: KindT
    name: str = Field(..., min_length=1, max_length=50)
    note: str = Field("", max_length=200)
    source: SourceT = "company"


class SeedIn(Schema):
    years: list[int] | None = Field(None, description="Years to load (default: every year chinese-calendar knows).")


class SeedOut(Schema):
    years: list[int]
    created: int
    updated: int


class AddOut(Schema):
    date: dt.date
    days: int
    result: dt.date
    years_not_loaded: list[int] = Field(..., description="Years on the way counted by the weekend rule alone.")


class DueOut(Schema):
    received_at: dt.datetime
    days: int
    due_at: dt.datetime = Field(..., description="UTC.")
    due_at_local: dt.datetime = Field(..., description="The same instant in the rule's time zone (Asia/Shanghai).")
    rule: dict
    years_not_loaded: list[int]


class BetweenOut(Schema):
    start: dt.datetime
    end: dt.datetime
    working_days: int
    years_not_loaded: list[int]
