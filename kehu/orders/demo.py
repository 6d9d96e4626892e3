"""Demo data of the orders: 12 months of orders and payments for the demo company's customers.

Polyolefin buyers (石化 / 塑料 / 化工 industries and a share of the manufacturers) order in tonnes:
a few large ones above 3,000 t a month (三星 in 004 第13篇), some between 1,000 and 3,000, most below
1,000. Other organisations order in pieces. Each order gets its receivable (due after the credit days);
most are paid on time, some late, the latest still open. Payment terms: credit for the larger
buyers, payment before delivery (款到发货) for some small ones.

Rows are bulk-inserted (one audit entry per kind), not posted one by one: a demo company of 2,000
customers gets ~60,000 orders."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from kehu.audit.services import audit_record
from kehu.customers.models import Customer
from kehu.orders.models import Channel, Order, Payment, PaymentTerms, Source, TermsKind, Unit

MAX_CUSTOMERS = 600  # customers that get orders (the rest have none yet)
POLYOLEFIN_LINES = ["聚乙烯 PE", "聚丙烯 PP"]
OTHER_LINES = ["包装材料", "设备配件", "技术服务"]
PRICE_PER_T = {"聚乙烯 PE": (7600, 9200), "聚丙烯 PP": (7000, 8600)}


def _month_starts(today: dt.date, months: int = 12) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for i in range(months, 0, -1):
        y, m = divmod(first.year * 12 + first.month - 1 - i, 12)
        out.append(dt.date(y, m + 1, 1))
    return out


def _monthly_tonnes(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.04:
        return rng.uniform(3100, 5200)  # 三星
    if r < 0.08:
        return rng.uniform(2000, 3000)
    if r < 0.15:
        return rng.uniform(1000, 2000)
    return rng.uniform(40, 950)


@transaction.atomic
def demo_load(*, users: dict, rng: random.Random, today: dt.date | None = None) -> str:
    if Order.objects.filter(source=Source.IMPORT, external_id__startswith="DEMO-").exists():
        return "orders: demo orders already there"
    today = today or timezone.localdate()
    admin = users.get("admin") or next(iter(users.values()))
    customers = list(Customer.objects.filter(deleted_at__isnull=True, kind="organization")
                     .order_by("id").values("id", "industry", "owner_id")[:MAX_CUSTOMERS])
    months = _month_starts(today)
    orders: list[Order] = []
    terms: list[PaymentTerms] = []
    plan: list[tuple[int, int]] = []  # (order index, credit days)
    n = 0
    for c in customers:
        poly = c["industry"] in ("石化", "化工", "塑料") or (c["industry"] == "制造" and rng.random() < 0.3)
        if not poly and rng.random() < 0.5:
            continue
        base = _monthly_tonnes(rng) if poly else 0
        trend = rng.uniform(-0.02, 0.04)
        credit_days = rng.choice([30, 30, 45, 60])
        prepay = poly and base < 300 and rng.random() < 0.3
        channel = rng.choices([Channel.DIRECT, Channel.AGENT, Channel.DEALER, Channel.ONLINE],
                              weights=[5, 2, 3, 1])[0]
        monthly_amount = Decimal(0)
        for k, month in enumerate(months):
            if poly:
                tonnes = base * (1 + trend) ** k * rng.uniform(0.8, 1.2)
                if base < 300 and rng.random() < 0.2:
                    continue  # small buyers skip months
                parts = 1 if tonnes < 300 else rng.randint(2, 6)
                for _p in range(parts):
                    line = rng.choice(POLYOLEFIN_LINES)
                    q = Decimal(tonnes / parts).quantize(Decimal("0.001"))
                    if q <= 0:
                        continue
                    price = Decimal(rng.randint(*PRICE_PER_T[line]))
                    amount = (q * price).quantize(Decimal("0.01"))
                    use_kg = q < 50 and rng.random() < 0.3
                    day = month + dt.timedelta(days=rng.randrange(28))
                    if day >= today:
                        continue
                    n += 1
                    orders.append(Order(
                        customer_id=c["id"], external_id=f"DEMO-{n:07d}", source=Source.IMPORT, order_date=day,
                        delivered_on=day + dt.timedelta(days=rng.randint(0, 5)), product_line=line,
                        quantity=q * 1000 if use_kg else q, unit=Unit.KILOGRAM if use_kg else Unit.TONNE,
                        quantity_t=q, amount=amount, gross_margin=(amount * Decimal(rng.uniform(0.03, 0.09)))
                        .quantize(Decimal("0.01")), channel=channel, sales_rep_id=c["owner_id"], created_by=admin))
                    plan.append((len(orders) - 1, 0 if prepay else credit_days))
                    monthly_amount += amount
            else:
                if rng.random() < 0.4:
                    continue
                day = month + dt.timedelta(days=rng.randrange(28))
                if day >= today:
                    continue
                pieces = rng.randint(10, 2000)
                amount = Decimal(pieces * rng.randint(80, 900))
                n += 1
                orders.append(Order(
                    customer_id=c["id"], external_id=f"DEMO-{n:07d}", source=Source.IMPORT, order_date=day,
                    delivered_on=day + dt.timedelta(days=rng.randint(1, 10)), product_line=rng.choice(OTHER_LINES),
                    quantity=pieces, unit=Unit.PIECE, quantity_t=None, amount=amount,
                    gross_margin=(amount * Decimal(rng.uniform(0.1, 0.3))).quantize(Decimal("0.01")),
                    channel=channel, sales_rep_id=c["owner_id"], created_by=admin))
                plan.append((len(orders) - 1, credit_days))
                monthly_amount += amount
        if prepay:
            terms.append(PaymentTerms(customer_id=c["id"], kind=TermsKind.PREPAY, updated_by=admin))
        elif monthly_amount:
            limit = (monthly_amount / 12 * Decimal(rng.choice([1.5, 2, 3]))).quantize(Decimal("10000"))
            terms.append(PaymentTerms(customer_id=c["id"], kind=TermsKind.CREDIT, credit_limit=max(limit, 100000),
                                      credit_days=credit_days, updated_by=admin))
    Order.objects.bulk_create(orders, batch_size=2000)
    payments = []
    late = 0
    for i, days in plan:
        o = orders[i]
        due = o.order_date + dt.timedelta(days=days)
        r = rng.random()
        if r < 0.82:
            paid = due - dt.timedelta(days=rng.randint(0, min(days, 10)))
        elif r < 0.97:
            paid = due + dt.timedelta(days=rng.randint(3, 75))
            late += 1
        else:
            paid = None
        if paid is not None and paid > today:
            paid = None
        payments.append(Payment(customer_id=o.customer_id, order_id=o.pk, external_id=f"DEMO-P{i + 1:07d}",
                                source=Source.IMPORT, due_date=due, paid_date=paid, amount=o.amount,
                                created_by=admin))
    Payment.objects.bulk_create(payments, batch_size=2000)
    PaymentTerms.objects.bulk_create(terms, batch_size=2000, ignore_conflicts=True)
    audit_record(actor=admin, action="order.import", object_type="orders.order",
                 object_repr=f"demo: {len(orders)} orders", changes={"rows": len(orders), "source": "demo"})
    audit_record(actor=admin, action="payment.import", object_type="orders.payment",
                 object_repr=f"demo: {len(payments)} payments", changes={"rows": len(payments), "source": "demo"})
    return (f"orders: {len(orders)} orders and {len(payments)} payments ({late} paid late) over 12 months for "
            f"{len({o.customer_id for o in orders})} customers, {len(terms)} payment terms")
