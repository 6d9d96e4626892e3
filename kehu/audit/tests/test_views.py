"""The audit log viewer: auditors and administrators only, filters, cursor paging."""

import pytest
from django.urls import reverse

from kehu.customers import services

pytestmark = pytest.mark.django_db


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


@pytest.fixture
def revealed(org):
    """A customer of the east rep whose contact's mobile the east manager revealed once."""
    customer = services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司", "city": "杭州市"})
    contact = services.contact_create(actor=org.rep, customer_id=customer.pk,
                                      data={"name": "王强", "role": "decision_maker", "mobile": "13812345678",
                                            "basis": {"basis": "contract", "purpose": "供货合同联系"}})
    services.contact_reveal(actor=org.manager, contact_id=contact.pk)
    return contact


def test_rep_gets_403_from_the_audit_viewer(client, org, revealed):
    login(client, org, org.rep)
    r = client.get(reverse("audit:list"))
    assert r.status_code == 403
    assert "只有审计员和系统管理员可以查看审计日志。" in r.content.decode()


def test_audit_link_only_shown_to_roles_that_may_read_it(client, org):
    login(client, org, org.rep)
    assert reverse("audit:list") not in client.get(reverse("customers:list")).content.decode()
    login(client, org, org.auditor)
    assert reverse("audit:list") in client.get(reverse("customers:list")).content.decode()


def test_auditor_sees_the_reveal_entry(client, org, revealed, django_assert_max_num_queries):
    login(client, org, org.auditor)
    with django_assert_max_num_queries(7):
        r = client.get(reverse("audit:list"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "contact.reveal" in body and "王强" in body and "李经理" in body  # the person who revealed it, by name
    assert "13812345678" not in body  # the log records that a value was seen, never the value


def test_audit_filters_by_action_actor_and_object(client, org, revealed):
    login(client, org, org.auditor)
    r = client.get(reverse("audit:list"), {"action": "contact.reveal"})
    assert [row["entry"].action for row in r.context["entries"]] == ["contact.reveal"]
    r = client.get(reverse("audit:list"), {"actor": "rep"})
    # The contact's mobile came with its legal basis, recorded as a consent (issue 8, PIPL 13).
    assert {row["entry"].action for row in r.context["entries"]} == {"customer.create", "contact.create",
                                                                      "consent.create"}
    r = client.get(reverse("audit:list"), {"object_type": "customers.contact", "object_id": str(revealed.pk)})
    assert {row["entry"].action for row in r.context["entries"]} == {"contact.create", "contact.reveal"}
    r = client.get(reverse("audit:list"), {"action": "customer.delete"})
    assert r.context["entries"] == []
    assert "没有符合条件的记录" in r.content.decode()


def test_audit_cursor_paging(client, org, revealed, monkeypatch):
    from kehu.audit import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    login(client, org, org.admin)
    r = client.get(reverse("audit:list"), {"actor": "rep"})
    first = [row["entry"] for row in r.context["entries"]]
    assert [e.action for e in first] == ["consent.create"]  # the mobile's legal basis, after the contact
    assert "actor=rep" in r.context["next_url"] and "下一页" in r.content.decode()
    r = client.get(reverse("audit:list") + r.context["next_url"])
    assert [row["entry"].action for row in r.context["entries"]] == ["contact.create"]
    r = client.get(reverse("audit:list") + r.context["next_url"])
    assert [row["entry"].action for row in r.context["entries"]] == ["customer.create"]
    assert r.context["next_url"] is None
    assert r.context["first_url"] == "?actor=rep" and "第一页" in r.content.decode()


def test_audit_viewer_in_english(client, org, revealed):
    login(client, org, org.auditor)
    client.post("/i18n/setlang/", {"language": "en", "next": "/audit/"})
    body = client.get(reverse("audit:list")).content.decode()
    assert "Audit log" in body and "Actor" in body
