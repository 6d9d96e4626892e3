"""Contacts and the decision chain, consents (告知-同意), and revealing confidential values."""

import datetime as dt

import pytest

from kehu.access import protection
from kehu.audit.models import AuditEntry
from kehu.customers import services
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
def hx(org):
    return org_customer(org.rep, "浙江华星石化有限公司", serial=1)


@pytest.fixture
def wang(org, hx):
    return contact(org.rep, hx, "王强", title="总经理", role="decision_maker", mobile="+86 138-1234-5678",
                   birthday=BIRTHDAY_WANG, traits=TRAITS_WANG, email="wangqiang@hxsh.com.cn")


# ---------------------------------------------------------------- contacts

def test_contact_create_encrypts_mobile_and_history_keeps_only_masks(org, hx, wang):
    """A contact's mobile is encrypted with a lookup hash; history holds masked confidential fields."""
    wang.refresh_from_db()
    assert protection.decrypt(wang.mobile_enc) == MOBILE_WANG
    assert wang.mobile_hash == protection.lookup_hash(MOBILE_WANG)
    assert wang.birthday == dt.date(1978, 5, 12) and wang.traits == TRAITS_WANG
    row = ChangeRecord.objects.get(object_type="contact", object_id=wang.pk)
    assert row.changes["mobile"] == [None, "138****5678"]
    assert row.changes["birthday"] == [None, "****-**-**"]
    assert row.changes["traits"] == [None, "******"]
    text = str(row.changes) + str(AuditEntry.objects.get(action="contact.create").changes)
    for clear in (MOBILE_WANG, BIRTHDAY_WANG, TRAITS_WANG):
        assert clear not in text


def test_contact_create_refused_for_read_only_roles_and_outside_scope(org, hx):
    """Read-only roles get 403; a rep who does not own the customer gets 404."""
    with pytest.raises(Forbidden):
        contact(org.agent, hx, "王强")
    with pytest.raises(NotFound):
        contact(org.rep2, hx, "王强")
    assert not Contact.objects.exists()


