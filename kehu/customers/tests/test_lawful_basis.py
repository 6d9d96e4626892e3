"""Lawful basis at collection (000 1.1 告知用途并获得授权同意; PIPL 13, 29): a person's personal information
(mobile, ID number, birthday, personal traits) is stored only with a recorded legal basis and purpose; an ID
number needs the person's separate consent; withdrawing the only basis removes what depended on it."""

import json

import pytest
from django.urls import reverse

from kehu.access import protection
from kehu.audit.models import AuditEntry
from kehu.audit.services import audit_verify
from kehu.customers import services
from kehu.customers.models import ChangeRecord, Consent, Contact, Customer
from kehu.customers.tests.factories import (
    BASIS,
    ID_CONSENT,
    ID_LI,
    MOBILE_LI,
    MOBILE_WANG,
    make_uscc,
    org_customer,
)
from kehu.errors import Invalid

pytestmark = pytest.mark.django_db


def _person(org, **data):
    return services.customer_create(actor=org.rep, data={"name": "李娜", "kind": "person", **data})


def test_personal_information_without_a_recorded_legal_basis_is_refused(org):
    """A person's mobile with no basis given: 422 lawful_basis_required, nothing stored."""
    with pytest.raises(Invalid) as exc:
        _person(org, mobile=MOBILE_LI)
    assert exc.value.code == "lawful_basis_required"
    assert {"mobile", "basis"} <= set(exc.value.fields)
    assert not Customer.objects.exists()


def test_a_person_without_personal_fields_needs_no_basis(org):
    """A name alone is no personal field of the rule: no basis asked, none recorded."""
    c = _person(org)
    assert not Consent.objects.filter(customer=c).exists()


def test_personal_information_with_its_basis_and_purpose_is_stored_and_the_basis_recorded(org):
    """The basis given with the mobile becomes a consent record (basis, purpose), with history and audit."""
    c = _person(org, mobile=MOBILE_LI, basis=BASIS)
    basis = Consent.objects.get(customer=c)
    assert (basis.basis, basis.purpose, basis.contact, basis.sensitive) == ("contract", BASIS["purpose"], None, False)
    assert ChangeRecord.objects.filter(customer=c, object_type="consent", action="create").exists()
    assert AuditEntry.objects.filter(action="consent.create", object_id=str(basis.pk)).exists()


def test_basis_without_purpose_is_refused(org):
    """A basis must say its purpose."""
    with pytest.raises(Invalid) as exc:
        _person(org, mobile=MOBILE_LI, basis={"basis": "consent", "purpose": ""})
    assert "basis.purpose" in exc.value.fields


def test_id_number_needs_separate_explicit_consent(org):
    """A contract covers the mobile, not the ID number (sensitive information): its own consent is needed."""
    with pytest.raises(Invalid) as exc:
        _person(org, mobile=MOBILE_LI, id_number=ID_LI, basis=BASIS)
    assert exc.value.code == "lawful_basis_required" and "id_number_consent" in exc.value.fields
    c = _person(org, mobile=MOBILE_LI, id_number=ID_LI, basis=BASIS, id_number_consent=ID_CONSENT)
    sensitive = Consent.objects.get(customer=c, sensitive=True)
    assert (sensitive.basis, sensitive.purpose) == ("consent", ID_CONSENT["purpose"])
    assert Consent.objects.filter(customer=c).count() == 2


def test_field_first_filled_on_update_asks_for_the_basis_once(org):
    """Filling a personal field later asks for the basis; once on record, later changes need none."""
    c = _person(org)
    with pytest.raises(Invalid):
        services.customer_update(actor=org.rep, customer_id=c.pk, data={"mobile": MOBILE_LI})
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"mobile": MOBILE_LI, "basis": BASIS})
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"mobile": "13700001111"})
    assert protection.decrypt(Customer.objects.get(pk=c.pk).mobile_enc) == "13700001111"


def test_contact_mobile_birthday_and_traits_need_a_basis(org):
    """A contact is a person too: mobile, birthday and traits each need a basis on record."""
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    for field, value in (("mobile", MOBILE_WANG), ("birthday", "1978-05-12"), ("traits", "重视长期合作")):
        with pytest.raises(Invalid) as exc:
            services.contact_create(actor=org.rep, customer_id=hx.pk, data={"name": "王强", field: value})
        assert field in exc.value.fields
    w = services.contact_create(actor=org.rep, customer_id=hx.pk, data={"name": "王强", "title": "总经理"})
    with pytest.raises(Invalid):
        services.contact_update(actor=org.rep, contact_id=w.pk, data={"birthday": "1978-05-12"})
    services.contact_update(actor=org.rep, contact_id=w.pk, data={"birthday": "1978-05-12", "basis": BASIS})
    assert Consent.objects.get(contact=w).basis == "contract"


