"""A customer's orders and payments (list + entry forms), the payment-terms form, and the orders
card for the customer 360 page (loaded by htmx)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kehu.access.roles import Perm
from kehu.customers.selectors import customer_get
from kehu.orders import selectors, services
from kehu.orders.forms import OrderForm, PaymentForm, TermsForm
from kehu.web import form_submit, page

PAGE_SIZE = 30
PRODUCT_LINES = ["聚乙烯 PE", "聚丙烯 PP", "聚氯乙烯 PVC", "聚苯乙烯 PS", "ABS"]


def _cursor(request, name: str) -> str | None:
    return request.GET.get(name) or None


@page
@require_http_methods(["GET", "POST"])
def customer_orders(request, customer_id: int):
    """The customer's orders and payments, with the entry forms."""
    customer = customer_get(actor=request.user, customer_id=customer_id)
    orders = selectors.order_list(actor=request.user, customer=customer_id, limit=PAGE_SIZE,
                                  cursor=_cursor(request, "orders"))
    payments = selectors.payment_list(actor=request.user, customer=customer_id, limit=PAGE_SIZE,
                                      cursor=_cursor(request, "payments"))
    can_order = request.user.has_kehu_perm(Perm.ORDER_WRITE)
    can_pay = request.user.has_kehu_perm(Perm.PAYMENT_WRITE)
    order_form, payment_form, status = OrderForm(prefix="o"), PaymentForm(prefix="p"), 200
    if request.method == "POST":
        if request.POST.get("form") == "order":
            order_form = OrderForm(request.POST, prefix="o")

            def write():
                data = {k: v for k, v in order_form.cleaned_data.items() if k != "request_exception"}
                return services.order_create(actor=request.user, customer_id=customer_id, data=data,
                                             request_exception=order_form.cleaned_data["request_exception"])

            ok, result, status = form_submit(order_form, write)
            if ok:
                if result.held is not None:
                    messages.warning(request, _("The order breaks the payment terms; it awaits approval."))
                else:
                    messages.success(request, _("Order recorded."))
                return redirect("orders:customer", customer_id)
        elif request.POST.get("form") == "payment":
            payment_form = PaymentForm(request.POST, prefix="p")
            ok, _result, status = form_submit(payment_form, lambda: services.payment_record(
                actor=request.user, customer_id=customer_id, data=payment_form.cleaned_data))
            if ok:
                messages.success(request, _("Payment recorded."))
                return redirect("orders:customer", customer_id)
        elif request.POST.get("form") == "paid":
            services.payment_mark_paid(actor=request.user, payment_id=int(request.POST.get("payment") or 0),
                                       paid_date=request.POST.get("paid_date") or "")
            messages.success(request, _("Payment recorded."))
            return redirect("orders:customer", customer_id)
    context = {
        "customer": customer, "orders": orders, "payments": payments, "order_form": order_form,
        "payment_form": payment_form, "can_order": can_order, "can_pay": can_pay,
        "summary": selectors.customer_order_summary(actor=request.user, customer_id=customer_id),
        "held": selectors.held_order_list(actor=request.user, customer_id=customer_id),
        "product_lines": PRODUCT_LINES,
    }
    return render(request, "orders/customer_orders.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def payment_terms(request, customer_id: int):
    customer = customer_get(actor=request.user, customer_id=customer_id)
    terms = selectors.payment_terms_get(actor=request.user, customer_id=customer_id)
    initial = {"kind": terms.kind, "credit_limit": terms.credit_limit, "credit_days": terms.credit_days} \
        if terms else {"kind": "prepay"}
    form, status = TermsForm(initial=initial), 200
    if request.method == "POST":
        form = TermsForm(request.POST)
        ok, _r, status = form_submit(form, lambda: services.payment_terms_set(
            actor=request.user, customer_id=customer_id, **form.cleaned_data))
        if ok:
            messages.success(request, _("Payment terms saved."))
            return redirect("orders:customer", customer_id)
    return render(request, "orders/payment_terms.html",
                  {"customer": customer, "terms": terms, "form": form,
                   "can_edit": request.user.has_kehu_perm(Perm.PAYMENT_WRITE)}, status=status)


@page
@require_http_methods(["GET"])
def customer_card(request, customer_id: int):
    """The orders card of the customer 360 page (an htmx fragment; empty without Perm.ORDER_READ)."""
    summary = selectors.customer_order_summary(actor=request.user, customer_id=customer_id)
    return render(request, "orders/_customer_card.html", {"summary": summary, "customer_id": customer_id})
