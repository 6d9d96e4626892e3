"""The inputs of a round, set-based in SQL for all its participants at once (no query per customer):

- review score (客户评审结果): the latest grade under a scorecard policy (its 0–100 score, in the grade's
  explanation), else the mean of the customer's hand scores (0–100), else unknown (the default applies);
- plan completion rate (提货量完成率): over the look-back months before the round's month, the tonnes
  ordered of the product line in the months the customer had a plan ÷ the tonnes planned; unknown
  without a plan in the look-back;
- order regularity (周拿货量均衡): 1 ÷ (1 + the coefficient of variation of the weekly tonnes over the
  look-back's weeks (ISO weeks starting in it), weeks without orders counted as 0): 1 for the same tonnage every week, lower the
  lumpier; 0 with plans but no orders; unknown for a participant without plans or orders then.

One GROUP BY over orders by (customer, month, week) gives both the monthly and the weekly sums (a week
across two months is two rows)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, DecimalField, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek

from kehu.grading.models import CustomerGrade, HandScore
from kehu.orders.models import Order

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=3))


def month_add(month: dt.date, delta: int) -> dt.date:
    y, m = divmod(month.year * 12 + month.month - 1 + delta, 12)
    return dt.date(y, m + 1, 1)


def lookback_window(month: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The first and last day of the ``months`` months before ``month``."""
    return month_add(month, -months), month - dt.timedelta(days=1)


def week_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays of the weeks that start inside the window (a week cut by its start is left out, so a
    window beginning on a Sunday does not count a nearly empty week against everyone)."""
    start = first + dt.timedelta(days=(7 - first.weekday()) % 7)
    out = []
    while start <= last:
        out.append(start)
        start += dt.timedelta(days=7)
    return out


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


@dataclass
class History:
    planned_t: Decimal = Decimal(0)
    ordered_in_plan_months_t: Decimal = Decimal(0)
    plan_months: list[str] = field(default_factory=list)
    weekly: dict[dt.date, Decimal] = field(default_factory=dict)


def review_scores(customer_ids: list[int]) -> dict[int, dict]:
    """customer → {"score": Decimal, "source": "scorecard" | "hand_scores", ...} for those that have one."""
    out: dict[int, dict] = {}
    grades = (CustomerGrade.objects.filter(customer_id__in=customer_ids, policy__kind="scorecard")
              .order_by("customer_id", "-graded_at", "-id")
              .values_list("customer_id", "policy_name", "grade", "graded_at", "explanation"))
    for cid, policy_name, grade, graded_at, explanation in grades:
        if cid in out:
            continue
        try:
            score = Decimal(str((explanation or {}).get("score")))
        except ArithmeticError:
            continue
        if score.is_finite():
            out[cid] = {"score": score, "source": "scorecard", "policy": policy_name, "grade": grade,
                        "graded_at": graded_at.date().isoformat() if graded_at else None}
    missing = [cid for cid in customer_ids if cid not in out]
    if missing:
        for cid, avg in (HandScore.objects.filter(customer_id__in=missing).values("customer_id")
                         .annotate(avg=Avg("score")).values_list("customer_id", "avg")):
            out[cid] = {"score": Decimal(str(avg)).quantize(Decimal("0.01")), "source": "hand_scores"}
    return out


def histories(*, customer_ids: list[int], product_line: str, month: dt.date, lookback_months: int,
              plans_by_month: dict[int, dict[dt.date, Decimal]]) -> dict[int, History]:
    """Per customer: its plans and ordered tonnes in the look-back, and its weekly tonnes."""
    first, last = lookback_window(month, lookback_months)
    rows = (Order.objects.filter(customer_id__in=customer_ids, product_line=product_line,
                                 order_date__gte=first, order_date__lte=last)
            .annotate(m=TruncMonth("order_date"), w=TruncWeek("order_date"))
            .values("customer_id", "m", "w").annotate(t=Coalesce(Sum("quantity_t"), ZERO)).order_by())
    out = {cid: History() for cid in customer_ids}
    monthly: dict[int, dict[dt.date, Decimal]] = {}
    for row in rows:
        h = out[row["customer_id"]]
        week, m = _as_date(row["w"]), _as_date(row["m"])
        h.weekly[week] = h.weekly.get(week, Decimal(0)) + row["t"]
        per = monthly.setdefault(row["customer_id"], {})
        per[m] = per.get(m, Decimal(0)) + row["t"]
    for cid, plans in plans_by_month.items():
        h = out.setdefault(cid, History())
        for m, planned in sorted(plans.items()):
            h.planned_t += planned
            h.ordered_in_plan_months_t += monthly.get(cid, {}).get(m, Decimal(0))
            h.plan_months.append(m.strftime("%Y-%m"))
    return out


def completion_of(h: History) -> Decimal | None:
    if not h.planned_t:
        return None
    return (h.ordered_in_plan_months_t / h.planned_t).quantize(Decimal("0.0001"))


def regularity_of(h: History, weeks: list[dt.date]) -> tuple[Decimal | None, dict]:
    """1 / (1 + CV) of the weekly tonnes (0 for empty weeks), with the figures behind it."""
    values = [float(h.weekly.get(w, 0)) for w in weeks]
    active = sum(1 for v in values if v > 0)
    facts = {"weeks": len(weeks), "weeks_with_orders": active}
    if not active:
        return (Decimal(0) if h.planned_t else None), facts
    mean = sum(values) / len(values)
    cv = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) / mean
    facts["cv"] = f"{cv:.3f}"
    return Decimal(1 / (1 + cv)).quantize(Decimal("0.0001")), facts
