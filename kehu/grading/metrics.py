"""The facts grading computes on, set-based in SQL: one GROUP BY per table over the look-back window,
per customer per month (orders: tonnes, amount, margin, count, last order date; payments: amount due and
amount paid by its due date), and one per customer for the first order and lifetime amount. No query per
customer: a regrade of the whole book is three scans."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, DecimalField, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from kehu.customers.models import Customer
from kehu.grading.kinds.base import METRICS, Window, months_back
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


def customer_facts(*, as_of: dt.date, with_scores: bool = False, with_history: bool = True) -> dict[int, dict]:
    """customer → {owner_id, department_id, first_order_month, lifetime_amount[, scores]} for the population
    (``with_history`` False: without the first order month and lifetime amount, which ABC and RFM never read —
    their GROUP BY runs over every order ever)."""
    facts = {pk: {"owner_id": owner, "department_id": dept, "first_order_month": None, "lifetime_amount": Decimal(0)}
             for pk, owner, dept in graded_customers().values_list("pk", "owner_id", "department_id").iterator(
                 chunk_size=5000)}
    if not with_history:
        history = ()
    else:
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


WINDOW_WORK_MEM = "256MB"  # a million customers' aggregates hashed in memory instead of spilled to disk


@contextmanager
def _work_mem(cur, value: str):
    """``work_mem`` raised for the statements inside, restored after."""
    cur.execute("SHOW work_mem")
    before = cur.fetchone()[0]
    cur.execute("SELECT set_config('work_mem', %s, false)", [value])
    yield  # on an error a transaction's rollback restores it (SET is transactional)
    cur.execute("SELECT set_config('work_mem', %s, false)", [before])


# Summed as integers (cents, grams) and scaled back in SQL: the same numeric value and scale as SUM of the
# numeric column (every amount has two decimals, every tonnage three: the columns' scale), but a 16-byte int8
# sum state per group instead of numeric's — a million groups hash in a third of the memory, faster.
ORDER_SUMS = {"quantity_t": ("quantity_t", 1000), "amount": ("amount", 100), "gross_margin": ("gross_margin", 100),
              "order_count": None}


def _scaled_sum(column: str, factor: int = 100, where: str | None = None) -> str:
    """SUM of a numeric column with ``factor``'s decimals as an int8 sum scaled back: exact, the same value and
    scale (``* 0.01`` gives two decimals) as ``SUM(column)``."""
    return (f"SUM(CAST({column} * {factor} AS bigint)){f' FILTER (WHERE {where})' if where else ''} "
            f"* {format(Decimal(1).scaleb(-len(str(factor)) + 1), 'f')}")


def _sqlite_scaled_sum(column: str, factor: int = 100, where: str | None = None) -> str:
    """SQLite: SUM of a decimal column in integer units (cents, grams) — an exact 64-bit integer sum, scaled back
    in Python (``_scaled``). SQLite stores a decimal as a REAL (15 significant digits kept): ``round(x * factor)``
    is the stored decimal's integer units exactly (a column's value has at most ``factor``'s decimals, and
    x × factor stays far below 2^53 for the 15 digits a REAL keeps), where ``SUM(x)`` adds binary fractions."""
    return f"SUM(CAST(round({column} * {factor}) AS INTEGER)){f' FILTER (WHERE {where})' if where else ''}"


def _scaled(exponent: int):
    """SQLite's integer sum → the Decimal PostgreSQL's scaled sum gives (same value, same scale); None stays."""
    def convert(value):
        return None if value is None else Decimal(value).scaleb(exponent)
    return convert


def _identity(value):
    return value


def _iso_date(value) -> dt.date | None:
    return value if value is None or isinstance(value, dt.date) else dt.date.fromisoformat(value)


def window(*, as_of: dt.date, months: int, with_halves: bool = True, needs: frozenset[str] | None = None,
           with_last: bool = True, with_half_amounts: bool = True, with_active: bool = True, with_lifetime: bool = False,
           chunk: int = 20000) -> Window:
    """The ABC / RFM / scorecard inputs (kinds.base.Window) over the ``months`` ending with ``as_of``'s month in
    one GROUP BY per table — a row per customer instead of ``monthly_rows``' Python dict per customer and month
    (several GB at a million customers). Exact on both databases: PostgreSQL sums ``numeric`` (as int8 units
    scaled back), SQLite sums integer cents and grams (``_sqlite_scaled_sum``) converted to ``Decimal`` here —
    so summing the window at once gives what adding up the months' exact decimals gives.
    ``with_halves`` False: without ``halves`` (only the scorecard reads them; ``with_half_amounts`` False: their
    amounts are 0, only a growth dimension reads them; ``with_active`` False: their month count is 0, only a
    loyalty dimension reads it). ``needs``: the metrics the kind
    reads (None: all) — only those are summed (the others read 0), and the payments are not read unless one of
    theirs is needed: an ABC policy on the amount sums one column of the orders. ``with_last`` False: without
    the last order date (only RFM reads it). ``with_lifetime``: also ``lifetime`` (customer → amount of every
    order up to ``as_of``, for a customer with any) from the same scan of the orders — the window's sums are
    then ``FILTER``ed to the window."""
    pg = connection.vendor == "postgresql"
    span = months_back(as_of, months)
    mid = span[len(span) // 2]
    stages = list(getattr(settings, "KEHU_GRADING_STAGES", ("customer",)))
    population = ("customer_id IN (SELECT id FROM customers_customer WHERE deleted_at IS NULL AND stage IN "
                  f"({', '.join(['%s'] * len(stages))}))")
    in_window = "order_date >= %s" if with_lifetime else None
    active_where = f"amount > 0 AND {in_window}" if in_window else "amount > 0"
    # The months with an amount: amounts are never negative (Order's check), so a month's sum is not 0 exactly
    # when one of its orders has an amount above 0. PostgreSQL: as bits of one integer (bit_or); SQLite (no
    # bit_or, and a date is ISO text): the distinct 'YYYY-MM' of those orders counted.
    if not with_active:
        active = "NULL"
    elif pg:
        # Up to 63 months in a bigint (a shift by 64 or more wraps around, bit 63 is the sign); a longer window
        # (a scorecard reads up to 120 months) in a bit string of its length, whose '1's are counted.
        mask = "bigint" if len(span) < 64 else f"bit({len(span)})"
        base_month = span[0].year * 12 + span[0].month - 1
        active = (f"bit_or(CAST(1 AS {mask}) << (CAST(EXTRACT(YEAR FROM order_date) AS integer) * 12 "
                  f"+ CAST(EXTRACT(MONTH FROM order_date) AS integer) - 1 - {int(base_month)})) "
                  f"FILTER (WHERE {active_where})")
    else:
        active = f"COUNT(DISTINCT substr(order_date, 1, 7)) FILTER (WHERE {active_where})"
    summed_sql = _scaled_sum if pg else _sqlite_scaled_sum
    # SQLite: the tables read in storage order and grouped through its sorter. Its plan otherwise walks the
    # (customer, date) index and fetches each order by rowid — random reads of a table larger than the page
    # cache at a million customers (100k / 1M: 1.02 s against 1.34 s for ABC's window, 1.02 s against 2.56 s
    # with a page cache a tenth of the table, the 1M case).
    orders_table, payments_table = ("orders_order", "orders_payment") if pg else (
        "orders_order NOT INDEXED", "orders_payment NOT INDEXED")
    cents = _identity if pg else _scaled(-2)
    grams = _identity if pg else _scaled(-3)
    day_of = _identity if pg else _iso_date
    month_count = (int.bit_count if len(span) < 64 else lambda bits: bits.count("1")) if pg else int
    zero = Decimal(0)
    wanted = frozenset(METRICS) if needs is None else frozenset(needs)
    sums: dict[int, dict[str, Decimal]] = {}
    last: dict[int, dt.date] = {}
    halves: dict[int, tuple[Decimal, Decimal, int]] = {}
    lifetime: dict[int, Decimal] = {}

    params: list = []
    cols = []
    # The newer half's amount is the window's amount less the older half's (exact) — one sum fewer.
    summed_metrics = wanted | ({"amount"} if with_halves and with_half_amounts else set())
    for m, summed in ORDER_SUMS.items():
        if m in summed_metrics:
            if summed is None:
                cols.append(f"COUNT(*) FILTER (WHERE {in_window})" if in_window else "COUNT(*)")
            else:
                cols.append(summed_sql(*summed, where=in_window))
            params += [span[0]] if in_window else []
        else:
            cols.append("NULL")
    if with_last:
        cols.append(f"MAX(order_date) FILTER (WHERE {in_window})" if in_window else "MAX(order_date)")
        params += [span[0]] if in_window else []
    else:
        cols.append("NULL")
    if with_halves and with_half_amounts:
        cols.append(summed_sql("amount", where=f"order_date < %s{' AND ' + in_window if in_window else ''}"))
        params += [mid] + ([span[0]] if in_window else [])
    else:
        cols.append("NULL")
    cols.append("NULL")
    if with_halves:
        cols.append(active)
        params += [span[0]] if in_window and with_active else []
    else:
        cols.append("NULL")
    if with_lifetime:
        cols.append("COUNT(*) FILTER (WHERE order_date >= %s)")
        cols.append(summed_sql("amount"))
        params += [span[0]]
    read_orders = with_halves or with_last or with_lifetime or bool(summed_metrics & set(ORDER_SUMS))
    with connection.cursor() as cur, (_work_mem(cur, WINDOW_WORK_MEM) if pg else nullcontext()):
        if read_orders:
            cur.execute(f"SELECT customer_id, {', '.join(cols)} FROM {orders_table} WHERE "
                        f"{'' if with_lifetime else 'order_date >= %s AND '}order_date <= %s AND {population} "
                        "GROUP BY customer_id", [*params, *([] if with_lifetime else [span[0]]), as_of, *stages])
        while read_orders and (rows := cur.fetchmany(chunk)):
            for row in rows:
                cid, q, a, gm, n, day, first, _second, bits = row[:9]
                if with_lifetime:
                    lifetime[cid] = cents(row[10]) if row[10] is not None else zero
                    if not row[9]:
                        continue  # orders before the window only
                a = cents(a) if a is not None else zero
                sums[cid] = {"quantity_t": grams(q) if q is not None else zero, "amount": a,
                             "gross_margin": cents(gm) if gm is not None else zero,
                             "order_count": Decimal(n) if n is not None else zero,
                             "due_amount": zero, "paid_on_time_amount": zero}
                if with_last:
                    last[cid] = day_of(day)
                if with_halves:
                    first = cents(first) if first is not None else zero
                    halves[cid] = (first, a - first if with_half_amounts else zero,
                                   month_count(bits) if bits is not None else 0)
        if not wanted & {"due_amount", "paid_on_time_amount"}:
            return Window(sums, last, halves, lifetime)
        cur.execute(f"SELECT customer_id, {summed_sql('amount')}, {summed_sql('amount', where='paid_date <= due_date')} "
                    f"FROM {payments_table} WHERE due_date >= %s AND due_date <= %s AND {population} "
                    "GROUP BY customer_id", [span[0], as_of, *stages])
        while rows := cur.fetchmany(chunk):
            for cid, due, on_time in rows:
                per = sums.get(cid)
                if per is None:
                    per = sums[cid] = {"quantity_t": zero, "amount": zero, "gross_margin": zero, "order_count": zero}
                    if with_halves:
                        halves[cid] = (zero, zero, 0)
                per["due_amount"] = cents(due) if due is not None else zero
                per["paid_on_time_amount"] = cents(on_time) if on_time is not None else zero
    return Window(sums, last, halves, lifetime)


# ---------------------------------------------------------------- the set-based path (threshold, consecutive)

ORDER_METRICS = {"quantity_t": "o.quantity_t", "amount": "o.amount", "gross_margin": "o.gross_margin",
                 "order_count": "1"}
PAYMENT_METRICS = {"due_amount": "p.amount",
                   "paid_on_time_amount": "CASE WHEN p.paid_date <= p.due_date THEN p.amount END"}


def _decimal_converter():
    """SQL sums to Decimal exactly as the ORM path converts them (SQLite: a float kept to 15 significant digits,
    like Django's DecimalField converter for an aggregate; PostgreSQL: numeric is already a Decimal)."""
    if connection.vendor == "sqlite":
        create = decimal.Context(prec=15).create_decimal_from_float
        zero = Decimal(0)

        def convert(value):
            if value is None:
                return zero
            if isinstance(value, str):
                return Decimal(value)
            return create(value)
        return convert
    zero = Decimal(0)

    def convert(value):
        if value is None:
            return zero
        return value if isinstance(value, Decimal) else Decimal(value)
    return convert


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return _as_date(value)
    return dt.date.fromisoformat(str(value)[:10])


def month_matrix(*, as_of: dt.date, months: int, metric: str, first_order: bool, policy_name: str,
                 chunk: int = 20000) -> Iterator[tuple]:
    """Every graded customer once, in id order, with one metric per month computed in one GROUP BY:
    ``(customer_id, owner_id, department_id, current grade, current policy id, overridden_until_run,
    first order month or None, [value per month, oldest first])``. The same numbers as ``monthly_rows`` + the
    kinds' ``monthly`` (a month without a row is 0), without a Python row per customer and month."""
    span = months_back(as_of, months)
    bounds = span[1:] + [as_of + dt.timedelta(days=1)]
    if metric in ORDER_METRICS:
        table, alias, day, expr = "orders_order", "o", "order_date", ORDER_METRICS[metric]
    else:
        table, alias, day, expr = "orders_payment", "p", "due_date", PAYMENT_METRICS[metric]
    cols = ", ".join(f"SUM(CASE WHEN {alias}.{day} >= %s AND {alias}.{day} < %s THEN {expr} END) AS m{i}"
                     for i in range(len(span)))
    params: list = []
    for start, end in zip(span, bounds, strict=True):
        params += [start, end]
    stages = list(getattr(settings, "KEHU_GRADING_STAGES", ("customer",)))
    first_sql = ("(SELECT MIN(f.order_date) FROM orders_order f WHERE f.customer_id = c.id AND f.order_date <= %s)"
                 if first_order else "NULL")
    sql = (f"SELECT c.id, c.owner_id, c.department_id, g.grade, g.policy_id, g.overridden_until_run, {first_sql}, "
           f"{', '.join(f'm.m{i}' for i in range(len(span)))} FROM customers_customer c "
           f"LEFT JOIN (SELECT {alias}.customer_id AS customer_id, {cols} FROM {table} {alias} "
           f"WHERE {alias}.{day} >= %s AND {alias}.{day} <= %s GROUP BY {alias}.customer_id) m ON m.customer_id = c.id "
           f"LEFT JOIN grading_customergrade g ON g.customer_id = c.id AND g.policy_name = %s "
           f"WHERE c.deleted_at IS NULL AND c.stage IN ({', '.join(['%s'] * len(stages))}) ORDER BY c.id")
    args = ([as_of] if first_order else []) + params + [span[0], as_of, policy_name] + stages
    convert = _decimal_converter()
    with connection.cursor() as cur:
        cur.execute(sql, args)
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            for row in rows:
                first = _date(row[6]) if first_order else None
                yield (row[0], row[1], row[2], row[3], row[4], bool(row[5]), first,
                       [convert(v) for v in row[7:]])


def lost_customers(*, policy_name: str) -> list[tuple[int, str, int | None]]:
    """(customer, current grade, department) of customers graded under ``policy_name`` who left the population."""
    stages = list(getattr(settings, "KEHU_GRADING_STAGES", ("customer",)))
    with connection.cursor() as cur:
        cur.execute("SELECT g.customer_id, g.grade, c.department_id FROM grading_customergrade g "
                    "LEFT JOIN customers_customer c ON c.id = g.customer_id WHERE g.policy_name = %s AND NOT ("
                    f"c.deleted_at IS NULL AND c.stage IN ({', '.join(['%s'] * len(stages))})) ORDER BY g.customer_id",
                    [policy_name, *stages])
        return [tuple(r) for r in cur.fetchall()]
