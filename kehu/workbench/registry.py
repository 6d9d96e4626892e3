"""The workbench's registry: apps offer to-dos and headline figures; the workbench only shows them.

An app adds a module ``kehu/<app>/workbench.py`` (discovered at start-up) that registers providers::

    from kehu.workbench.registry import Figure, Todo, figure_provider, todo_provider

    @todo_provider("complaints", label=_("Complaints"), order=20)
    def complaint_todos(user, *, today, limit):
        ...  # a scoped selector of the app; at most `limit` items, soonest due first
        return [Todo(kind="complaint", title=..., url=..., due=..., state="overdue")]

    @figure_provider("open_complaints", label=_("Open complaints"), order=30)
    def open_complaints(user, *, today):
        return Figure(value=12, previous=9, url=...)  # or None when the figure does not apply

Providers read through the app's own selectors, so every to-do and figure is in the user's scope and
permissions; a provider that does not apply to the user (no permission) returns [] or None. Each
provider answers with a bounded number of queries (one or two), never per item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Todo:
    """One thing waiting for the user, with where to act on it."""

    kind: str  # stable key of the provider's item type, e.g. "approval", "complaint"
    title: str  # already translated, short: "投诉 TS2026… 即将超时"
    url: str
    due: dt.datetime | dt.date | None = None
    state: str = "normal"  # "overdue" | "soon" | "normal": how urgent (drives the colour)
    detail: str = ""  # one secondary line: customer, applicant, …


@dataclass(frozen=True)
class Figure:
    """A headline number of the user's data scope, with the same number one period earlier."""

    value: int | float
    previous: int | float | None = None  # the previous period's value, for the change arrow
    url: str = ""
    unit: str = ""  # "%" or "" …
    trend: list[tuple[str, float]] = field(default_factory=list)  # optional (label, value) series for a chart


@dataclass(frozen=True)
class Provider:
    key: str
    label: str
    order: int
    fn: Callable


_TODOS: dict[str, Provider] = {}
_FIGURES: dict[str, Provider] = {}


def todo_provider(key: str, *, label, order: int = 100):
    """Register ``fn(user, *, today, limit) -> list[Todo]`` under ``key``."""

    def wrap(fn):
        _TODOS[key] = Provider(key, label, order, fn)
        return fn

    return wrap


def figure_provider(key: str, *, label, order: int = 100):
    """Register ``fn(user, *, today) -> Figure | None`` under ``key``."""

    def wrap(fn):
        _FIGURES[key] = Provider(key, label, order, fn)
        return fn

    return wrap


def todo_providers() -> list[Provider]:
    return sorted(_TODOS.values(), key=lambda p: (p.order, p.key))


def figure_providers() -> list[Provider]:
    return sorted(_FIGURES.values(), key=lambda p: (p.order, p.key))
