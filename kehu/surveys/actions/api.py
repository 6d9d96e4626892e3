"""/api/v1/survey-reports/…: CSAT / NPS analysis, the survey report (XLSX, printable), action plans tracked to closure, follow-up to-dos for detractors. Parse → call a service/selector → return a schema."""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kehu.errors import NotFound
from kehu.surveys.actions import present, selectors, services
from kehu.surveys.actions.models import ActionItem, FollowUp, SurveyReport

router = Router(tags=["survey_actions"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AnalysisOut(Schema):
    campaign: int
    name: str
    stage: str
    figures: dict


class ReportOut(Schema):
    id: int
    campaign: int
    name: str
    stage: str
    scope: str
    summary: str
    generated_at: dt.datetime
    generated_by: str | None
    generations: int
    regenerable: bool
    figures: dict


class ReportIn(Schema):
    summary: str | None = Field(None, max_length=20000)


class ItemOut(Schema):
    id: int
    campaign: int
    campaign_name: str
    title: str
    detail: str
    dimension: str
    owner: int
    owner_name: str
    due_date: dt.date
    status: str
    closing_note: str
    closed_at: dt.datetime | None
    overdue: bool


class ItemPage(Schema):
    items: list[ItemOut]
    next: str | None


class ItemIn(Schema):
    title: str = Field(max_length=300)
    detail: str = Field("", max_length=5000)
    dimension: str = Field("", max_length=20)
    owner: int
    due_date: dt.date


class ItemPatch(Schema):
    title: str | None = Field(None, max_length=300)
    detail: str | None = Field(None, max_length=5000)
    owner: int | None = None
    due_date: dt.date | None = None
    status: str | None = Field(None, max_length=12)
    closing_note: str | None = Field(None, max_length=5000)


class ItemFilters(Schema):
    mine: bool = False
    status: str | None = None
    ordering: str = "due_date"
    limit: int | None = None
    cursor: str | None = None


class FollowUpOut(Schema):
    id: int
    campaign: int
    campaign_name: str
    customer: int
    customer_name: str
    assigned_to: int | None
    assigned_to_name: str | None
    reason: str
    nps: int | None
    low_answers: list
    status: str
    closing_note: str
    closed_at: dt.datetime | None
    created_at: dt.datetime


class FollowUpPage(Schema):
    items: list[FollowUpOut]
    next: str | None


class FollowUpFilters(Schema):
    campaign: int | None = None
    mine: bool = False
    status: str | None = None
    ordering: str = "-id"
    limit: int | None = None
    cursor: str | None = None


class CloseIn(Schema):
    note: str = Field(max_length=5000)


def report_out(c, r: SurveyReport) -> dict:
    return {
        "id": r.pk,
        "campaign": c.pk,
        "name": c.name,
        "stage": c.stage,
        "scope": r.scope_key,
        "summary": r.summary,
        "generated_at": r.generated_at,
        "generated_by": str(r.generated_by) if r.generated_by_id else None,
        "generations": r.generations,
        "regenerable": c.stage in selectors.REPORT_STAGES,
        "figures": r.figures,
    }


def item_out(i: ActionItem) -> dict:
    from django.utils import timezone

    return {
        "id": i.pk,
        "campaign": i.campaign_id,
        "campaign_name": i.campaign.name,
        "title": i.title,
        "detail": i.detail,
        "dimension": i.dimension,
        "owner": i.owner_id,
        "owner_name": str(i.owner),
        "due_date": i.due_date,
        "status": i.status,
        "closing_note": i.closing_note,
        "closed_at": i.closed_at,
        "overdue": i.status in ("open", "in_progress") and i.due_date < timezone.localdate(),
    }


def follow_up_out(f: FollowUp) -> dict:
    return {
        "id": f.pk,
        "campaign": f.campaign_id,
        "campaign_name": f.campaign.name,
        "customer": f.customer_id,
        "customer_name": f.customer.name,
        "assigned_to": f.assigned_to_id,
        "assigned_to_name": str(f.assigned_to) if f.assigned_to_id else None,
        "reason": f.reason,
        "nps": f.nps,
        "low_answers": f.low_answers,
        "status": f.status,
        "closing_note": f.closing_note,
        "closed_at": f.closed_at,
        "created_at": f.created_at,
    }


# ---------------------------------------------------------------- analysis and report


@router.get(
    "/survey-reports/campaigns/{campaign_id}/analysis",
    response=AnalysisOut,
    summary="A survey's live figures over the customers in my scope (CSAT, NPS, distributions, segments)",
)
def analysis(request, campaign_id: int):
    c, figures = selectors.analysis_get(actor=request.user, campaign_id=campaign_id)
    return {"campaign": c.pk, "name": c.name, "stage": c.stage, "figures": figures}


@router.post(
    "/survey-reports/campaigns/{campaign_id}/report",
    response={201: ReportOut},
    summary="Generate (or regenerate) the survey's report at its analysis or report step",
)
def report_generate(request, campaign_id: int, payload: ReportIn):
    r = services.report_generate(actor=request.user, campaign_id=campaign_id, summary=payload.summary)
    c, r = selectors.report_get(actor=request.user, campaign_id=campaign_id)
    return Status(201, report_out(c, r))


def _report(request, campaign_id: int):
    c, r = selectors.report_get(actor=request.user, campaign_id=campaign_id)
    if r is None:
        raise NotFound(_("No report has been generated for this survey yet."), code="report_not_generated")
    return c, r


@router.get(
    "/survey-reports/campaigns/{campaign_id}/report", response=ReportOut, summary="The survey's stored report"
)
def report_get(request, campaign_id: int):
    return report_out(*_report(request, campaign_id))


@router.get("/survey-reports/campaigns/{campaign_id}/report/export", summary="The survey's report as XLSX")
def report_export(request, campaign_id: int):
    c, r = _report(request, campaign_id)
    items = selectors.action_items_of(campaign=c)
    name, body = present.workbook(campaign=c, report=r, items=items)
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get(
    "/survey-reports/campaigns/{campaign_id}/charts",
    summary="The report's chart series (its tables' figures)",
)
def report_charts(request, campaign_id: int, live: bool = False):
    if live:
        _c, figures = selectors.analysis_get(actor=request.user, campaign_id=campaign_id)
    else:
        figures = _report(request, campaign_id)[1].figures
    return present.chart_data(figures)


# ---------------------------------------------------------------- action plan


@router.get(
    "/survey-reports/campaigns/{campaign_id}/actions", response=ItemPage, summary="The survey's action plan"
)
def campaign_items(request, campaign_id: int, filters: Query[ItemFilters]):
    data = filters.dict()
    data.pop("mine")
    page = selectors.action_item_list(actor=request.user, campaign_id=campaign_id, **data)
    return {"items": [item_out(i) for i in page.items], "next": page.next}


@router.post(
    "/survey-reports/campaigns/{campaign_id}/actions",
    response={201: ItemOut},
    summary="Add an item to the survey's action plan",
)
def item_create(request, campaign_id: int, payload: ItemIn):
    i = services.action_item_create(actor=request.user, campaign_id=campaign_id, data=payload.dict())
    return Status(201, item_out(i))


@router.get(
    "/survey-reports/actions",
    response=ItemPage,
    summary="Action items of the surveys in my scope, or mine (mine=true)",
)
def item_list(request, filters: Query[ItemFilters]):
    page = selectors.action_item_list(actor=request.user, **filters.dict())
    return {"items": [item_out(i) for i in page.items], "next": page.next}


@router.get("/survey-reports/actions/{item_id}", response=ItemOut)
def item_get(request, item_id: int):
    return item_out(selectors.action_item_get(actor=request.user, item_id=item_id))


@router.patch(
    "/survey-reports/actions/{item_id}",
    response=ItemOut,
    summary="Change an action item, or (its owner) its status with a closing note",
)
def item_update(request, item_id: int, payload: ItemPatch):
    return item_out(
        services.action_item_update(
            actor=request.user, item_id=item_id, data=payload.dict(exclude_unset=True)
        )
    )


@router.delete(
    "/survey-reports/actions/{item_id}",
    response={204: None},
    summary="Delete an open action written by mistake (while the plan is being written)",
)
def item_delete(request, item_id: int):
    services.action_item_delete(actor=request.user, item_id=item_id)
    return Status(204, None)


# ---------------------------------------------------------------- follow-ups


@router.get(
    "/survey-reports/follow-ups",
    response=FollowUpPage,
    summary="Follow-ups of detractors and low scores (customers in my scope)",
)
def follow_up_list(request, filters: Query[FollowUpFilters]):
    data = filters.dict()
    page = selectors.follow_up_list(actor=request.user, campaign_id=data.pop("campaign"), **data)
    return {"items": [follow_up_out(f) for f in page.items], "next": page.next}


@router.get("/survey-reports/follow-ups/{follow_up_id}", response=FollowUpOut)
def follow_up_get(request, follow_up_id: int):
    return follow_up_out(selectors.follow_up_get(actor=request.user, follow_up_id=follow_up_id))


@router.post(
    "/survey-reports/follow-ups/{follow_up_id}/close",
    response=FollowUpOut,
    summary="Close a follow-up with what was done",
)
def follow_up_close(request, follow_up_id: int, payload: CloseIn):
    return follow_up_out(
        services.follow_up_close(actor=request.user, follow_up_id=follow_up_id, note=payload.note)
    )