def test_withdrawal_of_the_only_basis_removes_the_personal_fields_and_is_audited(org):
    """Withdrawing the only basis erases mobile, ID number and their timeline values; audited."""
    c = _person(org, mobile=MOBILE_LI, id_number=ID_LI,
                basis={"basis": "consent", "purpose": "理财产品推荐", "channel": "App 勾选"}, id_number_consent=ID_CONSENT)
    for consent in Consent.objects.filter(customer=c).order_by("id"):
        services.consent_withdraw(actor=org.rep, consent_id=consent.pk)
    c.refresh_from_db()
    assert c.mobile_enc == c.mobile_hash == c.mobile_masked == c.id_number_enc == c.id_number_masked == ""
    assert c.name == "李娜" and c.erased_at is None  # the record stays; only what depended on the consent goes
    history = json.dumps([h.changes for h in ChangeRecord.objects.filter(customer=c)], ensure_ascii=False)
    assert "139****4321" not in history and "110***" not in history
    entries = AuditEntry.objects.filter(action="customer.personal_data_removed", object_id=str(c.pk))
    # The separate consent was a basis too: only when it went as well was nothing left to hold either field.
    assert [e.changes["fields"] for e in entries] == [["mobile", "id_number"]]
    assert audit_verify() == []


def test_withdrawing_the_separate_consent_removes_only_the_id_number(org):
    """The contract still covers the mobile; the ID number had only its separate consent."""
    c = _person(org, mobile=MOBILE_LI, id_number=ID_LI, basis=BASIS, id_number_consent=ID_CONSENT)
    services.consent_withdraw(actor=org.rep, consent_id=Consent.objects.get(customer=c, sensitive=True).pk)
    c.refresh_from_db()
    assert c.id_number_enc == "" and protection.decrypt(c.mobile_enc) == MOBILE_LI


def test_withdrawal_keeps_the_fields_when_another_basis_holds(org):
    """A withdrawn marketing consent leaves the contact's mobile, still held for the contract."""
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    w = services.contact_create(actor=org.rep, customer_id=hx.pk, data={"name": "王强", "mobile": MOBILE_WANG,
                                                                          "basis": BASIS})
    marketing = services.consent_create(actor=org.rep, customer_id=hx.pk, data={
        "contact": w.pk, "purpose": "产品推广短信", "channel": "纸质同意书"})
    services.consent_withdraw(actor=org.rep, consent_id=marketing.pk)
    assert protection.decrypt(Contact.objects.get(pk=w.pk).mobile_enc) == MOBILE_WANG
    services.consent_withdraw(actor=org.rep, consent_id=Consent.objects.get(contact=w, basis="contract").pk)
    assert Contact.objects.get(pk=w.pk).mobile_enc == ""


def test_sensitive_consent_must_be_a_consent(org):
    """A contract or legal duty cannot stand in for the separate consent an ID number needs."""
    c = _person(org)
    with pytest.raises(Invalid):
        services.consent_create(actor=org.rep, customer_id=c.pk, data={
            "purpose": "实名核验", "channel": "合同", "basis": "contract", "sensitive": True})


def test_api_refuses_personal_information_without_basis_with_422(org, api_client):
    """POST /customers with a mobile and no basis: 422 with the rule's code; with a basis: 201."""
    api = api_client.as_user(org.rep)
    r = api.post("/customers", {"name": "李娜", "kind": "person", "mobile": MOBILE_LI})
    assert r.status_code == 422 and r.json()["error"]["code"] == "lawful_basis_required"
    assert "basis" in r.json()["error"]["fields"]
    r = api.post("/customers", {"name": "李娜", "kind": "person", "mobile": MOBILE_LI, "id_number": ID_LI,
                                "basis": BASIS, "id_number_consent": ID_CONSENT})
    assert r.status_code == 201, r.content
    consents = api.get(f"/customers/{r.json()['id']}/consents").json()["items"]
    assert sorted((c["basis"], c["sensitive"]) for c in consents) == [("consent", True), ("contract", False)]


def test_form_asks_for_the_basis_when_a_personal_field_is_first_filled(client, org):
    """The customer form refuses a mobile without a basis (on the basis field), then saves with one."""
    client.force_login(org.rep)
    data = {"name": "李娜", "kind": "person", "mobile": MOBILE_LI, "stage": "prospect", "status": "active",
            "owner": org.rep.pk}
    r = client.post(reverse("customers:create"), data)
    assert r.status_code == 422
    assert r.context["form"].errors["basis"]
    assert not Customer.objects.exists()
    r = client.post(reverse("customers:create"), {**data, "basis": "consent", "basis_purpose": "理财产品推荐",
                                                  "basis_channel": "纸质同意书"})
    assert r.status_code == 302
    assert Consent.objects.get().purpose == "理财产品推荐"


