"""metrics.window is exact on both databases: its sums, last order dates, halves, active months and lifetime
amounts equal a reference added up in Python from the rows' Decimal values (never from SQL sums), for cents
summed many times, the largest amounts, zero-amount months, negative margins, payments paid on time or late or
not at all, orders before the window (lifetime only) and after the review date (nowhere), and customers outside
the population. SQLite sums integer cents and grams; PostgreSQL int8 units scaled back."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kehu.customers.models import Customer
from kehu.grading import metrics
from kehu.grading.kinds import KINDS, base
from kehu.orders.models import Order, Payment

AS_OF = dt.date(2026, 6, 30)
ZERO = Decimal(0)


def reference(orders, payments, population, *, as_of: dt.date, months: int, with_lifetime: bool = False) -> base.Window:
    """The window added up in Python from ``orders`` (customer, date, tonnes or None, amount, margin or None)
    and ``payments`` (customer, due, paid or None, amount) — exact Decimal arithmetic, month by month for the
    active months (a month counts when its amount is above 0), as the kinds define them."""
    span = base.months_back(as_of, months)
    first, mid = span[0], span[len(span) // 2]
    sums: dict[int, dict[str, Decimal]] = {}
    last: dict[int, dt.date] = {}
    per_month: dict[int, dict[dt.date, Decimal]] = {}
    older: dict[int, Decimal] = {}
    lifetime: dict[int, Decimal] = {}

    def row(cid):
        return sums.setdefault(cid, {m: ZERO for m in base.METRICS})

    for cid, day, tonnes, amount, margin in orders:
        if cid not in population or day > as_of:
            continue
        if with_lifetime:
            lifetime[cid] = lifetime.get(cid, ZERO) + amount
        if day < first:
            continue
        per = row(cid)
        per["quantity_t"] += tonnes or ZERO
        per["amount"] += amount
        per["gross_margin"] += margin or ZERO
        per["order_count"] += 1
        last[cid] = max(last.get(cid, day), day)
        month = day.replace(day=1)
        per_month.setdefault(cid, {})[month] = per_month.get(cid, {}).get(month, ZERO) + amount
        if day < mid:
            older[cid] = older.get(cid, ZERO) + amount
    for cid, due, paid, amount in payments:
        if cid not in population or not first <= due <= as_of:
            continue
        per = row(cid)
        per["due_amount"] += amount
        if paid is not None and paid <= due:
            per["paid_on_time_amount"] += amount
    halves = {cid: (older.get(cid, ZERO), per["amount"] - older.get(cid, ZERO),
                    sum(1 for v in per_month.get(cid, {}).values() if v > 0)) for cid, per in sums.items()}
    return base.Window(sums, last, halves, lifetime)


def population_ids() -> set[int]:
    return set(metrics.graded_customers().values_list("pk", flat=True))


def stored_rows():
    """The rows as the ORM reads them back: Decimal values (SQLite: the stored decimal, 15 digits kept)."""
    orders = list(Order.objects.values_list("customer_id", "order_date", "quantity_t", "amount", "gross_margin"))
    payments = list(Payment.objects.values_list("customer_id", "due_date", "paid_date", "amount"))
    return orders, payments


def assert_window_exact(orders, payments, *, as_of: dt.date, months: int):
    population = population_ids()
    expected = reference(orders, payments, population, as_of=as_of, months=months)
    got = metrics.window(as_of=as_of, months=months)
    assert got.sums == expected.sums
    assert got.last == expected.last
    assert got.halves == expected.halves
    assert got == expected
    with_life = metrics.window(as_of=as_of, months=months, with_lifetime=True)
    assert with_life == reference(orders, payments, population, as_of=as_of, months=months, with_lifetime=True)
    # Each reduced form the kinds ask for reads the same numbers.
    assert metrics.window(as_of=as_of, months=months, with_halves=False).sums == expected.sums
    reduced = metrics.window(as_of=as_of, months=months, needs=frozenset({"amount"}), with_last=False,
                             with_halves=False)
    assert {cid: per["amount"] for cid, per in reduced.sums.items()} == {
        cid: per["amount"] for cid, per in expected.sums.items() if cid in reduced.sums}
    assert set(reduced.sums) == set(expected.last)  # the orders only: customers with an order in the window
    paid = metrics.window(as_of=as_of, months=months, needs=frozenset({"due_amount", "paid_on_time_amount"}),
                          with_last=False, with_halves=False)
    assert {cid: (p["due_amount"], p["paid_on_time_amount"]) for cid, p in paid.sums.items()} == {
        cid: (p["due_amount"], p["paid_on_time_amount"]) for cid, p in expected.sums.items() if p["due_amount"]}
    active = metrics.window(as_of=as_of, months=months, needs=frozenset({"amount"}), with_last=False,
                            with_half_amounts=False, with_lifetime=True)
    assert {cid: h[2] for cid, h in active.halves.items()} == {cid: expected.halves[cid][2] for cid in expected.last}
    return got


def make_customers(org, n: int) -> list[Customer]:
    customers = [Customer.objects.create(name=f"窗口客户{i}", owner=org.rep, department=org.rep.department,
                                         stage="prospect" if i == 5 else "customer") for i in range(n)]
    Customer.objects.filter(pk=customers[-1].pk).update(deleted_at=timezone.now())
    return customers


def write(customers, orders, payments):
    Order.objects.bulk_create([
        Order(customer=customers[c], order_date=day, product_line="聚乙烯", quantity=tonnes or Decimal(1), unit="t",
              quantity_t=tonnes, amount=amount, gross_margin=margin) for c, day, tonnes, amount, margin in orders])
    Payment.objects.bulk_create([Payment(customer=customers[c], due_date=due, paid_date=paid, amount=amount)
                                 for c, due, paid, amount in payments])
    ids = [c.pk for c in customers]
    return ([(ids[c], *rest) for c, *rest in orders], [(ids[c], *rest) for c, *rest in payments])


def test_cents_many_times_large_amounts_zero_months_and_lifetime(org):
    """The cases a float sum gets wrong or a bitmask miscounts, each on its own customer."""
    customers = make_customers(org, 8)
    big = Decimal("99999999.99")
    orders, payments = [], []
    # 0: 0.01 four thousand times over the window's months (a float sum drifts from 40.00)
    for i in range(4000):
        orders.append((0, AS_OF - dt.timedelta(days=i % 360), Decimal("0.001"), Decimal("0.01"), Decimal("-0.01")))
    # 1: the largest amounts, many of them, and the largest a REAL keeps exactly (15 digits)
    orders += [(1, AS_OF - dt.timedelta(days=31 * k), Decimal("123456789.123"), big, big) for k in range(11)]
    orders.append((1, AS_OF, Decimal("999999999999.999"), Decimal("9999999999999.99"), None))
    # 2: zero-amount months between active ones, a month of zeros and one cent
    orders += [(2, dt.date(2026, 1, 10), None, ZERO, ZERO), (2, dt.date(2026, 3, 1), Decimal("5"), ZERO, None),
               (2, dt.date(2026, 3, 31), Decimal("5"), Decimal("0.01"), None),
               (2, dt.date(2025, 8, 1), Decimal("1"), Decimal("7.77"), None)]
    # 3: only orders before the window (lifetime, no window row) and one after the review date (nowhere)
    orders += [(3, dt.date(2024, 2, 29), Decimal("1.5"), Decimal("1000.10"), None),
               (3, AS_OF + dt.timedelta(days=1), Decimal("1"), Decimal("5"), None)]
    # 4: the prospect (outside the population) with orders and payments: never in the window
    orders.append((5, AS_OF, Decimal("1"), Decimal("3.33"), None))
    payments.append((5, AS_OF, AS_OF, Decimal("3.33")))
    # 4: active months 64 apart and in a 64-month window's last month (a 64-bit mask wraps, its top bit is the sign)
    orders += [(4, day, None, Decimal("1.00"), None) for day in (
        dt.date(2016, 7, 15), dt.date(2021, 3, 10), dt.date(2021, 11, 15), dt.date(2026, 5, 1), dt.date(2026, 6, 1))]
    # 6: payments only: on time, late, unpaid, paid early, outside the window
    payments += [(6, dt.date(2026, 2, 1), dt.date(2026, 2, 1), Decimal("0.01")),
                 (6, dt.date(2026, 2, 1), dt.date(2026, 2, 2), Decimal("100.10")),
                 (6, dt.date(2026, 5, 31), None, big), (6, dt.date(2026, 6, 30), dt.date(2026, 1, 1), big),
                 (6, dt.date(2025, 6, 30), dt.date(2025, 6, 1), Decimal("9"))]
    payments += [(0, AS_OF - dt.timedelta(days=i), AS_OF - dt.timedelta(days=i), Decimal("0.01")) for i in range(3000)]
    # 7: deleted customer
    orders.append((7, AS_OF, Decimal("1"), Decimal("1"), None))
    orders, payments = write(customers, orders, payments)
    got = assert_window_exact(orders, payments, as_of=AS_OF, months=12)
    c = [x.pk for x in customers]
    assert got.sums[c[0]]["amount"] == Decimal("40.00") and got.sums[c[0]]["quantity_t"] == Decimal("4.000")
    assert got.sums[c[0]]["paid_on_time_amount"] == Decimal("3.65")  # the 365 days of the window
    assert got.sums[c[1]]["amount"] == big * 11 + Decimal("9999999999999.99")
    assert got.halves[c[2]][2] == 2  # August and March: January's zero and a month of zeros do not count
    assert c[3] not in got.sums and c[5] not in got.sums and c[7] not in got.sums
    assert got.sums[c[6]]["due_amount"] == Decimal("0.01") + Decimal("100.10") + big * 2
    assert got.sums[c[6]]["paid_on_time_amount"] == Decimal("0.01") + big
    assert got.halves[c[6]] == (ZERO, ZERO, 0)
    life = metrics.window(as_of=AS_OF, months=12, with_lifetime=True).lifetime
    assert life[c[3]] == Decimal("1000.10") and c[5] not in life
    # The same customers over other windows, down to one month and up to ten years (more months than a
    # 64-bit mask holds: the active months are counted, not bits).
    for as_of, months, active in ((AS_OF, 1, 1), (dt.date(2026, 3, 31), 2, 0), (AS_OF, 7, 2), (AS_OF, 63, 3),
                                  (AS_OF, 64, 4), (AS_OF, 65, 4), (AS_OF, 120, 5)):
        got = assert_window_exact(orders, payments, as_of=as_of, months=months)
        assert got.halves.get(c[4], (0, 0, 0))[2] == active


def test_random_book_window_is_exact(org):
    from kehu.grading.tests.test_sql_equivalence import random_book

    random_book(org, 7)
    orders, payments = stored_rows()
    for as_of, months in ((AS_OF, 12), (dt.date(2026, 8, 31), 5), (dt.date(2026, 4, 30), 3)):
        assert_window_exact(orders, payments, as_of=as_of, months=months)


AMOUNTS = st.one_of(st.sampled_from([ZERO, Decimal("0.01"), Decimal("99999999.99"), Decimal("0.10")]),
                    st.integers(0, 10_000_000_000).map(lambda n: Decimal(n).scaleb(-2)))
TONNES = st.one_of(st.none(), st.integers(0, 10_000_000_000).map(lambda n: Decimal(n).scaleb(-3)))
MARGINS = st.one_of(st.none(), st.integers(-100_000_000, 10_000_000_000).map(lambda n: Decimal(n).scaleb(-2)))
DAYS = st.integers(-800, 40).map(lambda d: AS_OF + dt.timedelta(days=d))
ORDERS = st.lists(st.tuples(st.integers(0, 6), DAYS, TONNES, AMOUNTS, MARGINS), max_size=40)
PAYMENTS = st.lists(st.tuples(st.integers(0, 6), DAYS, st.one_of(st.none(), st.integers(-20, 20)), AMOUNTS.filter(bool)),
                    max_size=15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=ORDERS, payments=PAYMENTS, months=st.integers(1, 30), shift=st.integers(-14, 2))
def test_window_equals_the_exact_reference(org, orders, payments, months, shift):
    payments = [(c, due, None if late is None else due + dt.timedelta(days=late), a) for c, due, late, a in payments]
    as_of = AS_OF + dt.timedelta(days=31 * shift)
    with transaction.atomic():  # each example on its own rows: rolled back after
        customers = make_customers(org, 7)  # the sixth a prospect, the seventh deleted
        rows, pays = write(customers, orders, payments)
        assert_window_exact(rows, pays, as_of=as_of, months=months)
        transaction.set_rollback(True)


@pytest.mark.parametrize("kind", ["abc", "rfm", "scorecard", "key_account"])
def test_grades_do_not_depend_on_the_order_of_the_window_rows(org, kind):
    """The window's rows come in customer order from SQLite's GROUP BY and in hash order from PostgreSQL's:
    the kinds grade the same whatever the order."""
    from kehu.grading.tests.test_sql_equivalence import random_book

    random_book(org, 9)
    config = KINDS[kind].validate(KINDS[kind].DEFAULT_CONFIG)
    window = metrics.window(as_of=AS_OF, months=config["months"], with_lifetime=True)
    facts = metrics.customer_facts(as_of=AS_OF, with_scores=True)
    expected = KINDS[kind].grade(config, rows=window, customers=facts, previous={}, as_of=AS_OF)
    rng = random.Random(kind)
    for _ in range(3):
        def shuffled(d):
            items = list(d.items())
            rng.shuffle(items)
            return dict(items)
        window2 = base.Window(shuffled(window.sums), shuffled(window.last), shuffled(window.halves),
                              shuffled(window.lifetime))
        got = KINDS[kind].grade(config, rows=window2, customers=shuffled(facts), previous={}, as_of=AS_OF)
        assert {c: (g.grade, g.explanation) for c, g in got.items()} == {
            c: (g.grade, g.explanation) for c, g in expected.items()}
