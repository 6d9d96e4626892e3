"""Writes of orders (订单/发货), payments (回款) and payment terms (付款条件).

Every write: the actor first, keyword-only arguments, one transaction, an audit entry. The customer is
reached through ``customer_get`` (the actor's scope: outside it the customer does not exist, 404).
ERP posts are idempotent by (source, external_id): the same record posted again returns the existing
one (``created`` False), a different record under the same external id is a 409.

Payment terms (004 第13篇 第九条: 款到发货 or a credit limit and credit days) are checked when an
order is entered: an order that breaks them is refused (409, code ``payment_terms``) unless an
exception is asked for: then the order is held (HeldOrder) and goes to the ``order_terms_exception``
approval chain (sales manager → finance); the approval creates the order.

Receivables are the unpaid payments (``paid_date`` empty): ``due_date`` is the contractual due date
(when a payment is recorded for an order without a due date, the order date plus the customer's
credit days). A receivable is overdue when it is unpaid after its due date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.gates import Action, ensure_business_allowed
from kehu.customers.selectors import customer_get
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.orders.models import (
    Channel,
    HeldOrder,
    HoldStatus,
    Order,
    Payment,
    PaymentTerms,
    Source,
    TermsKind,
    Unit,
    to_tonnes,
)

TERMS_CHAIN = "order_terms_exception"
MAX_AMOUNT = Decimal("99999999999999.99")  # 16 digits, 2 decimals
MAX_QUANTITY = Decimal("9999999999999.999")  # 16 digits, 3 decimals
UNITS, CHANNELS = frozenset(Unit.values), frozenset(Channel.values)
ORDER_FIELDS = ("order_date", "delivered_on", "product_line", "quantity", "unit", "amount", "currency",
                "gross_margin", "channel", "sales_rep")
PAYMENT_FIELDS = ("order", "due_date", "paid_date", "amount", "currency")


class PaymentTermsRefused(Conflict):
    code = "payment_terms"


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


# ---------------------------------------------------------------- cleaning input


def _date(data: dict, name: str, errors: dict, *, required: bool) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            errors.setdefault(name, []).append(_("Required."))
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.setdefault(name, []).append(_("Enter a date as YYYY-MM-DD."))
        return None


def _decimal(data: dict, name: str, errors: dict, *, required: bool, places: int, maximum: Decimal,
             minimum: Decimal | None = None, strict_minimum: bool = False) -> Decimal | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            errors.setdefault(name, []).append(_("Required."))
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        errors.setdefault(name, []).append(_("Enter a number."))
        return None
    if not number.is_finite() or abs(number) > maximum:
        errors.setdefault(name, []).append(_("The number is out of range."))
        return None
    if number != number.quantize(Decimal(1).scaleb(-places)):
        errors.setdefault(name, []).append(_("At most %(n)d decimal places.") % {"n": places})
        return None
    if minimum is not None and (number <= minimum if strict_minimum else number < minimum):
        errors.setdefault(name, []).append(
            _("Must be more than %(m)s.") % {"m": minimum} if strict_minimum else
            _("Must be at least %(m)s.") % {"m": minimum})
        return None
    return number


def _currency(data: dict, errors: dict) -> str:
    value = (data.get("currency") or "CNY").strip().upper()
    if len(value) != 3 or not value.isalpha() or not value.isascii():
        errors.setdefault("currency", []).append(_("Enter a three-letter currency code (CNY)."))
    return value


def _external_id(data: dict, errors: dict) -> str | None:
    value = data.get("external_id")
    if value in (None, ""):
        return None
    value = str(value).strip()
    if not value or len(value) > 100:
        errors.setdefault("external_id", []).append(_("At most 100 characters."))
    return value or None


def _source(value: str | None, errors: dict) -> str:
    value = value or Source.MANUAL
    if value not in Source.values:
        errors.setdefault("source", []).append(_("Unknown source."))
    return value


def clean_order(data: dict, *, users: dict[int, User] | None = None) -> tuple[dict, dict]:
    """The order's field values from ``data`` (strings or typed values) and the errors by field.
    ``users`` (id → user) lets a batch resolve sales reps without a query per row."""
    errors: dict[str, list[str]] = {}
    out: dict = {}
    out["order_date"] = _date(data, "order_date", errors, required=True)
    out["delivered_on"] = _date(data, "delivered_on", errors, required=False)
    if out["order_date"] and out["delivered_on"] and out["delivered_on"] < out["order_date"]:
        errors.setdefault("delivered_on", []).append(_("Delivery cannot be before the order date."))
    line = str(data.get("product_line") or "").strip()
    if not line:
        errors.setdefault("product_line", []).append(_("Required."))
    elif len(line) > 100:
        errors.setdefault("product_line", []).append(_("At most 100 characters."))
    out["product_line"] = line
    out["quantity"] = _decimal(data, "quantity", errors, required=True, places=3, maximum=MAX_QUANTITY,
                               minimum=Decimal(0), strict_minimum=True)
    unit = str(data.get("unit") or Unit.TONNE).strip()
    unit = {"吨": "t", "千克": "kg", "公斤": "kg", "件": "piece"}.get(unit, unit)
    if unit not in UNITS:
        errors.setdefault("unit", []).append(_("Choose t, kg or piece."))
    out["unit"] = unit
    out["amount"] = _decimal(data, "amount", errors, required=True, places=2, maximum=MAX_AMOUNT,
                             minimum=Decimal(0))
    out["currency"] = _currency(data, errors)
    out["gross_margin"] = _decimal(data, "gross_margin", errors, required=False, places=2, maximum=MAX_AMOUNT)
    channel = str(data.get("channel") or Channel.DIRECT).strip()
    if channel not in CHANNELS:
        errors.setdefault("channel", []).append(_("Unknown channel."))
    out["channel"] = channel
    rep = data.get("sales_rep")
    out["sales_rep"] = None
    if rep not in (None, ""):
        rep_user = None
        try:
            rep_id = int(rep.pk if isinstance(rep, User) else rep)
        except (TypeError, ValueError):
            rep_id = None
        if rep_id is not None and 0 < rep_id < 2**63:
            rep_user = users.get(rep_id) if users is not None else User.objects.filter(pk=rep_id).first()
        if rep_user is None or not rep_user.is_active:
            errors.setdefault("sales_rep", []).append(_("Unknown user."))
        out["sales_rep"] = rep_user
    if out["quantity"] is not None and unit in UNITS:
        out["quantity_t"] = to_tonnes(out["quantity"], unit)
    return out, errors


def _same_order(order: Order, values: dict, customer_id: int) -> bool:
    if order.customer_id != customer_id:
        return False
    for name in ORDER_FIELDS:
        mine = getattr(order, f"{name}_id" if name == "sales_rep" else name)
        theirs = values.get(name)
        if name == "sales_rep":
            theirs = theirs.pk if theirs else None
        if mine != theirs:
            return False
    return True


# ---------------------------------------------------------------- payment terms


def receivables(customer_id: int) -> Decimal:
    """Open receivables (unpaid payments, CNY) of a customer."""
    total = Payment.objects.filter(customer_id=customer_id, paid_date__isnull=True).aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)


def terms_violations(customer, amount: Decimal, *, today: dt.date | None = None) -> list[str]:
    """Why an order of ``amount`` breaks the customer's payment terms (empty: it does not). A customer
    without terms on record has none to break."""
    terms = PaymentTerms.objects.filter(customer_id=customer.pk).first()
    if terms is None:
        return []
    today = today or timezone.localdate()
    open_qs = Payment.objects.filter(customer_id=customer.pk, paid_date__isnull=True)
    reasons = []
    overdue = open_qs.filter(due_date__lt=today).aggregate(s=Sum("amount"))["s"]
    due = open_qs.filter(due_date__lte=today).aggregate(s=Sum("amount"))["s"]
    if terms.kind == TermsKind.PREPAY:
        if due:
            reasons.append(_("Payment before delivery (款到发货): %(a)s CNY due is unpaid; the order needs the "
                             "payment first.") % {"a": f"{due:,.2f}"})
        return reasons
    if overdue:
        reasons.append(_("%(a)s CNY is overdue (unpaid after its due date; credit of %(d)d days).") %
                       {"a": f"{overdue:,.2f}", "d": terms.credit_days})
    open_total = receivables(customer.pk)
    if open_total + amount > terms.credit_limit:
        reasons.append(_("Open receivables %(o)s CNY plus this order %(a)s CNY exceed the credit limit of "
                         "%(l)s CNY.") % {"o": f"{open_total:,.2f}", "a": f"{amount:,.2f}",
                                          "l": f"{terms.credit_limit:,.2f}"})
    return reasons


@transaction.atomic
def payment_terms_set(*, actor, customer_id: int, kind: str, credit_limit=None, credit_days=None) -> PaymentTerms:
    """Set the customer's payment terms: prepay (款到发货), or credit with a limit and days."""
    _require(actor, Perm.PAYMENT_WRITE)
    customer = customer_get(actor=actor, customer_id=customer_id, for_update=True)
    errors: dict[str, list[str]] = {}
    if kind not in TermsKind.values:
        errors["kind"] = [_("Choose payment before delivery or credit.")]
    limit = _decimal({"credit_limit": credit_limit}, "credit_limit", errors, required=kind == TermsKind.CREDIT,
                     places=2, maximum=MAX_AMOUNT, minimum=Decimal(0))
    days = None
    if credit_days not in (None, ""):
        try:
            days = int(credit_days)
            if not 0 <= days <= 3650:
                raise ValueError
        except (TypeError, ValueError):
            errors["credit_days"] = [_("Enter a whole number of days between 0 and 3650.")]
            days = None
    elif kind == TermsKind.CREDIT:
        errors["credit_days"] = [_("Required.")]
    if errors:
        raise Invalid(_("The payment terms are not valid."), fields=errors)
    if kind == TermsKind.PREPAY:
        limit, days = None, None
    terms = PaymentTerms.objects.filter(customer=customer).first()
    before = {"kind": terms.kind, "credit_limit": str(terms.credit_limit) if terms and terms.credit_limit is not None
              else None, "credit_days": terms.credit_days} if terms else None
    if terms is None:
        terms = PaymentTerms(customer=customer)
    terms.kind, terms.credit_limit, terms.credit_days, terms.updated_by = kind, limit, days, actor
    terms.save()
    audit_record(actor=actor, action="payment_terms.set", obj=terms, object_repr=f"{customer.name}: {terms}",
                 changes={"before": before, "kind": kind, "credit_limit": str(limit) if limit is not None else None,
                          "credit_days": days})
    return terms


