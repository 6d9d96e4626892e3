"""Data-subject rights (PIPL): export in clear (audited) and erasure (anonymised; audit kept)."""

import json

import pytest

from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_verify
from kehu.customers import search_index, selectors, services
from kehu.customers.models import ChangeRecord, Consent, Contact, Customer
from kehu.customers.tests.factories import (
    BIRTHDAY_WANG,
    ID_LI,
    MOBILE_LI,
    MOBILE_WANG,
    TRAITS_WANG,
    contact,
    org_customer,
    person_customer,
)
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def li(org):
    """A person customer (个人客户) with her own consent and a contact (her assistant)."""
    c = person_customer(org.rep, "李娜", mobile=MOBILE_LI, id_number=ID_LI, address="杭州市西湖区文三路 90 号",
                        needs="家庭理财")
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"mobile": "13700001111"})
    services.consent_create(actor=org.rep, customer_id=c.pk,
                            data={"purpose": "理财产品推荐", "channel": "App 勾选", "evidence": "李娜 2026-01-05 勾选"})
    return c


@pytest.fixture
def wang(org):
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    w = contact(org.rep, hx, "王强", mobile=MOBILE_WANG, birthday=BIRTHDAY_WANG, traits=TRAITS_WANG,
                email="wangqiang@hxsh.com.cn", wechat="wq_hxsh")
    services.consent_create(actor=org.rep, customer_id=hx.pk, data={
        "contact": w.pk, "purpose": "产品推广短信", "channel": "纸质同意书", "evidence": "王强签字 2026-03-01"})
    services.contact_update(actor=org.rep, contact_id=w.pk, data={"title": "总经理"})
    return w


# ---------------------------------------------------------------- export

def test_subject_export_of_a_person_customer_is_clear_complete_and_audited(org, li):
    """The export holds the person's data in clear, her consents and history; the export is audited."""
    data = services.subject_export(actor=org.auditor, customer_id=li.pk)
    json.dumps(data)  # plain JSON, as the API returns it
    subject = data["subject"]
    assert subject["name"] == "李娜" and subject["mobile"] == "13700001111" and subject["id_number"] == ID_LI
    assert subject["address"] == "杭州市西湖区文三路 90 号"
    assert [c["purpose"] for c in subject["consents"]] == ["合同履行与客户服务", "开户实名核验", "理财产品推荐"]
    assert [h["action"] for h in subject["history"]] == ["create", "update"]
    entry = AuditEntry.objects.filter(action="customer.subject_export").get()
    assert entry.actor == org.auditor and entry.object_id == str(li.pk)


def test_subject_export_of_a_contact(org, wang):
    """A contact's export carries mobile, birthday and traits in clear, and the consents they gave."""
    data = services.subject_export(actor=org.admin, contact_id=wang.pk)["subject"]
    assert (data["mobile"], data["birthday"], data["traits"]) == (MOBILE_WANG, BIRTHDAY_WANG, TRAITS_WANG)
    assert data["customer"]["name"] == "浙江华星石化有限公司"
    assert [c["purpose"] for c in data["consents"]] == ["合同履行与客户服务", "产品推广短信"]
    assert [h["action"] for h in data["history"]] == ["create", "update"]
    assert AuditEntry.objects.filter(action="contact.subject_export", actor=org.admin).count() == 1


@pytest.mark.parametrize("role", ["executive", "manager", "rep", "agent", "finance", "analyst"])
def test_subject_export_needs_the_privacy_permission(org, li, role):
    """Only administrators and the auditor (DPO) export a data subject; nothing is audited otherwise."""
    with pytest.raises(Forbidden):
        services.subject_export(actor=getattr(org, role), customer_id=li.pk)
    assert not AuditEntry.objects.filter(action__endswith="subject_export").exists()


def test_subject_export_of_an_organisation_is_refused(org):
    """An organisation is not a data subject: export its contacts one by one."""
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    with pytest.raises(Invalid):
        services.subject_export(actor=org.auditor, customer_id=hx.pk)