def test_bulk_registration_takes_a_whole_file_basis_or_refuses_the_row(org):
    """Bulk rows with personal fields need their own basis or the batch's; rows without are refused."""
    rows = [{"name": "王建国", "kind": "person", "mobile": "13800001111", "owner": org.rep},
            {"name": "浙江华星石化有限公司", "owner": org.rep,
             "contacts": [{"name": "王强", "mobile": MOBILE_WANG, "birthday": "1978-05-12"}]}]
    with pytest.raises(Invalid) as exc:
        services.customer_bulk_create(actor=org.rep, rows=rows)
    assert "第 1 行" in exc.value.message  # the Chinese-first message names the row
    assert services.customer_bulk_create(actor=org.rep, rows=rows, basis=BASIS, channel="import") == 2
    assert Consent.objects.filter(basis="contract").count() == 2
    assert Consent.objects.filter(contact__name="王强").exists()


def _bulk_snapshot(ids: list[int]) -> dict:
    """Every row the bulk path wrote for these customers, ids replaced by their position and the write time and
    ciphertexts (random IV) left out; the decrypted mobiles are compared instead."""
    from django.db import connection

    from kehu.customers.models import SearchDocument

    pos = {pk: i for i, pk in enumerate(ids)}
    contacts = list(Contact.objects.filter(customer_id__in=ids).order_by("id"))
    cpos = {c.pk: i for i, c in enumerate(contacts)}
    skip = {"id", "created_at", "updated_at", "granted_at", "at", "mobile_enc", "id_number_enc"}

    def rows(model, qs, fks):
        out = []
        for obj in qs:
            row = {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields if f.attname not in skip}
            for col, mapping in fks.items():
                row[col] = mapping.get(row[col], row[col]) if row[col] is not None else None
            out.append(row)
        return out

    customers = Customer.objects.filter(pk__in=ids).order_by("id")
    snap = {
        "customers": rows(Customer, customers, {}),
        "mobiles": [protection.decrypt(c.mobile_enc) if c.mobile_enc else "" for c in customers],
        "contacts": rows(Contact, contacts, {"customer_id": pos, "reports_to_id": cpos}),
        "contact_mobiles": [protection.decrypt(c.mobile_enc) if c.mobile_enc else "" for c in contacts],
        "consents": rows(Consent, Consent.objects.filter(customer_id__in=ids).order_by("id"),
                         {"customer_id": pos, "contact_id": cpos}),
        "changes": rows(ChangeRecord, ChangeRecord.objects.filter(customer_id__in=ids).order_by("id"),
                        {"customer_id": pos, "object_id": pos}),
        "documents": sorted((pos[d.customer_id], d.terms) for d in SearchDocument.objects.filter(customer_id__in=ids)),
        "audit": [(e.action, e.changes) for e in AuditEntry.objects.filter(
            action="customer.create", object_id__in=[str(i) for i in ids]).order_by("id")],
    }
    if connection.vendor == "postgresql":  # the generated tsvector column is the same function of the terms
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM customers_searchdocument WHERE customer_id = ANY(%s) AND "
                        "terms_vector = array_to_tsvector(string_to_array(terms, ' '))", [ids])
            snap["vectors"] = cur.fetchone()[0]
    return snap


def test_bulk_paths_write_the_same_rows(org, monkeypatch):
    """PostgreSQL's COPY paths (straight in, and staged with the foreign keys checked per statement) write
    exactly the rows of the generic executemany path: customers, contacts with their superiors, consents,
    history, search documents and audit entries (on SQLite the generic path is the only one)."""
    from django.db import transaction

    rows = [{"name": "浙江华星石化有限公司", "uscc": make_uscc(424242), "owner": org.rep, "city": "杭州市",
             "contacts": [{"name": "王强", "mobile": MOBILE_WANG, "birthday": "1978-05-12", "role": "decision_maker"},
                          {"name": "李明", "mobile": "13900002222", "reports_to_index": 0, "traits": "喜欢茶"}]},
            {"name": "王建国", "kind": "person", "mobile": "13800001111", "id_number": ID_LI, "owner": org.rep,
             "id_number_consent": ID_CONSENT},
            {"name": "華星貿易", "owner": org.rep, "contacts": [{"name": "赵六"}]}]

    def run(copy: bool, fk_after: int) -> dict:
        monkeypatch.setattr(services, "BULK_COPY", copy)
        monkeypatch.setattr(services, "BULK_FK_CHECK_AFTER", fk_after)
        with transaction.atomic():
            before = set(Customer.objects.values_list("pk", flat=True))
            assert services.customer_bulk_create(actor=org.rep, rows=[dict(r) for r in rows], basis=BASIS) == 3
            ids = sorted(set(Customer.objects.values_list("pk", flat=True)) - before)
            snap = _bulk_snapshot(ids)
            transaction.set_rollback(True)
        return snap

    generic = run(False, 10**9)
    assert len(generic["contacts"]) == 3 and generic["contacts"][1]["reports_to_id"] == 0
    assert len(generic["consents"]) == 4 and generic["mobiles"][1] == "13800001111"
    assert run(True, 10**9) == generic  # COPY into the tables
    assert run(True, 1) == generic  # COPY into staging tables, foreign keys checked per statement
