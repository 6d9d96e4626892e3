"""The pure rules of visit plans and reports (no ORM): how many visits a year a grade earns, how a year's
visits are spread over the working days, and the report's score from its three scales."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

GOLDEN = 0.6180339887498949


def config() -> dict:
    """settings.KEHU_VISITS over the built-in defaults (read at call time, never at import)."""
    from django.conf import settings

    base = {"frequency_by_grade": {}, "default_per_year": 4, "match_window_days": 14,
            "overdue_grace_working_days": 0, "remind_working_days_before": 2, "return_visit_authorisation": "key",
            "key_account_grades": [], "score_weights": {"quality": 1, "service": 1, "reputation": 1},
            "suggestion_answer_days": 10, "suggestion_routes": {}, "max_visits_per_customer": 52}
    return {**base, **getattr(settings, "KEHU_VISITS", {})}


def visits_per_year(level, conf: dict) -> int:
    """Visits a year for a customer of service level ``level`` (None: ungraded): the grade's "visit every N
    days" (365 // N), else the settings' figure for the grade's name, else the default."""
    cap = int(conf["max_visits_per_customer"])
    if level is not None:
        every = getattr(level, "visit_every_days", None)
        if every:
            return max(1, min(cap, 365 // int(every)))
        by_grade = conf["frequency_by_grade"].get(getattr(level, "grade", ""))
        if by_grade:
            return max(1, min(cap, int(by_grade)))
    return max(0, min(cap, int(conf["default_per_year"])))


def spread(working_days: list[dt.date], count: int, *, phase: float) -> list[dt.date]:
    """``count`` dates from ``working_days`` (sorted), one in each of ``count`` equal stretches of them,
    at the fraction ``phase`` (0 ≤ phase < 1) of each stretch — so a customer's visits are evenly apart
    and different customers (different phases) fall on different days."""
    n = len(working_days)
    if n == 0 or count <= 0:
        return []
    count = min(count, n)
    step = n / count
    out = []
    for i in range(count):
        index = min(n - 1, int((i + phase) * step))
        out.append(working_days[index])
    return out


def phase_of(k: int) -> float:
    """The k-th customer's phase: the golden-ratio sequence, evenly filling [0, 1) whatever the count."""
    return (k * GOLDEN) % 1.0


def report_score(points: dict[str, int], weights: dict[str, float | int | str]) -> Decimal:
    """The report's score: the weighted mean of the three scales' points, to one decimal."""
    total_w = Decimal(0)
    total = Decimal(0)
    for scale, value in points.items():
        w = Decimal(str(weights.get(scale, 1)))
        total_w += w
        total += w * Decimal(value)
    if total_w <= 0:
        return Decimal("0.0")
    return (total / total_w).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
