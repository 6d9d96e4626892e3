"""The facts grading computes on, set-based in SQL: one GROUP BY per table over the look-back window,
per customer per month (orders: tonnes, amount, margin, count, last order date; payments: amount due and
amount paid by its due date), and one per customer for the first order and lifetime amount. No query per
customer: a regrade of the whole book is three scans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from kehu.customers.models import Customer
from kehu.grading.kinds.base import months_back
from kehu.grading.models import HandScore
from kehu.orders.models import Order, Payment

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=3))


def graded_customers():
    """The population a run grades: live customers in the stages of KEHU_GRADING_STAGES."""
    stages = getattr(settings, "KEHU_GRADING_STAGES", ("customer",))
    return Customer.objects.filter(deleted_at__isnull=True, stage__in=stages)


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def monthly_rows(*, as_of: dt.date, months: int) -> list[dict]:
    """Rows ``{customer_id, month, quantity_t, amount, gross_margin, order_count, last_order_date,
    due_amount, paid_on_time_amount}`` for the ``months`` months ending with the month of ``as_of``."""
    first = months_back(as_of, months)[0]
    population = graded_customers().values("pk")
    orders = (Order.objects.filter(order_date__gte=first, order_date__lte=as_of, customer_id__in=population)
              .annotate(month=TruncMonth("order_date")).values("customer_id", "month")
              .annotate(quantity_t=Coalesce(Sum("quantity_t"), ZERO), amount=Coalesce(Sum("amount"), ZERO),
                        gross_margin=Coalesce(Sum("gross_margin"), ZERO), order_count=Count("id"),
                        last_order_date=Max("order_date"))
              .order_by())
    payments = (Payment.objects.filter(due_date__gte=first, due_date__lte=as_of, customer_id__in=population)
                .annotate(month=TruncMonth("due_date")).values("customer_id", "month")
                .annotate(due_amount=Coalesce(Sum("amount"), ZERO),
                          paid_on_time_amount=Coalesce(Sum("amount", filter=Q(paid_date__lte=F("due_date"))), ZERO))
                .order_by())
    rows: dict[tuple[int, dt.date], dict] = {}
    for row in orders:
        month = _as_date(row["month"])
        rows[(row["customer_id"], month)] = {**row, "month": month, "due_amount": Decimal(0),
                                             "paid_on_time_amount": Decimal(0)}
    for row in payments:
        month = _as_date(row["month"])
        target = rows.setdefault((row["customer_id"], month), {
            "customer_id": row["customer_id"], "month": month, "quantity_t": Decimal(0), "amount": Decimal(0),
            "gross_margin": Decimal(0), "order_count": 0, "last_order_date": None})
        target["due_amount"] = row["due_amount"]
        target["paid_on_time_amount"] = row["paid_on_time_amount"]
    return list(rows.values())


def customer_facts(*, as_of: dt.date, with_scores: bool = False) -> dict[int, dict]:
    """customer → {owner_id, department_id, first_order_month, lifetime_amount[, scores]} for the population."""
    facts = {pk: {"owner_id": owner, "department_id": dept, "first_order_month": None, "lifetime_amount": Decimal(0)}
             for pk, owner, dept in graded_customers().values_list("pk", "owner_id", "department_id").iterator(
                 chunk_size=5000)}
    history = (Order.objects.filter(order_date__lte=as_of, customer_id__in=graded_customers().values("pk"))
               .values("customer_id").annotate(first=Min("order_date"), lifetime=Coalesce(Sum("amount"), ZERO))
               .order_by())
    for row in history:
        item = facts.get(row["customer_id"])
        if item is not None:
            item["first_order_month"] = row["first"].replace(day=1)
            item["lifetime_amount"] = row["lifetime"]
    if with_scores:
        for cid, dimension, score in HandScore.objects.filter(customer_id__in=list(facts)).values_list(
                "customer_id", "dimension", "score") if len(facts) <= 50_000 else HandScore.objects.values_list(
                "customer_id", "dimension", "score"):
            if cid in facts:
                facts[cid].setdefault("scores", {})[dimension] = score
    return facts