# ---------------------------------------------------------------- orders


@dataclass
class OrderResult:
    order: Order | None
    created: bool
    held: HeldOrder | None = None


def _insert_order(*, actor, customer, values: dict, source: str, external_id: str | None) -> Order:
    order = Order(customer=customer, source=source, external_id=external_id, created_by=actor, **values)
    with transaction.atomic():
        order.save(force_insert=True)
    return order


def _order_audit(actor, order: Order, action: str, **extra) -> None:
    audit_record(actor=actor, action=action, obj=order,
                 changes={"customer": order.customer_id, "source": order.source, "external_id": order.external_id,
                          "order_date": str(order.order_date), "product_line": order.product_line,
                          "quantity": str(order.quantity), "unit": order.unit, "amount": str(order.amount), **extra})


@transaction.atomic
def order_create(*, actor, customer_id: int, data: dict, source: str = Source.MANUAL,
                 request_exception: bool = False, today: dt.date | None = None) -> OrderResult:
    """Enter an order for a customer in scope. With an ``external_id`` in ``data`` the post is idempotent
    per ``source``. An order breaking the payment terms raises PaymentTermsRefused, or — with
    ``request_exception`` — is held and sent for approval (``result.held``)."""
    _require(actor, Perm.ORDER_WRITE)
    customer = customer_get(actor=actor, customer_id=customer_id, for_update=True)
    # 准入 / 暂停业务往来: no order for a customer pending admission, suspended or disqualified (409).
    ensure_business_allowed(customer, Action.ORDER)
    errors: dict[str, list[str]] = {}
    source = _source(source, errors)
    external_id = _external_id(data, errors)
    values, field_errors = clean_order(data)
    for k, v in field_errors.items():
        errors.setdefault(k, []).extend(v)
    if errors:
        raise Invalid(_("The order is not valid."), fields=errors)
    if external_id is not None:
        existing = Order.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            if _same_order(existing, values, customer.pk):
                return OrderResult(existing, False)
            raise Conflict(_("Another order was already posted under the external id “%(e)s”.") %
                           {"e": external_id}, fields={"external_id": [_("Already used.")]}, code="external_id_conflict")
    reasons = terms_violations(customer, values["amount"], today=today)
    if reasons:
        held = HeldOrder.objects.filter(customer=customer, status=HoldStatus.PENDING, data__source=source,
                                        data__external_id=external_id).first() if external_id else None
        if held is not None:  # the same ERP post again while its exception is being decided
            return OrderResult(None, False, held)
        if not request_exception:
            raise PaymentTermsRefused(
                _("The order breaks the customer's payment terms: %(r)s Ask for an exception (sales manager, then "
                  "finance) to enter it anyway.") % {"r": " ".join(reasons)},
                fields={"amount": reasons})
        return OrderResult(None, False, _hold(actor, customer, values, source, external_id, reasons))
    try:
        order = _insert_order(actor=actor, customer=customer, values=values, source=source, external_id=external_id)
    except IntegrityError as exc:  # a concurrent post of the same external id won the race
        existing = Order.objects.filter(source=source, external_id=external_id).first()
        if existing is not None and _same_order(existing, values, customer.pk):
            return OrderResult(existing, False)
        raise Conflict(_("Another order was already posted under the external id “%(e)s”.") %
                       {"e": external_id}, code="external_id_conflict") from exc
    _order_audit(actor, order, "order.create")
    return OrderResult(order, True)


