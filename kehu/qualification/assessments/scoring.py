"""Customer assessment maths (客户考评, seed 004 第13篇 第十、十六条), ORM-free.

Periods: quarters, halves and years of the calendar. Five items are scored 0–100 — admission criteria
re-checked, plan completion (提货量完成率), order regularity (周拿货量均衡: the share of months with
orders), cooperation (配合度, scored by hand) and credit (回款及时: the share of the amount due paid by its due
date) — and weighted per customer type (direct, exclusive agent, dealer). An item that does not apply
(no plan, nothing due, not yet scored by hand) is left out and the other weights scale up, so a customer
is never marked down for what cannot be measured. The total maps to a result band."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

ITEMS = ("admission", "plan", "regularity", "cooperation", "credit")
KINDS = {"quarter": 4, "half": 2, "year": 1}  # periods per year
MONTHS = {"quarter": 3, "half": 6, "year": 12}
HUNDRED = Decimal(100)

# Weights per customer type (the policy: agents are judged first on plan completion and cooperation,
# dealers on completion and steady weekly pickup — 第十条 (三)2、(四)3; credit counts for every type).
DEFAULT_WEIGHTS: dict[str, dict[str, Decimal]] = {
    "direct": {"admission": Decimal("0.15"), "plan": Decimal("0.20"), "regularity": Decimal("0.20"),
               "cooperation": Decimal("0.15"), "credit": Decimal("0.30")},
    "exclusive_agent": {"admission": Decimal("0.10"), "plan": Decimal("0.30"), "regularity": Decimal("0.15"),
                        "cooperation": Decimal("0.25"), "credit": Decimal("0.20")},
    "dealer": {"admission": Decimal("0.10"), "plan": Decimal("0.30"), "regularity": Decimal("0.25"),
               "cooperation": Decimal("0.10"), "credit": Decimal("0.25")},
}
# (lowest total, result), best first.
DEFAULT_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(90), "excellent"), (Decimal(75), "good"), (Decimal(60), "qualified"), (Decimal(0), "unqualified"))


def period_bounds(kind: str, year: int, number: int) -> tuple[dt.date, dt.date]:
    """First and last day of period ``number`` (1-based) of ``kind`` in ``year``."""
    if kind not in KINDS:
        raise ValueError(f"unknown period kind {kind!r}")
    if not 1 <= number <= KINDS[kind]:
        raise ValueError(f"{kind} {number} does not exist")
    months = MONTHS[kind]
    first_month = (number - 1) * months + 1
    start = dt.date(year, first_month, 1)
    end_month = first_month + months
    end = (dt.date(year + 1, 1, 1) if end_month > 12 else dt.date(year, end_month, 1)) - dt.timedelta(days=1)
    return start, end


def period_of(kind: str, day: dt.date) -> tuple[int, int]:
    """(year, number) of the period of ``kind`` containing ``day``."""
    return day.year, (day.month - 1) // MONTHS[kind] + 1


def previous_period(kind: str, day: dt.date) -> tuple[int, int]:
    """(year, number) of the last period of ``kind`` that ended before ``day``'s period began."""
    year, number = period_of(kind, day)
    return (year, number - 1) if number > 1 else (year - 1, KINDS[kind])


def period_label(kind: str, year: int, number: int) -> str:
    return {"quarter": f"{year}Q{number}", "half": f"{year}H{number}", "year": f"{year}"}[kind]


def months_in(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _clamp(value: Decimal) -> Decimal:
    return max(Decimal(0), min(HUNDRED, value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ratio_score(done, planned) -> Decimal | None:
    """done / planned as 0–100 (capped); None when nothing was planned (the item does not apply)."""
    planned = Decimal(planned or 0)
    if planned <= 0:
        return None
    return _clamp(Decimal(done or 0) / planned * HUNDRED)


def plan_score(ordered_t, planned_t) -> Decimal | None:
    return ratio_score(ordered_t, planned_t)


def regularity_score(months_with_orders: int, months: int) -> Decimal | None:
    if months <= 0:
        return None
    return _clamp(Decimal(min(months_with_orders, months)) / Decimal(months) * HUNDRED)


def credit_score(paid_on_time, due) -> Decimal | None:
    return ratio_score(paid_on_time, due)


def admission_score(status: str, has_uscc: bool, is_organization: bool = True) -> Decimal:
    """The admission criteria re-checked from what the archive knows: admitted and not suspended (an expired
    licence suspends), with its unified social credit code on file for a company."""
    if status != "active":
        return Decimal(0)
    if is_organization and not has_uscc:
        return Decimal(50)
    return HUNDRED


def total(scores: dict[str, Decimal | None], weights: dict[str, Decimal]) -> Decimal | None:
    """The weighted mean of the items that apply (their weights scaled up to 1); None when none applies."""
    used = {k: Decimal(weights.get(k, 0)) for k, v in scores.items() if v is not None and weights.get(k, 0) > 0}
    weight = sum(used.values(), Decimal(0))
    if weight <= 0:
        return None
    return _clamp(sum((Decimal(scores[k]) * w for k, w in used.items()), Decimal(0)) / weight)


def result_of(score: Decimal | None, bands=DEFAULT_BANDS) -> str:
    if score is None:
        return "unrated"
    for lowest, result in bands:
        if score >= lowest:
            return result
    return bands[-1][1]
