"""Reads of orders, payments and payment terms: narrowed to the customers in the actor's scope (a
row of a customer outside it does not exist: 404) and refused without Perm.ORDER_READ (403)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.customers.selectors import customer_get
from kehu.errors import Forbidden, NotFound
from kehu.orders.models import HeldOrder, HoldStatus, Order, Payment, PaymentTerms
from kehu.pagination import Page, paginate

ORDER_ORDERINGS = {"id": int, "order_date": dt.date, "amount": Decimal}
PAYMENT_ORDERINGS = {"id": int, "due_date": dt.date, "amount": Decimal}


def _require_read(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.ORDER_READ):
        raise Forbidden(_("You are not allowed to do this."))


def _via_customer(actor) -> Q:
    return scope_q(actor, owner_field="customer__owner", department_field="customer__department") & Q(
        customer__deleted_at__isnull=True)


def order_base(*, actor) -> QuerySet[Order]:
    _require_read(actor)
    return Order.objects.filter(_via_customer(actor))


def payment_base(*, actor) -> QuerySet[Payment]:
    _require_read(actor)
    return Payment.objects.filter(_via_customer(actor))


def order_get(*, actor, order_id: int) -> Order:
    order = order_base(actor=actor).select_related("customer", "sales_rep").filter(pk=order_id).first() \
        if 0 < order_id < 2**63 else None
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def payment_get(*, actor, payment_id: int) -> Payment:
    payment = payment_base(actor=actor).select_related("customer").filter(pk=payment_id).first() \
        if 0 < payment_id < 2**63 else None
    if payment is None:
        raise NotFound(_("Payment not found."))
    return payment


def order_list(*, actor, customer: int | None = None, date_from: dt.date | None = None,
               date_to: dt.date | None = None, product_line: str | None = None, ordering: str = "-order_date",
               limit: int | None = None, cursor: str | None = None) -> Page:
    qs = order_base(actor=actor).select_related("customer", "sales_rep")
    if customer is not None:
        customer_get(actor=actor, customer_id=customer)  # 404 outside scope, not an empty list
        qs = qs.filter(customer_id=customer)
    if date_from:
        qs = qs.filter(order_date__gte=date_from)
    if date_to:
        qs = qs.filter(order_date__lte=date_to)
    if product_line:
        qs = qs.filter(product_line=product_line)
    return paginate(qs, ordering=ordering, allowed=ORDER_ORDERINGS, limit=limit, cursor=cursor)


def payment_list(*, actor, customer: int | None = None, date_from: dt.date | None = None,
                 date_to: dt.date | None = None, status: str | None = None, ordering: str = "-due_date",
                 limit: int | None = None, cursor: str | None = None, today: dt.date | None = None) -> Page:
    """Payments by due date; ``status``: open (unpaid), overdue (unpaid after the due date), paid."""
    qs = payment_base(actor=actor).select_related("customer")
    if customer is not None:
        customer_get(actor=actor, customer_id=customer)
        qs = qs.filter(customer_id=customer)
    if date_from:
        qs = qs.filter(due_date__gte=date_from)
    if date_to:
        qs = qs.filter(due_date__lte=date_to)
    today = today or timezone.localdate()
    if status == "open":
        qs = qs.filter(paid_date__isnull=True)
    elif status == "overdue":
        qs = qs.filter(paid_date__isnull=True, due_date__lt=today)
    elif status == "paid":
        qs = qs.filter(paid_date__isnull=False)
    return paginate(qs, ordering=ordering, allowed=PAYMENT_ORDERINGS, limit=limit, cursor=cursor)


def payment_terms_get(*, actor, customer_id: int) -> PaymentTerms | None:
    """The customer's terms (None: none on record); 404 outside scope."""
    _require_read(actor)
    customer_get(actor=actor, customer_id=customer_id)
    return PaymentTerms.objects.filter(customer_id=customer_id).select_related("updated_by").first()


def held_order_list(*, actor, customer_id: int) -> list[HeldOrder]:
    _require_read(actor)
    customer_get(actor=actor, customer_id=customer_id)
    return list(HeldOrder.objects.filter(customer_id=customer_id, status=HoldStatus.PENDING).order_by("-id")[:20])


def customer_order_summary(*, actor, customer_id: int, today: dt.date | None = None) -> dict | None:
    """For the customer 360 card: last 12 months' orders, tonnes and amount, open and overdue
    receivables, the terms. None when the actor may not read orders."""
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.ORDER_READ):
        return None
    customer_get(actor=actor, customer_id=customer_id)
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=365)
    orders = Order.objects.filter(customer_id=customer_id, order_date__gte=since).aggregate(
        n=Count("id"), t=Sum("quantity_t"), a=Sum("amount"))
    pay = Payment.objects.filter(customer_id=customer_id, paid_date__isnull=True).aggregate(
        open=Sum("amount"), overdue=Sum("amount", filter=Q(due_date__lt=today)))
    return {"orders": orders["n"], "tonnes": orders["t"] or Decimal(0), "amount": orders["a"] or Decimal(0),
            "open": pay["open"] or Decimal(0), "overdue": pay["overdue"] or Decimal(0),
            "terms": PaymentTerms.objects.filter(customer_id=customer_id).first()}