def _hold(actor, customer, values: dict, source: str, external_id: str | None, reasons: list[str]) -> HeldOrder:
    from kehu.approvals.services import approval_request

    data = {k: (str(v) if isinstance(v, (Decimal, dt.date)) else v) for k, v in values.items()}
    data["sales_rep"] = values["sales_rep"].pk if values.get("sales_rep") else None
    data.update(source=source, external_id=external_id)
    held = HeldOrder.objects.create(customer=customer, data=data, reason=" ".join(reasons), requested_by=actor)
    approval_request(actor=actor, chain_code=TERMS_CHAIN, target=held,
                     title=_("Payment terms exception: %(c)s, %(d)s %(p)s %(a)s CNY") %
                     {"c": customer.name, "d": data["order_date"], "p": data["product_line"], "a": data["amount"]},
                     payload={"customer": customer.pk, "amount": data["amount"], "reasons": reasons})
    audit_record(actor=actor, action="order.hold", obj=held, object_repr=str(held)[:200],
                 changes={"customer": customer.pk, "reasons": reasons, "amount": data["amount"]})
    return held


def on_approval_outcome(request, outcome: str) -> None:
    """The approval engine's answer about a held order (same transaction as the decision): approved →
    the order is created (as entered by the requester); rejected or cancelled → nothing is created."""
    held = HeldOrder.objects.select_for_update().select_related("customer", "requested_by").get(pk=request.object_id)
    if held.status != HoldStatus.PENDING or outcome == "returned":
        return
    if outcome != "approved":
        held.status = HoldStatus.REJECTED if outcome == "rejected" else HoldStatus.CANCELLED
        held.save(update_fields=["status"])
        audit_record(actor=None, action=f"order.hold_{held.status}", obj=held, changes={"request": request.pk})
        return
    data = dict(held.data)
    source, external_id = data.pop("source", Source.MANUAL), data.pop("external_id", None)
    values, errors = clean_order(data)
    if errors:
        raise Invalid(_("The held order is no longer valid."), fields=errors)
    if external_id and Order.objects.filter(source=source, external_id=external_id).exists():
        raise Conflict(_("An order was posted meanwhile under the external id “%(e)s”.") % {"e": external_id},
                       code="external_id_conflict")
    values.pop("quantity_t", None)
    values["quantity_t"] = to_tonnes(values["quantity"], values["unit"])
    order = _insert_order(actor=held.requested_by, customer=held.customer, values=values, source=source,
                          external_id=external_id)
    held.status, held.order = HoldStatus.APPROVED, order
    held.save(update_fields=["status", "order"])
    _order_audit(None, order, "order.create", approval_request=request.pk, terms_exception=held.reason)


