"""/api/v1/qualification/…: customer types with entry/exit criteria, documents (证照) with scans and verification, account opening (开户审批), suspension and reinstatement (暂停业务往来), the status-change service. Parse → call a service/selector → return a schema."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["qualification"])
