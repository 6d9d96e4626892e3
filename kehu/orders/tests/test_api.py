"""The orders API: ERP idempotency over HTTP, refusals (401/403/404/409), cursor pages, filters."""

import json

import pytest

from kehu.orders import services
from kehu.orders.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"order_date": "2026-06-10", "product_line": "聚乙烯 PE", "quantity": "120.5", "unit": "t",
         "amount": "1000000.00"}


def test_erp_post_is_created_then_replay_answers_200_and_conflict_409(org, api_client, east_customer):
    api = api_client.as_user(org.admin)
    body = ORDER | {"customer": east_customer.pk, "source": "erp", "external_id": "SO-77"}
    r1 = api.post("/orders", body)
    assert r1.status_code == 201, r1.content
    r2 = api.post("/orders", body)
    assert r2.status_code == 200 and r2.json()["id"] == r1.json()["id"]
    r3 = api.post("/orders", body | {"amount": "5"})
    assert r3.status_code == 409 and r3.json()["error"]["code"] == "external_id_conflict"


def test_order_list_anonymous_is_401(client):
    assert client.get("/api/v1/orders").status_code == 401
    assert client.get("/api/v1/payments").status_code == 401
    assert client.get("/api/v1/customers/1/payment-terms").status_code == 401


def test_order_list_without_order_read_is_403(org, api_client):
    assert api_client.as_user(org.agent).get("/orders").status_code == 403
    assert api_client.as_user(org.auditor).get("/payments").status_code == 403


def test_order_of_customer_outside_scope_is_404(org, api_client, north_customer):
    order = services.order_create(actor=org.north_rep, customer_id=north_customer.pk, data=ORDER).order
    api = api_client.as_user(org.rep)
    assert api.get(f"/orders/{order.pk}").status_code == 404
    assert api.get("/orders", {"customer": north_customer.pk}).status_code == 404
    assert api.post("/orders", ORDER | {"customer": north_customer.pk}).status_code == 404
    assert api.get(f"/customers/{north_customer.pk}/payment-terms").status_code == 404
    assert api.get("/orders").json()["items"] == []


def test_order_write_refused_to_finance_but_payment_allowed(org, api_client, east_customer):
    api = api_client.as_user(org.finance)
    assert api.post("/orders", ORDER | {"customer": east_customer.pk}).status_code == 403
    r = api.post("/payments", {"customer": east_customer.pk, "due_date": "2026-06-01", "amount": "10"})
    assert r.status_code == 201
    assert api_client.as_user(org.rep).post(
        "/payments", {"customer": east_customer.pk, "due_date": "2026-06-01", "amount": "10"}).status_code == 403


def test_order_breaking_payment_terms_is_409_payment_terms_or_202_held(org, api_client, client, east_customer):
    services.payment_terms_set(actor=org.finance, customer_id=east_customer.pk, kind="prepay")
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2020-01-01", "amount": "5000"})
    api = api_client.as_user(org.rep)
    r = api.post("/orders", ORDER | {"customer": east_customer.pk})
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment_terms"
    r = api.post("/orders", ORDER | {"customer": east_customer.pk, "request_exception": True})
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert Order.objects.count() == 0


def test_payment_terms_put_and_get(org, api_client, client, east_customer):
    api_client.as_user(org.finance)
    headers = api_client._headers()
    r = client.put(f"/api/v1/customers/{east_customer.pk}/payment-terms",
                   json.dumps({"kind": "credit", "credit_limit": "500000", "credit_days": 45}),
                   content_type="application/json", **headers)
    assert r.status_code == 200, r.content
    body = api_client.get(f"/customers/{east_customer.pk}/payment-terms").json()
    assert (body["kind"], body["credit_days"]) == ("credit", 45)
    api_client.as_user(org.rep)
    r = client.put(f"/api/v1/customers/{east_customer.pk}/payment-terms", json.dumps({"kind": "prepay"}),
                   content_type="application/json", **api_client._headers())
    assert r.status_code == 403
    r = client.put(f"/api/v1/customers/{east_customer.pk}/payment-terms", json.dumps({"kind": "credit"}),
                   content_type="application/json", **headers)
    assert r.status_code == 422


def test_order_list_filters_and_cursor_pages_in_bounded_queries(org, api_client, east_customer,
                                                                django_assert_max_num_queries):
    for i in range(7):
        services.order_create(actor=org.rep, customer_id=east_customer.pk,
                              data=ORDER | {"order_date": f"2026-0{1 + i % 6}-10",
                                            "product_line": "聚丙烯 PP" if i % 2 else "聚乙烯 PE"})
    api = api_client.as_user(org.manager)
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(8):
            body = api.get("/orders", {"limit": 3} | ({"cursor": cursor} if cursor else {})).json()
        seen += [o["id"] for o in body["items"]]
        cursor = body["next"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    pp = api.get("/orders", {"product_line": "聚丙烯 PP"}).json()["items"]
    assert len(pp) == 3
    dated = api.get("/orders", {"date_from": "2026-02-01", "date_to": "2026-03-31"}).json()["items"]
    assert {o["order_date"] for o in dated} == {"2026-02-10", "2026-03-10"}


def test_payment_list_overdue_filter(org, api_client, east_customer):
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2020-01-01", "amount": "10"})
    services.payment_record(actor=org.finance, customer_id=east_customer.pk,
                            data={"due_date": "2020-01-01", "paid_date": "2020-01-01", "amount": "20"})
    api = api_client.as_user(org.finance)
    assert [p["amount"] for p in api.get("/payments", {"status": "overdue"}).json()["items"]] == ["10.00"]
    assert len(api.get("/payments", {"customer": east_customer.pk}).json()["items"]) == 2
