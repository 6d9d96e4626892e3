"""The personal calendar's events from every registered provider (kehu/engagement/calendar.py), and the
same events as an iCalendar (RFC 5545) document for the feed."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from kehu.engagement.calendar import CalendarEvent, calendar_providers
from kehu.errors import BadRequest

log = logging.getLogger(__name__)
MAX_SPAN_DAYS = 400


def feed_window(today: dt.date) -> tuple[dt.date, dt.date]:
    cfg = getattr(settings, "KEHU_CALENDAR_FEED", {})
    return (today - dt.timedelta(days=int(cfg.get("days_back", 30))),
            today + dt.timedelta(days=int(cfg.get("days_ahead", 180))))


def _sort_key(e: CalendarEvent):
    start = e.start
    if isinstance(start, dt.datetime):
        local = timezone.localtime(start)
        return (local.date(), 1, local.time(), e.uid)
    return (start, 0, dt.time(0), e.uid)


def event_day(e: CalendarEvent) -> dt.date:
    return timezone.localtime(e.start).date() if isinstance(e.start, dt.datetime) else e.start


def events_for(user, *, start: dt.date, end: dt.date, kinds: set[str] | None = None) -> list[CalendarEvent]:
    """The user's events on the days start <= day < end from every provider, soonest first. A provider
    that fails is left out (logged), so one broken source never blanks the calendar."""
    if end <= start or (end - start).days > MAX_SPAN_DAYS:
        raise BadRequest(f"start < end, at most {MAX_SPAN_DAYS} days", fields={"end": ["out of range"]})
    events: dict[str, CalendarEvent] = {}
    for provider in calendar_providers():
        if kinds and provider.key not in kinds:
            continue
        try:
            for e in provider.fn(user, start=start, end=end):
                events.setdefault(e.uid, e)
        except Exception:  # noqa: BLE001 - one source must not break the whole calendar
            log.exception("calendar provider %s failed", provider.key)
    return sorted(events.values(), key=_sort_key)


def to_ical(events: list[CalendarEvent], *, name: str, base_url: str) -> bytes:
    """An iCalendar document: timed events in UTC, all-day events as DATE values (DTEND the next day)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Kehu CRM//Personal calendar//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE if settings.TIME_ZONE != "UTC" else "Asia/Shanghai")
    stamp = timezone.now().astimezone(dt.UTC).replace(microsecond=0)
    for e in events:
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp)
        ev.add("summary", e.title)
        if isinstance(e.start, dt.datetime):
            start = e.start.astimezone(dt.UTC).replace(microsecond=0)
            end = e.end if isinstance(e.end, dt.datetime) else None
            end = end.astimezone(dt.UTC).replace(microsecond=0) if end else start + dt.timedelta(minutes=30)
            ev.add("dtstart", start)
            ev.add("dtend", max(end, start))
        else:
            ev.add("dtstart", e.start)
            last = e.end if isinstance(e.end, dt.date) and not isinstance(e.end, dt.datetime) else e.start
            ev.add("dtend", max(last, e.start) + dt.timedelta(days=1))
            ev.add("transp", "TRANSPARENT")
        if e.location:
            ev.add("location", e.location)
        if e.detail:
            ev.add("description", e.detail)
        if e.url:
            ev.add("url", base_url.rstrip("/") + e.url if e.url.startswith("/") else e.url)
        ev.add("categories", [e.kind])
        cal.add_component(ev)
    return cal.to_ical()
