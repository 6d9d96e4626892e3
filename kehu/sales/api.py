"""/api/v1/sales/…: prospects (潜在客户) and their sources, development plans (开发计划), opportunities (商机) through stages, deals with deposits (小定/大定), subscription and signing, instalments, dunning (催款通知) and breach cases, deal statistics. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["sales"])
