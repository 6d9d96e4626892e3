"""/api/v1/symposia/…: customer symposia (客户座谈会): plan, invitations, attendance, minutes, follow-up items. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["symposia"])