# ---------------------------------------------------------------- erase

def test_subject_erase_of_a_person_customer_anonymises_everything_but_keeps_audit(org, li):
    """Erasure clears the personal fields, the history values and the name's search tokens; the
    audit log records the erasure (by whom) and stays intact."""
    old_tokens = search_index.terms_of(li.pk)
    services.subject_erase(actor=org.auditor, customer_id=li.pk)
    c = Customer.objects.get(pk=li.pk)
    assert c.name == services.ERASED_NAME and c.erased_at and c.deleted_at
    assert c.mobile_enc == c.mobile_hash == c.mobile_masked == ""
    assert c.id_number_enc == c.id_number_hash == c.id_number_masked == ""
    assert c.address == c.needs == "" and c.custom == {}
    assert "lina" not in c.name_pinyin and c.name_initials != "ln"
    tokens = search_index.terms_of(li.pk)
    assert "n:李娜" in old_tokens and not tokens & old_tokens
    history = json.dumps([h.changes for h in ChangeRecord.objects.filter(customer=li)], ensure_ascii=False)
    for trace in ("李娜", "139****4321", "137****1111", "110***", "文三路", "家庭理财", "理财产品推荐", "勾选"):
        assert trace not in history
    assert set(Consent.objects.filter(customer=li).values_list("evidence", flat=True)) == {""}
    entry = AuditEntry.objects.get(action="customer.erase")
    assert entry.actor == org.auditor and entry.object_repr == services.ERASED_NAME
    assert audit_verify() == []
    assert not selectors.customer_base(actor=org.admin).filter(pk=li.pk).exists()


def test_subject_erase_of_a_contact_leaves_no_trace_in_history(org, wang):
    """Erasing a contact blanks their fields, their consents' evidence and every history value about
    them (including the consent rows that named them)."""
    hx_id = wang.customer_id
    services.subject_erase(actor=org.admin, contact_id=wang.pk)
    w = Contact.objects.get(pk=wang.pk)
    assert w.name == services.ERASED_NAME and w.erased_at
    assert (w.mobile_enc, w.mobile_hash, w.email, w.wechat, w.traits, w.birthday) == ("", "", "", "", "", None)
    assert set(Consent.objects.filter(contact=w).values_list("evidence", flat=True)) == {""}
    history = json.dumps([h.changes for h in ChangeRecord.objects.filter(customer_id=hx_id)], ensure_ascii=False)
    for trace in ("王强", "138****5678", "wangqiang", "wq_hxsh", "总经理", "王强签字"):
        assert trace not in history
    assert "浙江华星石化有限公司" in history  # the organisation's own history is not personal data
    assert selectors.customer_list(actor=org.admin, q=MOBILE_WANG).items == []  # lookup hash gone too
    assert AuditEntry.objects.filter(action="contact.erase", actor=org.admin).count() == 1
    assert audit_verify() == []


def test_subject_erase_twice_is_a_conflict(org, wang):
    """A contact already erased cannot be erased again."""
    services.subject_erase(actor=org.auditor, contact_id=wang.pk)
    with pytest.raises(Conflict):
        services.subject_erase(actor=org.auditor, contact_id=wang.pk)


@pytest.mark.parametrize("role", ["executive", "manager", "rep", "agent", "analyst"])
def test_subject_erase_needs_the_privacy_permission(org, li, role):
    """Only administrators and the auditor (DPO) erase a data subject."""
    with pytest.raises(Forbidden):
        services.subject_erase(actor=getattr(org, role), customer_id=li.pk)
    assert Customer.objects.get(pk=li.pk).erased_at is None


def test_erased_customer_is_gone_from_reads_and_search(org, li):
    """After erasure the person can no longer be found by name, pinyin or mobile."""
    services.subject_erase(actor=org.auditor, customer_id=li.pk)
    for q in ("李娜", "lina", "13700001111"):
        assert selectors.customer_list(actor=org.admin, q=q).items == []
    with pytest.raises(NotFound):
        selectors.customer_get(actor=org.admin, customer_id=li.pk)
