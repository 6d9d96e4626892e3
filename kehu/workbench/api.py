"""GET /api/v1/workbench (my to-dos, headline figures and panels) and GET /api/v1/workbench/charts
(the charts' series, which the page draws and tabulates). Signed-in users only (401 otherwise); every
row comes from a provider's scoped, permission-checked selector."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from kehu.workbench import selectors

router = Router(tags=["workbench"])


class TodoOut(Schema):
    provider: str
    kind: str
    title: str
    url: str
    due: dt.datetime | dt.date | None
    state: str
    detail: str


class TodoGroupOut(Schema):
    key: str
    label: str
    count: int
    more_url: str


class FigureOut(Schema):
    key: str
    label: str
    value: int | float | None
    previous: int | float | None
    change: int | float | None
    unit: str
    note: str
    url: str


class PanelRowOut(Schema):
    title: str
    url: str
    at: dt.datetime | dt.date | None
    detail: str


class PanelOut(Schema):
    key: str
    label: str
    url: str
    rows: list[PanelRowOut]


class WorkbenchOut(Schema):
    todos: list[TodoOut]
    groups: list[TodoGroupOut]
    figures: list[FigureOut]
    panels: list[PanelOut]
    counted_at: dt.datetime | None


class SeriesOut(Schema):
    name: str
    data: list[int | float | None]


class ChartOut(Schema):
    key: str
    label: str
    kind: str
    url: str
    labels: list[str]
    series: list[SeriesOut]


class ChartsOut(Schema):
    charts: list[ChartOut]


def workbench_out(actor) -> dict:
    rows, groups = selectors.workbench_todos(actor=actor)
    found = selectors.workbench_figures(actor=actor)
    return {
        "todos": [{"provider": r.provider.key, "kind": r.todo.kind, "title": r.todo.title, "url": r.todo.url,
                   "due": r.todo.due, "state": r.todo.state, "detail": r.todo.detail} for r in rows],
        "groups": [{"key": g.provider.key, "label": str(g.provider.label), "count": g.count, "more_url": g.more_url}
                   for g in groups],
        "figures": [{"key": p.key, "label": str(p.label), "value": f.value, "previous": f.previous,
                     "change": f.change, "unit": f.unit, "note": f.note, "url": f.url} for p, f in found["figures"]],
        "panels": [{"key": p.key, "label": str(p.label), "url": v.url,
                    "rows": [{"title": t.title, "url": t.url, "at": t.due, "detail": t.detail} for t in v.rows]}
                   for p, v in selectors.workbench_panels(actor=actor)],
        "counted_at": found["at"],
    }


def charts_out(actor) -> dict:
    found = selectors.workbench_figures(actor=actor)
    return {"charts": [{"key": p.key, "label": str(p.label), "kind": c.kind, "url": c.url, "labels": c.labels,
                        "series": [{"name": name, "data": data} for name, data in c.series]}
                       for p, c in found["charts"]]}


@router.get("/workbench", response=WorkbenchOut, summary="My workbench: to-dos, headline figures, panels")
def workbench(request):
    return workbench_out(request.user)


@router.get("/workbench/charts", response=ChartsOut, summary="My workbench's charts (monthly series)")
def workbench_charts(request):
    return charts_out(request.user)
