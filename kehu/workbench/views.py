"""The workbench page (工作台): where every user lands after logging in."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from kehu.web import page
from kehu.workbench import selectors


def _table(chart) -> list[tuple[str, list]]:
    """The chart's numbers as table rows: (month, [value of each series])."""
    return [(label, [data[i] if i < len(data) else None for _name, data in chart.series])
            for i, label in enumerate(chart.labels)]


@page
@require_http_methods(["GET"])
def home(request):
    rows, groups = selectors.workbench_todos(actor=request.user)
    found = selectors.workbench_figures(actor=request.user)
    context = {
        "todos": rows[:selectors.TODO_SHOWN], "todo_total": len(rows), "groups": groups,
        "figures": found["figures"],
        "charts": [(p, c, _table(c)) for p, c in found["charts"]], "counted_at": found["at"],
        "panels": selectors.workbench_panels(actor=request.user),
    }
    return render(request, "workbench/home.html", context)