def test_contact_update_and_delete_are_in_history_and_audited(org, hx, wang):
    """Updating and deleting a contact each leave one history row and one audit entry."""
    services.contact_update(actor=org.rep, contact_id=wang.pk, data={"title": "董事长", "mobile": "13900002222"})
    row = ChangeRecord.objects.get(object_type="contact", action="update")
    assert row.changes == {"title": ["总经理", "董事长"], "mobile": ["138****5678", "139****2222"]}
    services.contact_delete(actor=org.rep, contact_id=wang.pk)
    assert not Contact.objects.filter(pk=wang.pk).exists()
    assert ChangeRecord.objects.filter(object_type="contact", object_id=wang.pk, action="delete").exists()
    actions = list(AuditEntry.objects.filter(object_type="customers.contact", object_id=str(wang.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["contact.create", "contact.update", "contact.delete"]


def test_contact_reports_to_must_be_a_contact_of_the_same_customer(org, hx, wang):
    """A superior from another customer is refused."""
    other = org_customer(org.rep, "上海东方贸易有限公司", serial=2)
    zhou = contact(org.rep, other, "周涛")
    with pytest.raises(Invalid) as exc:
        contact(org.rep, hx, "李雷", reports_to=zhou.pk)
    assert "reports_to" in exc.value.fields


def test_contact_cannot_report_to_itself(org, hx, wang):
    """A contact is not their own superior."""
    with pytest.raises(Invalid):
        services.contact_update(actor=org.rep, contact_id=wang.pk, data={"reports_to": wang.pk})


def test_reports_to_loop_is_refused_at_any_depth(org, hx, wang):
    """王强 ← 李雷 ← 韩梅: making 王强 report to 韩梅 (or 李雷) would close a loop and is refused."""
    li = contact(org.rep, hx, "李雷", reports_to=wang.pk)
    han = contact(org.rep, hx, "韩梅", reports_to=li.pk)
    for superior in (li, han):
        with pytest.raises(Invalid) as exc:
            services.contact_update(actor=org.rep, contact_id=wang.pk, data={"reports_to": superior.pk})
        assert "reports_to" in exc.value.fields
    wang.refresh_from_db()
    assert wang.reports_to_id is None
    # Re-pointing within the tree without a loop is fine.
    services.contact_update(actor=org.rep, contact_id=han.pk, data={"reports_to": wang.pk})
    assert Contact.objects.get(pk=han.pk).reports_to_id == wang.pk


def test_contact_birthday_must_be_a_date(org, hx):
    """A birthday that is not YYYY-MM-DD is refused."""
    with pytest.raises(Invalid) as exc:
        contact(org.rep, hx, "王强", birthday="1978-02-30")
    assert "birthday" in exc.value.fields


def test_erased_contact_is_closed_for_edits(org, hx, wang):
    """After erasure a contact can no longer be edited (409)."""
    services.subject_erase(actor=org.auditor, contact_id=wang.pk)
    with pytest.raises(Conflict):
        services.contact_update(actor=org.rep, contact_id=wang.pk, data={"title": "董事长"})


# ---------------------------------------------------------------- consents

def test_consent_create_and_withdraw_are_recorded(org, hx, wang):
    """A consent records purpose, channel and evidence; withdrawing it stamps the time; both audited."""
    consent = services.consent_create(actor=org.rep, customer_id=hx.pk, data={
        "contact": wang.pk, "purpose": "产品推广短信", "scope": "手机号", "channel": "纸质同意书",
        "evidence": "2026-03-01 签字扫描件"})
    assert consent.status == "granted" and consent.withdrawn_at is None and consent.recorded_by == org.rep
    withdrawn = services.consent_withdraw(actor=org.rep, consent_id=consent.pk)
    assert withdrawn.status == "withdrawn" and withdrawn.withdrawn_at is not None
    assert list(ChangeRecord.objects.filter(object_type="consent", object_id=consent.pk).order_by("id")
                .values_list("action", flat=True)) == ["create", "withdraw"]
    assert AuditEntry.objects.filter(action__in=["consent.create", "consent.withdraw"],
                                     object_id=str(consent.pk)).count() == 2


def test_consent_cannot_be_withdrawn_twice(org, hx):
    """Withdrawing an already withdrawn consent is a conflict."""
    consent = services.consent_create(actor=org.rep, customer_id=hx.pk,
                                      data={"purpose": "电话回访", "channel": "电话录音"})
    services.consent_withdraw(actor=org.rep, consent_id=consent.pk)
    with pytest.raises(Conflict):
        services.consent_withdraw(actor=org.rep, consent_id=consent.pk)


def test_consent_requires_purpose_and_channel_and_own_contact(org, hx):
    """Purpose and channel are required; the contact must belong to the customer."""
    with pytest.raises(Invalid):
        services.consent_create(actor=org.rep, customer_id=hx.pk, data={"purpose": "", "channel": "电话"})
    other = org_customer(org.rep, "上海东方贸易有限公司", serial=2)
    zhou = contact(org.rep, other, "周涛")
    with pytest.raises(Invalid):
        services.consent_create(actor=org.rep, customer_id=hx.pk,
                                data={"purpose": "电话回访", "channel": "电话", "contact": zhou.pk})
    assert not Consent.objects.exists()


def test_consent_withdraw_refused_for_read_only_roles_and_outside_scope(org, hx):
    """Only a writer in scope may withdraw a consent."""
    consent = services.consent_create(actor=org.rep, customer_id=hx.pk,
                                      data={"purpose": "电话回访", "channel": "电话"})
    with pytest.raises(Forbidden):
        services.consent_withdraw(actor=org.analyst, consent_id=consent.pk)
    with pytest.raises(NotFound):
        services.consent_withdraw(actor=org.north_rep, consent_id=consent.pk)
    assert Consent.objects.get(pk=consent.pk).status == "granted"


# ---------------------------------------------------------------- reveal

def test_contact_reveal_returns_clear_value_and_audits_who_saw_which_field(org, hx, wang):
    """Revealing a contact's mobile returns it in clear and writes an audit entry naming the field."""
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert services.contact_reveal(actor=org.rep, contact_id=wang.pk, field="mobile") == MOBILE_WANG
    assert services.contact_reveal(actor=org.manager, contact_id=wang.pk, field="birthday") == BIRTHDAY_WANG
    assert services.contact_reveal(actor=org.executive, contact_id=wang.pk, field="traits") == TRAITS_WANG
    entries = list(AuditEntry.objects.filter(id__gt=before).order_by("id"))
    assert [(e.action, e.actor_id, e.changes) for e in entries] == [
        ("contact.reveal", org.rep.pk, {"field": "mobile"}),
        ("contact.reveal", org.manager.pk, {"field": "birthday"}),
        ("contact.reveal", org.executive.pk, {"field": "traits"}),
    ]
    assert all(e.object_id == str(wang.pk) for e in entries)
    assert MOBILE_WANG not in str([e.changes for e in entries])


def test_customer_reveal_returns_person_mobile_and_id_number(org):
    """A person customer's mobile and ID number are revealed one value per audited call."""
    li = person_customer(org.rep, "李娜", mobile=MOBILE_LI, id_number=ID_LI)
    assert services.customer_reveal(actor=org.rep, customer_id=li.pk, field="mobile") == MOBILE_LI
    assert services.customer_reveal(actor=org.admin, customer_id=li.pk, field="id_number") == ID_LI
    assert AuditEntry.objects.filter(action="customer.reveal").count() == 2


@pytest.mark.parametrize("role", ["agent", "finance", "analyst", "auditor"])
def test_reveal_refused_without_confidential_level(org, hx, wang, role):
    """Roles below the confidential level may not reveal (403), and nothing is audited."""
    li = person_customer(org.rep, "李娜", mobile=MOBILE_LI)
    before = AuditEntry.objects.count()
    with pytest.raises(Forbidden):
        services.contact_reveal(actor=getattr(org, role), contact_id=wang.pk, field="mobile")
    with pytest.raises(Forbidden):
        services.customer_reveal(actor=getattr(org, role), customer_id=li.pk, field="mobile")
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("role", ["rep2", "north_rep", "north_manager"])
def test_reveal_outside_scope_is_not_found(org, hx, wang, role):
    """A role with the level but without the record in scope gets 404, not 403."""
    with pytest.raises(NotFound):
        services.contact_reveal(actor=getattr(org, role), contact_id=wang.pk, field="mobile")


def test_reveal_of_a_field_the_record_does_not_have_is_invalid(org, hx, wang):
    """A customer has no birthday or traits; an organisation contact has no ID number: 422, not 500."""
    li = person_customer(org.rep, "李娜", mobile=MOBILE_LI)
    for field in ("birthday", "traits", "name"):
        with pytest.raises(Invalid):
            services.customer_reveal(actor=org.rep, customer_id=li.pk, field=field)
    with pytest.raises(Invalid):
        services.contact_reveal(actor=org.rep, contact_id=wang.pk, field="id_number")
    assert not AuditEntry.objects.filter(action__endswith=".reveal").exists()


def test_customer_created_by_rep_is_revealable_by_the_regional_manager_only(org):
    """The manager of 华东区 may reveal a 华东区 customer's mobile; the manager of 华北区 may not see it."""
    li = person_customer(org.rep, "李娜", mobile=MOBILE_LI)
    assert services.customer_reveal(actor=org.manager, customer_id=li.pk, field="mobile") == MOBILE_LI
    with pytest.raises(NotFound):
        services.customer_reveal(actor=org.north_manager, customer_id=li.pk, field="mobile")
    assert Customer.objects.filter(pk=li.pk).exists()
