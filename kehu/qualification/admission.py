"""Which status a newly registered customer starts in (kept import-light: the customers app calls it)."""

from __future__ import annotations

from django.conf import settings


def account_opening_required() -> bool:
    """settings.KEHU_ACCOUNT_OPENING_REQUIRED (default on): new companies wait for account opening (开户审批)."""
    return bool(getattr(settings, "KEHU_ACCOUNT_OPENING_REQUIRED", True))


def initial_status(kind: str) -> str:
    """A company registered now starts as 待准入 (pending) when the rule is on; a person (individual customer)
    is not subject to account opening (seed 004 第13篇 第七条 lists a company's papers)."""
    return "pending" if kind == "organization" and account_opening_required() else "active"
