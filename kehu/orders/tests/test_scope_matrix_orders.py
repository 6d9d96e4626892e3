"""The orders endpoints × every role (and anonymous), written out from the policy: orders are read by
the sales roles, finance and the analyst (not the service agent or the auditor), entered by the sales
roles, payments and payment terms recorded by finance and the administrator; a customer outside the
role's scope answers 404; a refusal changes nothing and leaves no audit entry."""

from __future__ import annotations

import json

import pytest

from kehu.access.services import token_create
from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import build_org, module_data, org_customer
from kehu.orders import services
from kehu.orders.models import Order, Payment, PaymentTerms

ALL = ["admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "agent", "finance",
       "analyst", "auditor"]
READ = {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep", "finance", "analyst"}
ORDER_WRITE = {"admin", "executive", "manager", "north_manager", "rep", "rep2", "north_rep"}
PAYMENT_WRITE = {"admin", "finance"}
SEES_REPS_CUSTOMER = {"admin", "executive", "manager", "rep", "agent", "finance", "analyst", "auditor"}

ORDER = {"order_date": "2026-06-10", "product_line": "聚乙烯 PE", "quantity": "10", "unit": "t", "amount": "1000"}


def build_world():
    org = build_org()
    hx = org_customer(org.rep, "浙江华星石化有限公司")
    order = services.order_create(actor=org.rep, customer_id=hx.pk, data=ORDER).order
    payment = services.payment_record(actor=org.finance, customer_id=hx.pk,
                                      data={"due_date": "2030-01-01", "amount": "10"}).payment
    tokens = {key: token_create(actor=user, name="matrix")[1] for key, user in org.users.items()}
    return org, tokens, {"hx": hx.pk, "order": order.pk, "payment": payment.pk}


orders_world = module_data("orders_world", build_world)

# name, method, path, body, need, scoped, ok
ENDPOINTS = [
    ("order_list", "GET", "/orders", None, READ, False, 200),
    ("order_list_customer", "GET", "/orders?customer={hx}", None, READ, True, 200),
    ("order_get", "GET", "/orders/{order}", None, READ, True, 200),
    ("order_create", "POST", "/orders", {**ORDER, "customer": "{hx}"}, ORDER_WRITE, True, 201),
    ("payment_list", "GET", "/payments", None, READ, False, 200),
    ("payment_get", "GET", "/payments/{payment}", None, READ, True, 200),
    ("payment_create", "POST", "/payments", {"customer": "{hx}", "due_date": "2030-02-01", "amount": "5"},
     PAYMENT_WRITE, True, 201),
    ("payment_paid", "POST", "/payments/{payment}/paid", {"paid_date": "2026-06-01"}, PAYMENT_WRITE, True, 200),
    ("terms_get", "GET", "/customers/{hx}/payment-terms", None, READ, True, 200),
    ("terms_put", "PUT", "/customers/{hx}/payment-terms", {"kind": "prepay"}, PAYMENT_WRITE, True, 200),
]


def _fill(value, ids):
    if isinstance(value, str):
        text = value.format(**ids)
        return int(text) if value.startswith("{") and text.isdigit() else text
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(client, ep, ids, token):
    _name, method, path, body, _need, _scoped, _ok = ep
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    url = "/api/v1" + path.format(**ids)
    if method == "GET":
        return client.get(url, **headers)
    fn = getattr(client, method.lower())
    return fn(url, json.dumps(_fill(body or {}, ids)), content_type="application/json", **headers)


def _snapshot():
    return (AuditEntry.objects.count(), Order.objects.count(), Payment.objects.count(),
            PaymentTerms.objects.count(), Payment.objects.filter(paid_date__isnull=False).count())


@pytest.mark.parametrize("who", ALL)
@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep[0])
def test_orders_endpoint_answers_each_role_by_scope_and_permission(db, client, orders_world, ep, who):
    _org, tokens, ids = orders_world
    name, method, _path, _body, need, scoped, ok = ep
    want = 403 if who not in need else (404 if scoped and who not in SEES_REPS_CUSTOMER else ok)
    before = _snapshot()
    r = _call(client, ep, ids, tokens[who])
    assert r.status_code == want, (name, who, r.status_code, r.content[:300])
    if want >= 400:
        assert r.json()["error"]["code"] == {403: "forbidden", 404: "not_found"}[want]
        assert _snapshot() == before
    elif method != "GET":
        assert AuditEntry.objects.count() > before[0]
    else:
        assert AuditEntry.objects.count() == before[0]


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep[0])
def test_orders_endpoint_anonymous_gets_401(db, client, orders_world, ep):
    _org, _tokens, ids = orders_world
    before = _snapshot()
    r = _call(client, ep, ids, None)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    assert _snapshot() == before
