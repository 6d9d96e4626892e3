"""/api/v1/ownership/…: registrations (客户登记/报备) and referrals, the public pool (公海) with claims and releases, ownership disputes, the duty roster and reception rotation (排班轮流接待), the visitor and call register (来人来电登记) and its statistics. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["ownership"])
