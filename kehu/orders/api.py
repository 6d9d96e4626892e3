"""/api/v1/orders, /api/v1/payments, /api/v1/customers/{id}/payment-terms. ERP posts carry
``source: "erp"`` and an ``external_id``: the same post again answers 200 with the existing record,
a different record under the same id 409; an order breaking the payment terms 409 ``payment_terms``
(or, with ``request_exception``, 202 with the held order sent for approval)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema, Status

from kehu.orders import selectors, services
from kehu.orders.models import Source

router = Router(tags=["orders"])


class OrderIn(Schema):
    customer: int
    external_id: str | None = None
    source: str = Source.MANUAL
    order_date: dt.date
    delivered_on: dt.date | None = None
    product_line: str
    quantity: Decimal
    unit: str = "t"
    amount: Decimal
    currency: str = "CNY"
    gross_margin: Decimal | None = None
    channel: str = "direct"
    sales_rep: int | None = None
    request_exception: bool = False


class OrderOut(Schema):
    id: int
    customer: int
    customer_name: str
    external_id: str | None
    source: str
    order_date: dt.date
    delivered_on: dt.date | None
    product_line: str
    quantity: Decimal
    unit: str
    quantity_t: Decimal | None
    amount: Decimal
    currency: str
    gross_margin: Decimal | None
    channel: str
    sales_rep: int | None
    created_at: dt.datetime


class OrderPage(Schema):
    items: list[OrderOut]
    next: str | None


class HeldOut(Schema):
    held_order: int
    status: str
    reason: str


class PaymentIn(Schema):
    customer: int
    order: int | None = None
    external_id: str | None = None
    source: str = Source.MANUAL
    due_date: dt.date | None = None
    paid_date: dt.date | None = None
    amount: Decimal
    currency: str = "CNY"


class PaymentOut(Schema):
    id: int
    customer: int
    customer_name: str
    order: int | None
    external_id: str | None
    source: str
    due_date: dt.date
    paid_date: dt.date | None
    amount: Decimal
    currency: str


class PaymentPage(Schema):
    items: list[PaymentOut]
    next: str | None


class PaidIn(Schema):
    paid_date: dt.date


class TermsIn(Schema):
    kind: str
    credit_limit: Decimal | None = None
    credit_days: int | None = None


class TermsOut(Schema):
    customer: int
    kind: str | None
    credit_limit: Decimal | None
    credit_days: int | None
    open_receivables: Decimal


class OrderFilters(Schema):
    customer: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    product_line: str | None = None
    ordering: str = "-order_date"
    limit: int | None = None
    cursor: str | None = None


class PaymentFilters(Schema):
    customer: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str | None = None
    ordering: str = "-due_date"
    limit: int | None = None
    cursor: str | None = None


def order_out(o) -> dict:
    return {"id": o.pk, "customer": o.customer_id, "customer_name": o.customer.name, "external_id": o.external_id,
            "source": o.source, "order_date": o.order_date, "delivered_on": o.delivered_on,
            "product_line": o.product_line, "quantity": o.quantity, "unit": o.unit, "quantity_t": o.quantity_t,
            "amount": o.amount, "currency": o.currency, "gross_margin": o.gross_margin, "channel": o.channel,
            "sales_rep": o.sales_rep_id, "created_at": o.created_at}


def payment_out(p) -> dict:
    return {"id": p.pk, "customer": p.customer_id, "customer_name": p.customer.name, "order": p.order_id,
            "external_id": p.external_id, "source": p.source, "due_date": p.due_date, "paid_date": p.paid_date,
            "amount": p.amount, "currency": p.currency}


@router.get("/orders", response=OrderPage, summary="List orders of customers in my scope")
def order_list(request, filters: Query[OrderFilters]):
    page = selectors.order_list(actor=request.user, **filters.dict())
    return {"items": [order_out(o) for o in page.items], "next": page.next}


@router.post("/orders", response={200: OrderOut, 201: OrderOut, 202: HeldOut},
             summary="Enter or post (ERP, idempotent by source + external_id) an order")
def order_create(request, payload: OrderIn):
    data = payload.dict()
    customer_id, source, ask = data.pop("customer"), data.pop("source"), data.pop("request_exception")
    result = services.order_create(actor=request.user, customer_id=customer_id, data=data, source=source,
                                   request_exception=ask)
    if result.held is not None:
        return Status(202, {"held_order": result.held.pk, "status": result.held.status, "reason": result.held.reason})
    order = selectors.order_get(actor=request.user, order_id=result.order.pk)
    return Status(201 if result.created else 200, order_out(order))


@router.get("/orders/{order_id}", response=OrderOut)
def order_get(request, order_id: int):
    return order_out(selectors.order_get(actor=request.user, order_id=order_id))


@router.get("/payments", response=PaymentPage, summary="List payments and receivables of customers in my scope")
def payment_list(request, filters: Query[PaymentFilters]):
    page = selectors.payment_list(actor=request.user, **filters.dict())
    return {"items": [payment_out(p) for p in page.items], "next": page.next}


@router.post("/payments", response={200: PaymentOut, 201: PaymentOut},
             summary="Record a receivable or payment (ERP: idempotent by source + external_id)")
def payment_create(request, payload: PaymentIn):
    data = payload.dict()
    customer_id, source = data.pop("customer"), data.pop("source")
    result = services.payment_record(actor=request.user, customer_id=customer_id, data=data, source=source)
    payment = selectors.payment_get(actor=request.user, payment_id=result.payment.pk)
    return Status(201 if result.created else 200, payment_out(payment))


@router.get("/payments/{payment_id}", response=PaymentOut)
def payment_get(request, payment_id: int):
    return payment_out(selectors.payment_get(actor=request.user, payment_id=payment_id))


@router.post("/payments/{payment_id}/paid", response=PaymentOut, summary="Record that a receivable was paid")
def payment_paid(request, payment_id: int, payload: PaidIn):
    services.payment_mark_paid(actor=request.user, payment_id=payment_id, paid_date=payload.paid_date)
    return payment_out(selectors.payment_get(actor=request.user, payment_id=payment_id))


def _terms_out(customer_id: int, terms) -> dict:
    return {"customer": customer_id, "kind": terms.kind if terms else None,
            "credit_limit": terms.credit_limit if terms else None, "credit_days": terms.credit_days if terms else None,
            "open_receivables": services.receivables(customer_id)}


@router.get("/customers/{customer_id}/payment-terms", response=TermsOut)
def payment_terms_get(request, customer_id: int):
    return _terms_out(customer_id, selectors.payment_terms_get(actor=request.user, customer_id=customer_id))


@router.put("/customers/{customer_id}/payment-terms", response=TermsOut)
def payment_terms_set(request, customer_id: int, payload: TermsIn):
    terms = services.payment_terms_set(actor=request.user, customer_id=customer_id, **payload.dict())
    return _terms_out(customer_id, terms)
