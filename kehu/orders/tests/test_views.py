"""The customer's orders page, the payment-terms form and the 360 card (zh-Hans first)."""

import pytest

from kehu.orders import services
from kehu.orders.models import Order, PaymentTerms

pytestmark = pytest.mark.django_db


def test_orders_page_lists_and_records_an_order(org, client, east_customer):
    client.force_login(org.rep)
    url = f"/customers/{east_customer.pk}/orders/"
    r = client.get(url)
    assert r.status_code == 200 and 'data-testid="order-form"' in r.content.decode()
    r = client.post(url, {"form": "order", "o-order_date": "2026-06-10", "o-product_line": "聚乙烯 PE",
                          "o-quantity": "12.5", "o-unit": "t", "o-amount": "100000", "o-channel": "direct"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Order.objects.get().quantity_t == 12.5
    assert "聚乙烯 PE" in client.get(url).content.decode()


def test_orders_page_shows_payment_terms_refusal_on_the_form(org, client, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="prepay")
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2020-01-01", "amount": "5000"})
    client.force_login(org.rep)
    r = client.post(f"/customers/{east_customer.pk}/orders/", {
        "form": "order", "o-order_date": "2026-06-10", "o-product_line": "聚乙烯 PE", "o-quantity": "1",
        "o-unit": "t", "o-amount": "100", "o-channel": "direct"})
    assert r.status_code == 409 and "款到发货" in r.content.decode()
    assert not Order.objects.exists()


def test_orders_page_of_customer_outside_scope_is_404(org, client, north_customer):
    client.force_login(org.rep)
    assert client.get(f"/customers/{north_customer.pk}/orders/").status_code == 404
    assert client.get(f"/customers/{north_customer.pk}/payment-terms/").status_code == 404


def test_orders_page_without_order_read_is_403(org, client, east_customer):
    client.force_login(org.agent)
    assert client.get(f"/customers/{east_customer.pk}/orders/").status_code == 403


def test_orders_page_anonymous_goes_to_login(client, east_customer):
    assert client.get(f"/customers/{east_customer.pk}/orders/").status_code == 302


def test_payment_terms_form_sets_credit_terms(org, client, east_customer):
    client.force_login(org.finance)
    url = f"/customers/{east_customer.pk}/payment-terms/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"kind": "credit", "credit_limit": "", "credit_days": ""})
    assert r.status_code == 422
    r = client.post(url, {"kind": "credit", "credit_limit": "500000", "credit_days": "30"})
    assert r.status_code == 302
    assert PaymentTerms.objects.get(customer=east_customer).credit_days == 30


def test_payment_terms_form_refused_to_account_manager(org, client, east_customer):
    client.force_login(org.rep)
    r = client.post(f"/customers/{east_customer.pk}/payment-terms/", {"kind": "prepay"})
    assert r.status_code == 403 and not PaymentTerms.objects.exists()


def test_customer_card_summarises_orders_and_is_empty_without_permission(org, client, east_customer):
    services.order_create(actor=org.rep, customer_id=east_customer.pk, data={
        "order_date": "2026-06-10", "product_line": "聚乙烯 PE", "quantity": "1200", "unit": "t", "amount": "1"},
        today=None)
    client.force_login(org.rep)
    body = client.get(f"/customers/{east_customer.pk}/orders/card/").content.decode()
    assert "customer-orders-card" in body
    client.force_login(org.agent)
    r = client.get(f"/customers/{east_customer.pk}/orders/card/")
    assert r.status_code == 200 and "customer-orders-card" not in r.content.decode()
