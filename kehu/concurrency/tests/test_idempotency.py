"""Idempotency (issue 16): a create retried with the same Idempotency-Key after a lost answer never makes a
second record; the same key with another body is refused; keys are per user, in-flight duplicates wait,
and keys expire."""

import datetime as dt

import pytest
from django.utils import timezone

from kehu.concurrency.idempotency import purge_expired
from kehu.concurrency.models import IdempotencyKey
from kehu.customers.models import Contact, Customer
from kehu.orders.models import Order
from kehu.service_desk.models import Complaint
from kehu.service_desk.tickets.models import ServiceTicket

pytestmark = pytest.mark.django_db

COMPLAINT = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
             "subject": "发货延迟", "description": "订单已延迟五天未发货。"}
ORDER = {"order_date": "2026-06-10", "product_line": "聚乙烯 PE", "quantity": "120.5", "unit": "t",
         "amount": "1000000.00"}


def _customer(org):
    from kehu.customers import services
    from kehu.qualification.testing import admit

    # an established (admitted) customer: orders are refused while a company is pending account opening
    return admit(services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"}))


def _cases(org):
    """(user, path, body, model) for a sample of create endpoints."""
    customer = _customer(org)
    ticket = {"customer": customer.pk, "kind": "repair", "channel": "wechat", "subject": "打印机卡纸",
              "description": "财务室激光打印机频繁卡纸，需上门维修。", "contact_name": "李会计"}
    return [
        (org.rep, "/customers", {"name": "杭州新材料科技有限公司"}, Customer),
        (org.rep, f"/customers/{customer.pk}/contacts", {"name": "陈晓", "title": "采购经理"}, Contact),
        (org.agent, "/complaints", COMPLAINT, Complaint),
        (org.rep, "/orders", ORDER | {"customer": customer.pk}, Order),
        (org.agent, "/service-requests", ticket, ServiceTicket),
    ]


def test_retry_after_a_lost_answer_returns_the_first_answer_and_creates_nothing(org, api_client):
    """For customers, contacts, complaints, orders and service requests: the same key and body twice →
    the same status and id, Idempotent-Replayed: true, one record."""
    for user, path, body, model in _cases(org):
        api = api_client.as_user(user)
        before = model.objects.count()
        first = api.post(path, body, headers={"Idempotency-Key": "k-" + path})
        assert first.status_code == 201, (path, first.content)
        retry = api.post(path, body, headers={"Idempotency-Key": "k-" + path})
        assert (retry.status_code, retry.json()["id"]) == (201, first.json()["id"]), path
        assert retry["Idempotent-Replayed"] == "true"
        assert model.objects.count() == before + 1, path


def test_without_a_key_each_post_creates(org, api_client):
    """No header: creates behave as before (two posts, two customers)."""
    api = api_client.as_user(org.rep)
    for _ in range(2):
        assert api.post("/customers", {"name": "杭州新材料科技有限公司", "confirm_duplicate": True}).status_code == 201
    assert Customer.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_same_key_with_a_different_body_is_refused_422(org, api_client):
    """Reusing a key for another request is the client's mistake: 422 idempotency_key_reused, nothing created."""
    api = api_client.as_user(org.rep)
    api.post("/customers", {"name": "杭州新材料科技有限公司"}, headers={"Idempotency-Key": "abc"})
    r = api.post("/customers", {"name": "宁波港口物流有限公司"}, headers={"Idempotency-Key": "abc"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert list(Customer.objects.values_list("name", flat=True)) == ["杭州新材料科技有限公司"]


def test_same_key_on_another_endpoint_is_refused(org, api_client):
    api = api_client.as_user(org.rep)
    customer = _customer(org)
    api.post("/customers", {"name": "杭州新材料科技有限公司"}, headers={"Idempotency-Key": "abc"})
    r = api.post(f"/customers/{customer.pk}/contacts", {"name": "杭州新材料科技有限公司"},
                 headers={"Idempotency-Key": "abc"})
    assert r.status_code == 422
    assert not Contact.objects.exists()


def test_keys_are_per_user(org, api_client):
    """Two users sending the same key each get their own record."""
    for user in (org.rep, org.rep2):
        r = api_client.as_user(user).post("/customers", {"name": f"{user.display_name}的客户"},
                                          headers={"Idempotency-Key": "same-key"})
        assert r.status_code == 201
    assert Customer.objects.count() == 2


def test_duplicate_while_the_first_is_in_flight_is_409(org, api_client):
    """A second request while the first still runs (its key claimed, no answer yet): 409 in progress."""
    from django.test import RequestFactory

    from kehu.concurrency.idempotency import request_hash

    body = '{"name": "杭州新材料科技有限公司"}'
    fake = RequestFactory().post("/api/v1/customers", body, content_type="application/json")
    now = timezone.now()
    IdempotencyKey.objects.create(user=org.rep, key="busy", method="POST", path="/api/v1/customers",
                                  body_hash=request_hash(fake), created_at=now,
                                  expires_at=now + dt.timedelta(hours=24))
    r = api_client.as_user(org.rep).post("/customers", raw=body, headers={"Idempotency-Key": "busy"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "idempotency_in_progress")
    assert not Customer.objects.exists()


def test_a_refused_create_releases_the_key_for_a_corrected_retry(org, api_client):
    """A 4xx created nothing: the key is not kept, so the corrected request with the same key works."""
    api = api_client.as_user(org.rep)
    r = api.post("/customers", {"name": ""}, headers={"Idempotency-Key": "fix-me"})
    assert r.status_code == 422
    assert not IdempotencyKey.objects.exists()
    # body differs from the refused one, but nothing was stored for the key
    assert api.post("/customers", {"name": "杭州新材料科技有限公司"}, headers={"Idempotency-Key": "fix-me"}).status_code == 201


def test_anonymous_with_a_key_is_401_and_stores_nothing(client):
    r = client.post("/api/v1/customers", '{"name": "x"}', content_type="application/json",
                    headers={"Idempotency-Key": "k"})
    assert r.status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_bad_key_is_400(org, api_client):
    r = api_client.as_user(org.rep).post("/customers", {"name": "杭州新材料科技有限公司"},
                                         headers={"Idempotency-Key": "x" * 256})
    assert r.status_code == 400
    assert not Customer.objects.exists()


def test_keys_expire_after_the_configured_time_and_are_purged(org, api_client, settings):
    """After KEHU_IDEMPOTENCY ttl_hours the key is forgotten: the purge deletes it and a retry creates anew."""
    settings.KEHU_IDEMPOTENCY = {"ttl_hours": 1, "in_progress_seconds": 120}
    api = api_client.as_user(org.rep)
    api.post("/customers", {"name": "杭州新材料科技有限公司"}, headers={"Idempotency-Key": "old"})
    key = IdempotencyKey.objects.get()
    assert key.expires_at - key.created_at == dt.timedelta(hours=1)
    assert purge_expired() == 0
    assert purge_expired(now=timezone.now() + dt.timedelta(hours=2)) == 1
    assert api.post("/customers", {"name": "杭州新材料科技有限公司", "confirm_duplicate": True},
                    headers={"Idempotency-Key": "old"}).status_code == 201
    assert Customer.objects.count() == 2


def test_purge_task_forgets_expired_keys_and_old_version_stamps(org, settings):
    """The hourly task deletes expired keys and stamps older than KEHU_VERSION_STAMP_DAYS."""
    from kehu.concurrency.models import VersionStamp
    from kehu.concurrency.tasks import idempotency_purge

    settings.KEHU_VERSION_STAMP_DAYS = 30
    now = timezone.now()
    IdempotencyKey.objects.create(user=org.rep, key="old", method="POST", path="/api/v1/customers", body_hash="x",
                                  created_at=now - dt.timedelta(days=2), expires_at=now - dt.timedelta(days=1))
    IdempotencyKey.objects.create(user=org.rep, key="new", method="POST", path="/api/v1/customers", body_hash="x",
                                  created_at=now, expires_at=now + dt.timedelta(days=1))
    old = VersionStamp.objects.create(object_type="customers.customer", object_id=1, version=2, fields=["name"])
    VersionStamp.objects.filter(pk=old.pk).update(at=now - dt.timedelta(days=31))
    VersionStamp.objects.create(object_type="customers.customer", object_id=1, version=3, fields=["stage"])
    idempotency_purge.call_local()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert list(VersionStamp.objects.values_list("version", flat=True)) == [3]
