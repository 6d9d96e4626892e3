"""The workbench's registry (工作台): apps offer to-dos, headline figures, charts and panels; the
workbench only gathers and shows them.

Layout
    kehu/workbench/registry.py    the four provider kinds and their value types (this module)
    kehu/workbench/selectors.py   gathers every provider for one user: to-dos soonest first, figures,
                                  charts and panels (figures and charts cached per user for
                                  KEHU_WORKBENCH_CACHE_SECONDS)
    kehu/workbench/views.py       the page /workbench/ (where LOGIN_REDIRECT_URL lands)
    kehu/workbench/api.py         GET /api/v1/workbench (to-dos, figures, panels) and
                                  GET /api/v1/workbench/charts (the charts' series, which the page's
                                  ECharts and the table beside each chart both show)
    kehu/<app>/workbench.py       each app's providers, discovered at start-up (apps.py)

Adding to the workbench
    A capability never edits the workbench's template. It adds ``kehu/<app>/workbench.py``::

        from kehu.workbench.registry import Figure, Todo, figure_provider, todo_provider

        @todo_provider("complaints", label=_("Complaints"), order=20, more="service_desk:board",
                       short=_("Complaint"))
        def complaint_todos(user, *, today, now, limit):
            ...  # a scoped selector of the app; at most `limit` items, soonest due first
            return [Todo(kind="complaint", title=..., url=..., due=..., state="overdue")]

        @figure_provider("open_complaints", label=_("Open complaints"), order=30)
        def open_complaints(user, *, today, now):
            return Figure(value=12, previous=9, url=...)  # or None when the figure does not apply

    - ``todo_provider(key, label, order, more, short)``: ``fn(user, *, today, now, limit) -> list[Todo]``.
      ``more`` is the URL name of the app's own list (the "more" link under the to-dos); ``short`` the
      word on each to-do's badge ("Complaint").
    - ``figure_provider(key, label, order)``: ``fn(user, *, today, now) -> Figure | None``. ``previous``
      is the same figure one period earlier (the previous month) or None for a snapshot without history.
    - ``chart_provider(key, label, order)``: ``fn(user, *, today, now) -> Chart | None``: month labels
      and one or more series; the page draws it with ECharts and prints the same numbers as a table.
    - ``panel_provider(key, label, order)``: ``fn(user, *, today, now) -> Panel | None``: a short list
      of rows that are not to-dos (the auditor's latest sensitive accesses, the analyst's reports).

Rules
    - Providers read ONLY through their own app's selectors, so every row is in the user's data scope
      and permission-checked; a provider that does not apply to the user (no permission, nothing to
      show) returns [] or None — the role variants (manager: department subtree; executive: company;
      finance: its approval queue; analyst: reports; auditor: sensitive accesses) follow from that.
    - The workbench app imports no provider's models; a provider imports no other app's models.
    - Each provider answers in a bounded number of queries (one or two), never one per item: the
      workbench's query count is pinned in tests (kehu/workbench/tests).
    - Titles are translated already (gettext at call time); ``state`` is "overdue" | "soon" | "normal"
      (red / orange / grey on the page); ``due`` is a date or an aware datetime, or None (sorted last).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

OVERDUE, SOON, NORMAL = "overdue", "soon", "normal"


@dataclass(frozen=True)
class Todo:
    """One thing waiting for the user, with where to act on it."""

    kind: str  # stable key of the provider's item type, e.g. "approval", "complaint"
    title: str  # already translated, short: "投诉 TS2026… 即将超时"
    url: str
    due: dt.datetime | dt.date | None = None
    state: str = NORMAL  # "overdue" | "soon" | "normal": how urgent (drives the colour)
    detail: str = ""  # one secondary line: customer, applicant, …


@dataclass(frozen=True)
class Figure:
    """A headline number of the user's data scope, with the same number one period earlier."""

    value: int | float | None
    previous: int | float | None = None  # the previous period's value, for the change arrow
    url: str = ""
    unit: str = ""  # "%" or "" …
    note: str = ""  # what "previous" means, e.g. "last month"
    trend: list[tuple[str, float]] = field(default_factory=list)  # optional (label, value) series

    @property
    def change(self) -> int | float | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, 1)


@dataclass(frozen=True)
class Chart:
    """A small monthly chart: labels on the x axis and one or more named series of the same length."""

    labels: list[str]
    series: list[tuple[str, list[int | float | None]]]
    kind: str = "bar"  # "bar" | "line"
    url: str = ""  # the app's full report


@dataclass(frozen=True)
class Panel:
    """A short list of rows that are not to-dos (read-only information with links)."""

    rows: list[Todo]
    url: str = ""  # the app's full list
    empty: str = ""  # what an empty panel says (what it would show, or what to do next)


@dataclass(frozen=True)
class Provider:
    key: str
    label: str
    order: int
    fn: Callable
    more: str = ""  # URL name of the app's list ("more" link), to-do providers only
    short: str = ""  # a word or two for the to-do's badge ("Complaint"), to-do providers only


_TODOS: dict[str, Provider] = {}
_FIGURES: dict[str, Provider] = {}
_CHARTS: dict[str, Provider] = {}
_PANELS: dict[str, Provider] = {}


def _register(table: dict, key: str, label, order: int, more: str = "", short=""):
    def wrap(fn):
        table[key] = Provider(key, label, order, fn, more, short or label)
        return fn

    return wrap


def todo_provider(key: str, *, label, order: int = 100, more: str = "", short=""):
    """Register ``fn(user, *, today, now, limit) -> list[Todo]`` under ``key``."""
    return _register(_TODOS, key, label, order, more, short)


def figure_provider(key: str, *, label, order: int = 100):
    """Register ``fn(user, *, today, now) -> Figure | None`` under ``key``."""
    return _register(_FIGURES, key, label, order)


def chart_provider(key: str, *, label, order: int = 100):
    """Register ``fn(user, *, today, now) -> Chart | None`` under ``key``."""
    return _register(_CHARTS, key, label, order)


def panel_provider(key: str, *, label, order: int = 100):
    """Register ``fn(user, *, today, now) -> Panel | None`` under ``key``."""
    return _register(_PANELS, key, label, order)


def todo_providers() -> list[Provider]:
    return sorted(_TODOS.values(), key=lambda p: (p.order, p.key))


def figure_providers() -> list[Provider]:
    return sorted(_FIGURES.values(), key=lambda p: (p.order, p.key))


def chart_providers() -> list[Provider]:
    return sorted(_CHARTS.values(), key=lambda p: (p.order, p.key))


def panel_providers() -> list[Provider]:
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.key))


# ---------------------------------------------------------------- helpers for providers

def month_start(day: dt.date, back: int = 0) -> dt.date:
    """The first day of ``day``'s month, ``back`` months earlier."""
    n = day.year * 12 + day.month - 1 - back
    return dt.date(n // 12, n % 12 + 1, 1)


def local_midnight(day: dt.date) -> dt.datetime:
    from django.utils import timezone

    return dt.datetime.combine(day, dt.time(0), tzinfo=timezone.get_default_timezone())


def urgency(due: dt.datetime | dt.date | None, *, now: dt.datetime, soon: dt.timedelta = dt.timedelta(days=1)) -> str:
    """"overdue" when ``due`` has passed, "soon" within ``soon``, else "normal"."""
    if due is None:
        return NORMAL
    if not isinstance(due, dt.datetime):
        due = local_midnight(due) + dt.timedelta(days=1)  # a due date lasts the whole (local) day
    if due <= now:
        return OVERDUE
    return SOON if due - now <= soon else NORMAL
