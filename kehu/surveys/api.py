"""/api/v1/surveys/…: questionnaires with versions and approval, the survey procedure (plan → … → re-evaluation), campaigns, personal links, responses. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["surveys"])
