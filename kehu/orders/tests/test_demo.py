import datetime as dt
import random

import pytest
from django.db.models import Sum
from django.db.models.functions import TruncMonth

from kehu.customers.tests.factories import org_customer
from kehu.orders.demo import demo_load
from kehu.orders.models import Order, Payment

pytestmark = pytest.mark.django_db


def test_demo_gives_twelve_months_of_tonnage_orders_and_mostly_timely_payments(org):
    for i in range(40):
        org_customer(org.rep, f"华星{i}石化有限公司", industry="石化")
    out = demo_load(users={"admin": org.admin}, rng=random.Random(7), today=dt.date(2026, 12, 6))
    assert out.startswith("orders:")
    months = Order.objects.annotate(m=TruncMonth("order_date")).values("m").distinct().count()
    assert months == 12
    monthly = (Order.objects.annotate(m=TruncMonth("order_date")).values("customer", "m")
               .annotate(t=Sum("quantity_t")).values_list("t", flat=True))
    assert any(t > 3000 for t in monthly) and sum(t < 1000 for t in monthly) > len(monthly) / 2
    paid = Payment.objects.filter(paid_date__isnull=False)
    on_time = sum(p.paid_date <= p.due_date for p in paid)
    assert on_time > 0.7 * paid.count() and on_time < paid.count()
    assert demo_load(users={"admin": org.admin}, rng=random.Random(7)).endswith("already there")
