"""/api/v1/commissions/…: commission split rules as data, the split of each won deal with its explanation, changes after closing through approval, monthly commission statements per rep. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["commissions"])
