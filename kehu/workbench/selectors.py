"""Gathers the workbench of one user from every registered provider (see registry.py).

To-dos are read live (each provider: one indexed query, at most ``limit`` rows); figures, charts and
panels count or search over the whole data scope, so they are cached per user for
KEHU_WORKBENCH_CACHE_SECONDS (the page says when the figures were counted)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from kehu.errors import Forbidden
from kehu.workbench import registry
from kehu.workbench.registry import Chart, Figure, Panel, Provider, Todo

TODO_LIMIT = 6  # per provider
TODO_SHOWN = 15  # on the page, all providers together, soonest first


@dataclass(frozen=True)
class TodoRow:
    provider: Provider
    todo: Todo

    @property
    def due_text(self) -> str:
        """The due date as people read it: local date and time, or the date alone."""
        due = self.todo.due
        if due is None:
            return ""
        if isinstance(due, dt.datetime):
            return f"{timezone.localtime(due):%Y-%m-%d %H:%M}"
        return due.isoformat()


@dataclass(frozen=True)
class TodoGroup:
    provider: Provider
    count: int  # how many of this provider's to-dos are shown (at most TODO_LIMIT)
    more_url: str


def _active(actor) -> bool:
    return actor is not None and actor.is_authenticated and actor.is_active


def _call(provider: Provider, actor, **kw):
    """A provider that refuses the user (no permission) simply has nothing for them."""
    try:
        return provider.fn(actor, **kw)
    except Forbidden:
        return None


def _sort_key(todo: Todo, now: dt.datetime):
    due = todo.due
    if due is None:
        return (1, now, todo.title)
    if not isinstance(due, dt.datetime):
        due = registry.local_midnight(due) + dt.timedelta(days=1)
    return (0, due, todo.title)


def workbench_todos(*, actor, now: dt.datetime | None = None, limit: int = TODO_LIMIT) -> tuple[list[TodoRow], list[TodoGroup]]:
    """My to-dos from every provider, soonest due first (those without a due date last), and per
    provider how many there were with its "more" link."""
    if not _active(actor):
        return [], []
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows: list[TodoRow] = []
    groups: list[TodoGroup] = []
    for p in registry.todo_providers():
        todos = _call(p, actor, today=today, now=now, limit=limit) or []
        rows += [TodoRow(p, t) for t in todos]
        if todos:
            groups.append(TodoGroup(p, len(todos), reverse(p.more) if p.more else ""))
    rows.sort(key=lambda r: _sort_key(r.todo, now))
    return rows, groups


def _cached(name: str, actor, now: dt.datetime | None, compute):
    ttl = settings.KEHU_WORKBENCH_CACHE_SECONDS
    if ttl <= 0 or now is not None:
        return compute()
    key = f"workbench:{name}:{actor.pk}:{actor.role}:{actor.department_id}:{timezone.localdate()}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, ttl)
    return value


def workbench_figures(*, actor, now: dt.datetime | None = None) -> dict:
    """{"at": when counted, "figures": [(provider, Figure)], "charts": [(provider, Chart)]} of the
    actor's data scope (cached per user; the cache holds provider keys and values, not functions)."""
    if not _active(actor):
        return {"at": None, "figures": [], "charts": []}

    def compute():
        at = now or timezone.now()
        today = timezone.localdate(at)
        figures = [(p.key, f) for p in registry.figure_providers()
                   if isinstance(f := _call(p, actor, today=today, now=at), Figure)]
        charts = [(p.key, c) for p in registry.chart_providers()
                  if isinstance(c := _call(p, actor, today=today, now=at), Chart)]
        return {"at": at, "figures": figures, "charts": charts}

    found = _cached("figures", actor, now, compute)
    figures = {p.key: p for p in registry.figure_providers()}
    charts = {p.key: p for p in registry.chart_providers()}
    return {"at": found["at"], "figures": [(figures[k], f) for k, f in found["figures"] if k in figures],
            "charts": [(charts[k], c) for k, c in found["charts"] if k in charts]}


def workbench_panels(*, actor, now: dt.datetime | None = None) -> list[tuple[Provider, Panel]]:
    """The panels that apply to the actor, cached like the figures (the auditor's latest sensitive
    accesses search the whole audit log)."""
    if not _active(actor):
        return []

    def compute():
        at = now or timezone.now()
        today = timezone.localdate(at)
        return [(p.key, v) for p in registry.panel_providers()
                if isinstance(v := _call(p, actor, today=today, now=at), Panel)]

    providers = {p.key: p for p in registry.panel_providers()}
    return [(providers[k], v) for k, v in _cached("panels", actor, now, compute) if k in providers]
