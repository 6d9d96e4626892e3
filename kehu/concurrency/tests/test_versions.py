"""Lost updates (issue 16): customers and contacts carry a version; GET gives it as the ETag, a write must
send it back (If-Match or a body field) and a stale one is refused with what changed — nothing saved."""

import pytest

from kehu.concurrency.models import VersionStamp
from kehu.customers.models import Contact, Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(org, api_client):
    return api_client.as_user(org.rep)


@pytest.fixture
def customer_id(api):
    return api.post("/customers", {"name": "浙江华星石化有限公司", "industry": "石化"}).json()["id"]


def test_get_answers_the_version_as_etag_and_in_the_body(api, customer_id):
    """GET /customers/{id}: body version 1 and ETag W/"1"; a PATCH answers the next version and ETag."""
    r = api.get(f"/customers/{customer_id}")
    assert (r.json()["version"], r["ETag"]) == (1, 'W/"1"')
    r = api.patch(f"/customers/{customer_id}", {"industry": "化工"}, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200
    assert (r.json()["version"], r["ETag"], r.json()["industry"]) == (2, 'W/"2"', "化工")
    assert Customer.objects.get(pk=customer_id).version == 2


def test_patch_without_version_is_428_and_changes_nothing(api, customer_id):
    """A PATCH with neither If-Match nor a version field: 428 precondition_required, the record unchanged."""
    r = api.patch(f"/customers/{customer_id}", {"industry": "化工"})
    assert r.status_code == 428
    assert r.json()["error"]["code"] == "precondition_required"
    c = Customer.objects.get(pk=customer_id)
    assert (c.industry, c.version) == ("石化", 1)


def test_stale_if_match_is_412_with_current_version_and_changed_fields(api, customer_id):
    """Two clients read version 1; the second write is refused (412) and told version 2 changed industry."""
    assert api.patch(f"/customers/{customer_id}", {"industry": "化工"}, headers={"If-Match": 'W/"1"'}).status_code == 200
    r = api.patch(f"/customers/{customer_id}", {"industry": "纺织"}, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 412
    err = r.json()["error"]
    assert (err["code"], err["current_version"], err["your_version"], err["changed_fields"]) == (
        "version_conflict", 2, 1, ["industry"])
    assert r["ETag"] == 'W/"2"'
    c = Customer.objects.get(pk=customer_id)
    assert (c.industry, c.version) == ("化工", 2)


def test_stale_body_version_is_409_and_strict_even_for_another_field(api, customer_id):
    """The API is strict: a stale body version is a 409 even when the fields differ (no silent merge)."""
    api.patch(f"/customers/{customer_id}", {"industry": "化工", "version": 1})
    r = api.patch(f"/customers/{customer_id}", {"address": "杭州市上城区", "version": 1})
    assert r.status_code == 409
    assert r.json()["error"]["changed_fields"] == ["industry"]
    assert Customer.objects.get(pk=customer_id).address == ""


def test_strong_etag_and_bad_if_match(api, customer_id):
    """If-Match "1" (strong form) is accepted; a malformed If-Match (or *) is a 400, nothing written."""
    assert api.patch(f"/customers/{customer_id}", {"industry": "化工"}, headers={"If-Match": '"1"'}).status_code == 200
    for bad in ("*", "W/\"abc\"", "1, 2"):
        r = api.patch(f"/customers/{customer_id}", {"industry": "纺织"}, headers={"If-Match": bad})
        assert r.status_code == 400, bad
    assert Customer.objects.get(pk=customer_id).industry == "化工"


def test_version_rises_in_the_database_and_records_changed_fields(api, customer_id):
    """Each change raises the version by one and stamps which fields it changed; a no-op does not."""
    api.patch(f"/customers/{customer_id}", {"industry": "化工", "stage": "intent", "version": 1})
    api.patch(f"/customers/{customer_id}", {"industry": "化工", "version": 2})  # nothing changes
    assert Customer.objects.get(pk=customer_id).version == 2
    stamps = list(VersionStamp.objects.filter(object_id=customer_id, object_type="customers.customer")
                  .values_list("version", "fields"))
    assert stamps == [(2, ["industry", "stage"])]


def test_internal_callers_without_expectation_still_raise_the_version(org, api, customer_id):
    """Imports, ERP and internal services pass no expectation: no check, but the version still rises, so
    an API client holding the old version is refused afterwards."""
    from kehu.customers import services

    services.customer_update(actor=org.rep, customer_id=customer_id, data={"industry": "化工"})
    assert Customer.objects.get(pk=customer_id).version == 2
    assert api.patch(f"/customers/{customer_id}", {"industry": "纺织", "version": 1}).status_code == 409


def test_scope_and_permission_answer_before_the_precondition(org, api_client, customer_id):
    """Outside scope → 404 and a role without write → 403 whether or not a version is sent."""
    other = api_client.as_user(org.north_rep)
    assert other.patch(f"/customers/{customer_id}", {"industry": "化工"}).status_code == 404
    assert other.patch(f"/customers/{customer_id}", {"industry": "化工", "version": 1}).status_code == 404
    analyst = api_client.as_user(org.analyst)
    assert analyst.patch(f"/customers/{customer_id}", {"industry": "化工", "version": 1}).status_code in (403, 404)
    assert Customer.objects.get(pk=customer_id).version == 1


def test_contacts_are_versioned_the_same_way(api, customer_id):
    """Contacts: ETag on GET, 428 without a version, 412 when stale, 200 and version 2 when current."""
    cid = api.post(f"/customers/{customer_id}/contacts", {"name": "陈晓", "title": "采购经理"}).json()["id"]
    r = api.get(f"/contacts/{cid}")
    assert (r.json()["version"], r["ETag"]) == (1, 'W/"1"')
    assert api.patch(f"/contacts/{cid}", {"title": "采购总监"}).status_code == 428
    assert api.patch(f"/contacts/{cid}", {"title": "采购总监"}, headers={"If-Match": 'W/"1"'}).status_code == 200
    r = api.patch(f"/contacts/{cid}", {"title": "总经理"}, headers={"If-Match": 'W/"1"'})
    assert (r.status_code, r.json()["error"]["changed_fields"]) == (412, ["title"])
    c = Contact.objects.get(pk=cid)
    assert (c.title, c.version) == ("采购总监", 2)


def test_openapi_documents_if_match_and_idempotency_key(api):
    """The OpenAPI document lists If-Match on the versioned PATCHes and Idempotency-Key on creates."""
    doc = api.get("/openapi.json").json()
    names = lambda path, method: [p["name"] for p in doc["paths"][path][method].get("parameters", [])]  # noqa: E731
    assert "If-Match" in names("/api/v1/customers/{customer_id}", "patch")
    assert "If-Match" in names("/api/v1/contacts/{contact_id}", "patch")
    assert "Idempotency-Key" in names("/api/v1/customers", "post")
    assert "Idempotency-Key" not in names("/api/v1/customers/{customer_id}/reveal", "post")
    assert "Idempotency-Key" in names("/api/v1/complaints/{complaint_id}/extension", "post")  # 202, marked
    assert "If-Match" in names("/api/v1/complaints/{complaint_id}/actions", "post")


def test_merge_raises_the_survivors_version(org, api):
    """A merge changes the survivor without an expectation: its version still rises, so a client that read
    it before the merge is refused instead of overwriting the merged values."""
    from kehu.customers import merge, services

    survivor = services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"})
    loser = services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司", "industry": "石化",
                                                           "confirm_duplicate": True})
    merge.customer_merge(actor=org.manager, survivor_id=survivor.pk, loser_id=loser.pk)
    assert Customer.objects.get(pk=survivor.pk).version == 2
    assert api.patch(f"/customers/{survivor.pk}", {"industry": "化工", "version": 1}).status_code == 409
