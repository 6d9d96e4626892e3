import pytest

from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import BASIS

pytestmark = pytest.mark.django_db

USCC = "91330000MA2B3C4D5E"


def valid_uscc():
    from stdnum.cn import uscc

    body = "91330106MA2H0K8X3"
    return body + uscc.calc_check_digit(body)


def test_rep_registers_customer_with_contact_and_mobile_is_masked(org, api_client):
    """A rep registers a customer and a contact; the mobile comes back masked, the write is audited."""
    api = api_client.as_user(org.rep)
    r = api.post("/customers", {"name": "浙江华星石化有限公司", "uscc": valid_uscc(), "industry": "石化",
                                "province": "浙江省", "city": "杭州市"})
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert r.json()["owner"] == org.rep.pk
    r = api.post(f"/customers/{cid}/contacts", {"name": "王强", "mobile": "+86 138-1234-5678", "role": "decision_maker",
                                               "basis": BASIS})
    assert r.status_code == 201, r.content
    assert r.json()["mobile"] == "138****5678"
    assert AuditEntry.objects.filter(action="contact.create").count() == 1
    r = api.get("/customers", {"q": "hxsh"})
    assert [c["id"] for c in r.json()["items"]] == [cid]
    r = api.get("/customers", {"q": "华星"})
    assert [c["id"] for c in r.json()["items"]] == [cid]
    r = api.get("/customers", {"q": "13812345678"})
    assert [c["id"] for c in r.json()["items"]] == [cid]
