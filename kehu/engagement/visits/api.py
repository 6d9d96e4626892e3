"""/api/v1/visits/…: annual visit plans (年度客户走访计划), scheduled visits, scored visit reports (客户走访报告单) with their suggestions, executive mutual visits (高层互访). Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["visits"])
