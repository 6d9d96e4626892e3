"""The personal calendar's sources. Each app registers a provider in its own `calendar_events.py`
(imported by the care app's calendar on first use); the calendar never imports the providers' models.

A provider is fn(user, *, start: date, end: date) -> iterable of CalendarEvent, already scoped to
what the user may see, covering the days start <= day < end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CalendarEvent:
    uid: str  # stable across calls, e.g. "interaction-next-42@kehu"; the .ics UID
    kind: str  # the provider key, e.g. "followup", "visit", "inspection", "deadline", "symposium", "care"
    title: str
    start: dt.datetime | dt.date  # a date means an all-day event
    end: dt.datetime | dt.date | None = None
    url: str = ""
    detail: str = ""
    location: str = ""


@dataclass(frozen=True)
class Provider:
    key: str
    label: object
    fn: Callable


_providers: dict[str, Provider] = {}


def calendar_provider(key: str, *, label):
    def wrap(fn):
        _providers[key] = Provider(key, label, fn)
        return fn

    return wrap


def calendar_providers() -> list[Provider]:
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("calendar_events")
    return list(_providers.values())
