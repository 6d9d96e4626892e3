"""/api/v1/reception/…: the daily duty roster and reception rotation (排班轮流接待), walk-ins and calls (来人来电登记) with their statistics, make-up turns, designated receptions. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["reception"])
