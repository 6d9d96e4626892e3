"""/api/v1/blacklist/…: disqualification (取消客户资格) with reason, evidence and approval; the blacklist and its screening of new customers by USCC, normalised name and phone. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["blacklist"])
