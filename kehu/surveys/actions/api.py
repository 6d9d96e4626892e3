"""/api/v1/survey-reports/…: CSAT / NPS analysis, the survey report (XLSX, printable), action plans tracked to closure, follow-up to-dos for detractors. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["survey_actions"])
