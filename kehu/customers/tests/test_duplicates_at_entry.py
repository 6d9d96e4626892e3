"""Duplicates refused or warned at entry, not only found later (issue 8): a second registration of the
same ID number is refused like a second USCC; the same mobile on another person warns; a customer whose
normalised name matches an existing one is shown its possible duplicates first; a deleted customer keeps
its USCC reserved and is offered for restoring."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from kehu.audit.models import AuditEntry
from kehu.customers import selectors, services
from kehu.customers.models import Customer
from kehu.customers.tests.factories import (
    BASIS,
    ID_CONSENT,
    ID_LI,
    MOBILE_LI,
    MOBILE_WANG,
    make_uscc,
    org_customer,
)
from kehu.errors import Conflict, NotFound

pytestmark = pytest.mark.django_db


def _person(actor, name="李娜", **data):
    return services.customer_create(actor=actor, data={"name": name, "kind": "person", "basis": BASIS, **data})


# ---------------------------------------------------------------- the same person twice

def test_person_registered_twice_with_the_same_id_number_is_refused_409_revealing_no_name(org, api_client):
    _person(org.rep, id_number=ID_LI, id_number_consent=ID_CONSENT)
    with pytest.raises(Conflict) as exc:
        _person(org.rep2, name="李娜娜", id_number=ID_LI, id_number_consent=ID_CONSENT)
    assert exc.value.code == "duplicate_id_number"
    r = api_client.as_user(org.north_rep).post("/customers", {
        "name": "L. Na", "kind": "person", "id_number": ID_LI, "basis": BASIS, "id_number_consent": ID_CONSENT})
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_id_number"
    assert "李娜" not in r.content.decode()
    assert Customer.objects.count() == 1


def test_id_number_of_another_person_is_refused_on_update_too(org):
    _person(org.rep, id_number=ID_LI, id_number_consent=ID_CONSENT)
    other = _person(org.rep, name="王芳")
    with pytest.raises(Conflict):
        services.customer_update(actor=org.rep, customer_id=other.pk,
                                 data={"id_number": ID_LI, "id_number_consent": ID_CONSENT})


def test_same_mobile_on_another_person_warns_but_is_not_refused(org, api_client):
    """A family phone is possible: the API answers 201 with a same_mobile warning, for customers and contacts."""
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    services.contact_create(actor=org.rep, customer_id=hx.pk, data={"name": "王强", "mobile": MOBILE_WANG,
                                                                     "basis": BASIS})
    api = api_client.as_user(org.rep2)
    r = api.post("/customers", {"name": "王强", "kind": "person", "mobile": MOBILE_WANG, "basis": BASIS})
    assert r.status_code == 201
    assert [w["code"] for w in r.json()["warnings"]] == ["same_mobile"]
    assert "浙江华星石化有限公司" not in r.content.decode()
    r = api.post(f"/customers/{r.json()['id']}/contacts", {"name": "王强夫人", "mobile": MOBILE_WANG, "basis": BASIS})
    assert r.status_code == 201 and [w["code"] for w in r.json()["warnings"]] == ["same_mobile"]
    r = api.post("/customers", {"name": "李娜", "kind": "person", "mobile": MOBILE_LI, "basis": BASIS})
    assert r.json()["warnings"] == []


def test_same_mobile_warns_on_the_form_after_saving(client, org):
    _person(org.rep, mobile=MOBILE_LI)
    client.force_login(org.rep2)
    r = client.post(reverse("customers:create"), {
        "name": "李娜", "kind": "person", "mobile": MOBILE_LI, "stage": "prospect", "status": "active",
        "owner": org.rep2.pk, "basis": "contract", "basis_purpose": "售后联系"}, follow=True)
    assert r.status_code == 200
    assert any("same mobile" in str(m) or "相同" in str(m) for m in r.context["messages"])


# ---------------------------------------------------------------- the same company under another name form

def test_same_normalised_name_answers_409_with_candidate_ids_in_scope_only(org, api_client):
    """北京华星石化有限公司 exists (the east rep's): 华星石化(北京)股份有限公司 is a possible duplicate. The other
    rep gets no id and no name (outside his scope), the manager gets the id; confirm_duplicate registers."""
    first = org_customer(org.rep, "北京华星石化有限公司")
    payload = {"name": "华星石化（北京）股份有限公司"}
    r = api_client.as_user(org.rep2).post("/customers", payload)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "possible_duplicate" and error["candidates"] == [] and error["elsewhere"] == 1
    assert "北京华星石化有限公司" not in r.content.decode()
    r = api_client.as_user(org.manager).post("/customers", payload)
    assert r.status_code == 409 and r.json()["error"]["candidates"] == [first.pk]
    r = api_client.as_user(org.rep2).post("/customers", {**payload, "confirm_duplicate": True})
    assert r.status_code == 201
    assert Customer.objects.filter(name_core="华星石化").count() == 2


def test_a_different_uscc_is_a_different_company_not_a_possible_duplicate(org):
    org_customer(org.rep, "北京华星石化有限公司", serial=1)
    services.customer_create(actor=org.rep, data={"name": "杭州华星石化有限公司", "uscc": make_uscc(2)})  # another
    # USCC: another legal entity, registered without confirmation
    assert Customer.objects.count() == 2


def test_persons_with_the_same_name_are_not_name_duplicates(org):
    """Many people share a name: persons are matched by ID number and mobile, not by name."""
    _person(org.rep, name="王伟")
    _person(org.rep, name="王伟")
    assert Customer.objects.filter(name="王伟").count() == 2


def test_form_shows_possible_duplicates_before_saving_and_the_user_confirms(client, org):
    first = org_customer(org.rep, "北京华星石化有限公司")
    client.force_login(org.rep)
    data = {"name": "华星石化(北京)股份有限公司", "kind": "organization", "stage": "prospect", "status": "active",
            "owner": org.rep.pk}
    r = client.post(reverse("customers:create"), data)
    assert r.status_code == 409
    body = r.content.decode()
    assert 'data-testid="possible-duplicates"' in body and reverse("customers:detail", args=[first.pk]) in body
    assert Customer.objects.count() == 1
    r = client.post(reverse("customers:create"), {**data, "confirm_duplicate": "on"})
    assert r.status_code == 302 and Customer.objects.count() == 2


def test_name_duplicate_check_is_one_indexed_lookup(org, django_assert_max_num_queries):
    """The check reads the name_core index (one query), then the candidates in scope (one more)."""
    org_customer(org.rep, "北京华星石化有限公司")
    with django_assert_max_num_queries(2):
        found, elsewhere = selectors.customer_name_duplicates(actor=org.rep, name="华星石化股份有限公司")
    assert len(found) == 1 and elsewhere == 0


def test_name_core_is_filled_by_bulk_registration_and_by_the_data_migration(org):
    services.customer_bulk_create(actor=org.rep, rows=[{"name": "浙江恒远纺织有限公司", "owner": org.rep}])
    assert Customer.objects.get().name_core == "恒远纺织"
    Customer.objects.update(name_core="")
    migration = importlib.import_module("kehu.customers.migrations.0006_duplicates_at_entry")
    migration.fill_name_core(apps, None)
    assert Customer.objects.get().name_core == "恒远纺织"


# ---------------------------------------------------------------- a deleted customer keeps its USCC

def test_deleted_customer_keeps_its_uscc_reserved_and_is_offered_for_restoring(org, api_client):
    code = make_uscc(7)
    old = org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    services.customer_delete(actor=org.manager, customer_id=old.pk)
    with pytest.raises(services.UsccOfDeletedCustomer) as exc:
        org_customer(org.rep, "华星石化", uscc=code)
    assert exc.value.restorable.pk == old.pk
    r = api_client.as_user(org.rep).post("/customers", {"name": "浙江华星石化股份有限公司", "uscc": code})
    assert r.status_code == 409 and r.json()["error"]["restorable"] == old.pk
    # Someone outside its scope learns that it is reserved, not which company holds it.
    r = api_client.as_user(org.north_rep).post("/customers", {"name": "北方华星", "uscc": code})
    assert r.status_code == 409 and r.json()["error"]["restorable"] is None
    assert "浙江华星石化有限公司" not in r.content.decode()
    r = api_client.as_user(org.rep).post(f"/customers/{old.pk}/restore")
    assert r.status_code == 200 and r.json()["uscc"] == code
    assert Customer.objects.filter(uscc=code, deleted_at__isnull=True).count() == 1
    assert AuditEntry.objects.filter(action="customer.restore", object_id=str(old.pk), actor=org.rep).exists()


def test_restore_outside_scope_is_404_and_anonymous_401(org, api_client):
    old = org_customer(org.rep, "浙江华星石化有限公司", serial=8)
    services.customer_delete(actor=org.manager, customer_id=old.pk)
    assert api_client.as_user(org.rep2).post(f"/customers/{old.pk}/restore").status_code == 404
    assert api_client.as_user(None).post(f"/customers/{old.pk}/restore").status_code == 401
    with pytest.raises(NotFound):
        services.customer_restore(actor=org.north_manager, customer_id=old.pk)
    assert api_client.as_user(org.finance).post(f"/customers/{old.pk}/restore").status_code in (403, 404)


def test_restore_from_the_form_offer(client, org):
    code = make_uscc(9)
    old = org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    services.customer_delete(actor=org.manager, customer_id=old.pk)
    client.force_login(org.rep)
    r = client.post(reverse("customers:create"), {"name": "浙江华星石化有限公司", "kind": "organization", "uscc": code,
                                                  "stage": "prospect", "status": "active", "owner": org.rep.pk})
    assert r.status_code == 409 and 'data-testid="restorable"' in r.content.decode()
    r = client.post(reverse("customers:restore", args=[old.pk]))
    assert r.status_code == 302
    assert Customer.objects.get(pk=old.pk).deleted_at is None


# ---------------------------------------------------------------- live hint while typing (htmx)

def test_create_form_hints_possible_duplicates_as_the_name_is_typed(client, org):
    """The name field asks (debounced) for customers with the same name core; in scope by name, others counted."""
    first = org_customer(org.rep, "北京华星石化有限公司")
    client.force_login(org.rep)
    form = client.get(reverse("customers:create")).content.decode()
    assert reverse("customers:duplicate_hint") in form and "delay:500ms" in form
    r = client.get(reverse("customers:duplicate_hint"), {"name": "华星石化(北京)股份有限公司", "kind": "organization"},
                   HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "北京华星石化有限公司" in r.content.decode()
    assert reverse("customers:detail", args=[first.pk]) in r.content.decode()
    assert 'data-testid="confirm-duplicate"' not in r.content.decode()
    client.force_login(org.north_rep)
    r = client.get(reverse("customers:duplicate_hint"), {"name": "华星石化股份有限公司"}, HTTP_HX_REQUEST="true")
    assert "北京华星石化有限公司" not in r.content.decode() and 'data-testid="possible-duplicates"' in r.content.decode()
    assert client.get(reverse("customers:duplicate_hint"), {"name": "宁波港联物流"}).content == b""


def test_duplicate_hint_needs_the_write_permission(client, org):
    org_customer(org.rep, "北京华星石化有限公司")
    client.force_login(org.finance)
    assert client.get(reverse("customers:duplicate_hint"), {"name": "华星石化"}).status_code == 403
    client.logout()
    assert client.get(reverse("customers:duplicate_hint"), {"name": "华星石化"}).status_code in (302, 401)
