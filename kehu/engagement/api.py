"""/api/v1/engagement/…: follow-ups and interactions (跟进记录) with their attachments and next steps. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["engagement"])