def register_approval_handlers() -> None:
    try:
        from kehu.approvals.hooks import register_outcome_handler
    except ImportError:  # the approval engine is not installed in this deployment
        return
    register_outcome_handler("orders.heldorder", on_approval_outcome)


# ---------------------------------------------------------------- payments


@dataclass
class PaymentResult:
    payment: Payment
    created: bool


@transaction.atomic
def payment_record(*, actor, customer_id: int, data: dict, source: str = Source.MANUAL) -> PaymentResult:
    """Record a receivable or a payment received (回款) for a customer in scope: ``due_date`` (default:
    the order's date plus the customer's credit days), ``paid_date`` (empty while unpaid), ``amount``.
    Idempotent by (source, external_id) like orders."""
    _require(actor, Perm.PAYMENT_WRITE)
    customer = customer_get(actor=actor, customer_id=customer_id, for_update=True)
    errors: dict[str, list[str]] = {}
    source = _source(source, errors)
    external_id = _external_id(data, errors)
    values: dict = {}
    order = None
    if data.get("order") not in (None, ""):
        try:
            order_id = int(data["order"])
        except (TypeError, ValueError):
            order_id = 0
        order = Order.objects.filter(pk=order_id, customer=customer).first() if 0 < order_id < 2**63 else None
        if order is None:
            errors["order"] = [_("No such order of this customer.")]
    values["order"] = order
    values["due_date"] = _date(data, "due_date", errors, required=order is None)
    if values["due_date"] is None and order is not None:
        terms = PaymentTerms.objects.filter(customer=customer).first()
        values["due_date"] = order.order_date + dt.timedelta(days=(terms.credit_days or 0) if terms else 0)
    values["paid_date"] = _date(data, "paid_date", errors, required=False)
    values["amount"] = _decimal(data, "amount", errors, required=True, places=2, maximum=MAX_AMOUNT,
                                minimum=Decimal(0), strict_minimum=True)
    values["currency"] = _currency(data, errors)
    if errors:
        raise Invalid(_("The payment is not valid."), fields=errors)
    if external_id is not None:
        existing = Payment.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            same = existing.customer_id == customer.pk and all(
                getattr(existing, f"{k}_id" if k == "order" else k) == (v.pk if k == "order" and v else v)
                for k, v in values.items())
            if same:
                return PaymentResult(existing, False)
            raise Conflict(_("Another payment was already posted under the external id “%(e)s”.") %
                           {"e": external_id}, fields={"external_id": [_("Already used.")]}, code="external_id_conflict")
    payment = Payment(customer=customer, source=source, external_id=external_id, created_by=actor, **values)
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("Another payment was already posted under the external id “%(e)s”.") %
                       {"e": external_id}, code="external_id_conflict") from exc
    audit_record(actor=actor, action="payment.record", obj=payment,
                 changes={"customer": customer.pk, "order": order.pk if order else None, "source": source,
                          "external_id": external_id, "due_date": str(payment.due_date),
                          "paid_date": str(payment.paid_date) if payment.paid_date else None,
                          "amount": str(payment.amount)})
    return PaymentResult(payment, True)


@transaction.atomic
def payment_mark_paid(*, actor, payment_id: int, paid_date: dt.date | str) -> Payment:
    """Record that an open receivable was paid on ``paid_date``."""
    _require(actor, Perm.PAYMENT_WRITE)
    payment = Payment.objects.select_for_update().filter(pk=payment_id).first() if 0 < payment_id < 2**63 else None
    if payment is None:
        raise NotFound(_("Payment not found."))
    customer_get(actor=actor, customer_id=payment.customer_id)
    errors: dict = {}
    paid = _date({"paid_date": paid_date}, "paid_date", errors, required=True)
    if errors:
        raise Invalid(_("The payment is not valid."), fields=errors)
    if payment.paid_date is not None:
        raise Conflict(_("This payment is already recorded as paid on %(d)s.") % {"d": payment.paid_date},
                       code="already_paid")
    payment.paid_date = paid
    payment.save(update_fields=["paid_date"])
    audit_record(actor=actor, action="payment.paid", obj=payment, changes={"paid_date": str(paid)})
    return payment
