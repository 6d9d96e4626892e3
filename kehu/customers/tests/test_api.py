"""The customer API's shapes: cursor pages, history, custom fields, reveal and export over HTTP."""

import pytest

from kehu.audit.models import AuditEntry
from kehu.customers import services
from kehu.customers.tests.factories import BASIS, ID_CONSENT, ID_LI, MOBILE_LI, make_uscc

pytestmark = pytest.mark.django_db


def test_list_pages_are_items_and_next_cursor_until_null(org, api_client):
    """GET /customers answers {"items": [...], "next": cursor|null, "prev", "count", "count_kind"};
    following `next` visits every customer once, also when names tie."""
    api = api_client.as_user(org.rep)
    for i in range(7):
        assert api.post("/customers", {"name": ["华星石化", "东方贸易"][i % 2],
                                        "confirm_duplicate": True}).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "ordering": "name"} | ({"cursor": cursor} if cursor else {})
        body = api.get("/customers", params).json()
        assert set(body) == {"items", "next", "prev", "count", "count_kind"}
        assert (body["count"], body["count_kind"]) == (7, "exact")
        seen += [c["id"] for c in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7


def test_patch_changes_only_given_fields_and_history_shows_them(org, api_client):
    """PATCH changes the fields sent; GET …/history shows the change with its author, newest first."""
    api = api_client.as_user(org.rep)
    cid = api.post("/customers", {"name": "浙江华星石化有限公司", "industry": "石化", "uscc": make_uscc(1)}).json()["id"]
    r = api.patch_current(f"/customers/{cid}", {"stage": "intent"})
    assert r.status_code == 200
    assert (r.json()["stage"], r.json()["industry"], r.json()["uscc"]) == ("intent", "石化", make_uscc(1))
    items = api.get(f"/customers/{cid}/history").json()["items"]
    assert [(h["action"], h["actor"]) for h in items] == [("update", "rep"), ("create", "rep")]
    assert items[0]["changes"] == {"stage": ["prospect", "intent"]}


def test_custom_fields_declared_by_admin_are_type_checked_over_the_api(org, api_client):
    """An administrator declares a number field; a rep's text in it is refused, a number accepted."""
    r = api_client.as_user(org.admin).post("/custom-fields", {"key": "capital", "label": "注册资本（万元）",
                                                               "field_type": "number"})
    assert r.status_code == 201
    api = api_client.as_user(org.rep)
    r = api.post("/customers", {"name": "浙江华星石化有限公司", "custom": {"capital": "五千万"}})
    assert r.status_code == 422 and "custom.capital" in r.json()["error"]["fields"]
    r = api.post("/customers", {"name": "浙江华星石化有限公司", "custom": {"capital": 5000}})
    assert r.status_code == 201 and r.json()["custom"] == {"capital": 5000}
    assert [f["key"] for f in api.get("/custom-fields").json()] == ["capital"]


def test_person_customer_reveal_and_export_over_http(org, api_client):
    """Detail is masked; reveal gives one clear value (audited); the auditor's export gives all."""
    rep = api_client.as_user(org.rep)
    r = rep.post("/customers", {"name": "李娜", "kind": "person", "mobile": "139 8765 4321", "id_number": ID_LI,
                                "basis": BASIS, "id_number_consent": ID_CONSENT})
    assert r.status_code == 201
    cid = r.json()["id"]
    assert (r.json()["mobile"], r.json()["id_number"]) == ("139****4321", "110***********002X")
    assert rep.post(f"/customers/{cid}/reveal", {"field": "mobile"}).json() == {"field": "mobile",
                                                                               "value": MOBILE_LI}
    export = api_client.as_user(org.auditor).get(f"/customers/{cid}/export")
    assert export.status_code == 200
    assert export.json()["subject"]["id_number"] == ID_LI
    assert AuditEntry.objects.filter(action__in=["customer.reveal", "customer.subject_export"]).count() == 2


def test_erase_over_http_then_the_record_is_gone(org, api_client):
    """POST …/erase answers 204; the person is then not found, and the erasure is in the audit log."""
    c = services.customer_create(actor=org.rep, data={"name": "李娜", "kind": "person", "mobile": MOBILE_LI,
                                                     "basis": BASIS})
    assert api_client.as_user(org.admin).post(f"/customers/{c.pk}/erase").status_code == 204
    assert api_client.as_user(org.rep).get(f"/customers/{c.pk}").status_code == 404
    assert AuditEntry.objects.filter(action="customer.erase").exists()
