"""/api/v1/care/… and /api/v1/calendar/…: care reminders (birthdays, anniversaries, holidays, new-product notices) and the personal calendar with its iCalendar feed. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["care"])
