"""/api/v1/assessments/…: quarterly, half-yearly and yearly customer assessments (客户考评) per customer type, credit-term changes through approval, review reports. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["assessments"])
