"""Customer services: registration, update, soft delete, USCC uniqueness, tags, custom fields, history."""

import pytest
from django.db import IntegrityError, transaction

from kehu.access import protection
from kehu.audit.models import AuditEntry
from kehu.customers import search_index, services
from kehu.customers.models import ChangeRecord, Customer
from kehu.customers.tests.factories import ID_LI, MOBILE_LI, make_uscc, org_customer, person_customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound

pytestmark = pytest.mark.django_db


def audit_actions(obj):
    return list(AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
                .order_by("id").values_list("action", flat=True))


# ---------------------------------------------------------------- create

def test_customer_create_owner_defaults_to_actor_and_department_follows_owner(org):
    """A rep registers a customer: the rep owns it and it belongs to the rep's department."""
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    assert c.owner == org.rep
    assert c.department_id == org.depts["east"].pk
    assert c.created_by == org.rep


def test_customer_create_normalises_uscc_and_derives_search_keys(org):
    """The USCC is stored compact and upper-case; the name's pinyin and initials are indexed."""
    code = make_uscc(7)
    c = org_customer(org.rep, "浙江华星石化有限公司", uscc=code.lower()[:8] + " " + code.lower()[8:])
    assert c.uscc == code
    assert c.name_pinyin.startswith("zhejianghuaxingshihua")
    assert c.name_initials.startswith("zjhxsh")
    tokens = search_index.terms_of(c.pk)
    assert {"n:华星", "i:hxs", "f:huax"} <= tokens


def test_customer_create_writes_one_history_row_and_one_audit_entry(org):
    """Every registration is audited once and opens the record's field-level history."""
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    rows = list(ChangeRecord.objects.filter(customer=c))
    assert [(r.action, r.object_type, r.actor_id) for r in rows] == [("create", "customer", org.rep.pk)]
    assert rows[0].changes["name"] == [None, "浙江华星石化有限公司"]
    assert audit_actions(c) == ["customer.create"]
    entry = AuditEntry.objects.get(action="customer.create")
    assert entry.actor == org.rep and entry.changes["name"] == [None, "浙江华星石化有限公司"]


def test_customer_create_refused_for_read_only_roles(org):
    """Service agents, finance, analysts and auditors cannot register customers."""
    for user in (org.agent, org.finance, org.analyst, org.auditor):
        with pytest.raises(Forbidden):
            org_customer(user, "杭州新材料科技有限公司")
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.filter(action="customer.create").exists()


def test_customer_create_rejects_invalid_uscc_checksum(org):
    """A USCC whose check digit is wrong is refused (GB 32100-2015)."""
    code = make_uscc(1)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(Invalid) as exc:
        org_customer(org.rep, "浙江华星石化有限公司", uscc=wrong)
    assert "uscc" in exc.value.fields


def test_customer_create_person_stores_mobile_and_id_number_encrypted_with_lookup_hash(org):
    """A person's mobile and ID number are stored encrypted, with a keyed hash and a mask only."""
    c = person_customer(org.rep, "李娜", mobile="+86 139-8765-4321", id_number=ID_LI)
    c.refresh_from_db()
    assert MOBILE_LI not in c.mobile_enc and ID_LI not in c.id_number_enc
    assert protection.decrypt(c.mobile_enc) == MOBILE_LI
    assert protection.decrypt(c.id_number_enc) == ID_LI
    assert c.mobile_hash == protection.lookup_hash(MOBILE_LI)
    assert c.mobile_masked == "139****4321"
    assert c.id_number_masked == "110***********002X"
    row = ChangeRecord.objects.get(customer=c, object_type="customer")
    assert MOBILE_LI not in str(row.changes) and ID_LI not in str(row.changes)
    assert MOBILE_LI not in str(AuditEntry.objects.get(action="customer.create").changes)


def test_customer_create_rejects_invalid_mobile_and_id_number(org):
    """A mobile that is not a mainland mobile, or an ID number with a wrong check digit, is refused."""
    with pytest.raises(Invalid) as exc:
        person_customer(org.rep, "李娜", mobile="010-1234 5678")
    assert "mobile" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        person_customer(org.rep, "李娜", id_number=ID_LI[:-1] + "1")
    assert "id_number" in exc.value.fields


def test_customer_create_organisation_ignores_personal_identifiers(org):
    """An organisation has no personal mobile or ID number of its own (they belong on contacts)."""
    c = org_customer(org.rep, "浙江华星石化有限公司", mobile=MOBILE_LI, id_number=ID_LI)
    assert c.mobile_enc == c.mobile_hash == c.id_number_enc == ""


def test_customer_create_rep_cannot_assign_another_owner(org):
    """An account manager can only register customers for themself."""
    with pytest.raises(Invalid) as exc:
        org_customer(org.rep, "浙江华星石化有限公司", owner=org.rep2.pk)
    assert "owner" in exc.value.fields


def test_customer_create_manager_assigns_within_own_subtree_only(org):
    """A manager may make a rep of the own region the owner, but not a rep of another region."""
    c = org_customer(org.manager, "浙江华星石化有限公司", owner=org.rep2.pk)
    assert c.owner == org.rep2 and c.department_id == org.depts["east"].pk
    with pytest.raises(Invalid):
        org_customer(org.manager, "北京燕山机械有限公司", owner=org.north_rep.pk)


def test_customer_create_executive_assigns_anyone_but_not_read_only_roles(org):
    """An executive may assign any sales user as owner, but never a service agent."""
    c = org_customer(org.executive, "北京燕山机械有限公司", owner=org.north_rep.pk)
    assert c.department_id == org.depts["north"].pk
    with pytest.raises(Invalid):
        org_customer(org.executive, "上海东方贸易有限公司", owner=org.agent.pk)


# ---------------------------------------------------------------- USCC uniqueness

def test_duplicate_uscc_conflict_names_only_the_owners_department(org):
    """A second registration of a USCC answers 409 naming the owner's department, nothing else."""
    code = make_uscc(42)
    org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    with pytest.raises(Conflict) as exc:
        org_customer(org.north_rep, "华星石化（北京）", uscc=code)
    err = exc.value
    assert err.status == 409 and err.code == "duplicate_uscc"
    assert "华东区" in err.message
    for secret in ("浙江华星石化有限公司", "张伟", org.rep.username + " ", str(org.rep.pk) + ")"):
        assert secret not in err.message
    assert err.fields == {"uscc": [err.fields["uscc"][0]]}
    assert Customer.objects.filter(uscc=code).count() == 1


def test_duplicate_uscc_refused_on_update(org):
    """Changing a customer's USCC to one already registered answers 409."""
    code = make_uscc(42)
    org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    other = org_customer(org.rep, "上海东方贸易有限公司", serial=43)
    with pytest.raises(Conflict):
        services.customer_update(actor=org.rep, customer_id=other.pk, data={"uscc": code})
    other.refresh_from_db()
    assert other.uscc == make_uscc(43)


def test_uscc_unique_among_live_customers_is_a_database_constraint(org):
    """Two live customers with one USCC are refused by the database itself (race safety)."""
    code = make_uscc(42)
    first = org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="重复登记", uscc=code, owner=org.rep2, department=org.depts["east"])
    # A soft-deleted customer no longer holds its USCC.
    Customer.objects.filter(pk=first.pk).update(deleted_at=first.created_at)
    Customer.objects.create(name="重新登记", uscc=code, owner=org.rep2, department=org.depts["east"])


def test_uscc_race_lost_at_insert_answers_409_not_500(org, monkeypatch):
    """When a concurrent registration wins between the check and the insert, the loser gets 409."""
    code = make_uscc(42)
    org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    monkeypatch.setattr(services, "_check_uscc", lambda customer, actor=None: None)  # the other writer passed the check too
    with pytest.raises(Conflict) as exc:
        org_customer(org.north_rep, "华星石化（北京）", uscc=code)
    assert exc.value.code == "duplicate_uscc" and "华东区" in exc.value.message
    assert Customer.objects.filter(uscc=code).count() == 1
    assert AuditEntry.objects.filter(action="customer.create").count() == 1


def test_uscc_race_lost_at_update_answers_409_not_500(org, monkeypatch):
    """The same race on an update also ends in 409, with nothing written."""
    code = make_uscc(42)
    org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    other = org_customer(org.rep2, "上海东方贸易有限公司", serial=43)
    monkeypatch.setattr(services, "_check_uscc", lambda customer, actor=None: None)
    with pytest.raises(Conflict):
        services.customer_update(actor=org.rep2, customer_id=other.pk, data={"uscc": code})
    assert not AuditEntry.objects.filter(action="customer.update").exists()


# ---------------------------------------------------------------- update

def test_customer_update_records_only_changed_fields(org):
    """An update's history row and audit entry carry exactly the fields that changed, before and after."""
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    services.customer_update(actor=org.rep, customer_id=c.pk,
                             data={"industry": "化工", "city": "杭州市", "stage": "intent"})
    row = ChangeRecord.objects.filter(customer=c, action="update").get()
    assert row.changes == {"industry": ["石化", "化工"], "stage": ["prospect", "intent"]}
    assert AuditEntry.objects.get(action="customer.update").changes == row.changes


def test_customer_update_without_change_writes_nothing(org):
    """Saving the same values again writes no history row and no audit entry."""
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"industry": "石化"})
    assert not ChangeRecord.objects.filter(action="update").exists()
    assert not AuditEntry.objects.filter(action="customer.update").exists()


def test_customer_update_rename_reindexes_search_tokens(org):
    """Renaming a customer replaces its search tokens."""
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"name": "宁波东海化工有限公司"})
    tokens = search_index.terms_of(c.pk)
    assert "n:东海" in tokens and "n:华星" not in tokens


def test_customer_update_outside_scope_is_not_found(org):
    """A rep cannot update a colleague's customer: it does not exist for them."""
    c = org_customer(org.rep2, "上海东方贸易有限公司", serial=1)
    with pytest.raises(NotFound):
        services.customer_update(actor=org.rep, customer_id=c.pk, data={"industry": "化工"})
    with pytest.raises(NotFound):
        services.customer_update(actor=org.north_manager, customer_id=c.pk, data={"industry": "化工"})
    services.customer_update(actor=org.manager, customer_id=c.pk, data={"industry": "化工"})


def test_customer_update_owner_change_moves_department(org):
    """Handing a customer to a rep of another region moves it to that region."""
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    services.customer_update(actor=org.executive, customer_id=c.pk, data={"owner": org.north_rep.pk})
    c.refresh_from_db()
    assert (c.owner_id, c.department_id) == (org.north_rep.pk, org.depts["north"].pk)
    row = ChangeRecord.objects.get(customer=c, action="update")
    assert row.changes["owner"] == [org.rep.pk, org.north_rep.pk]


def test_customer_update_person_mobile_change_history_is_masked(org):
    """Changing a person's mobile records the masked before/after values, never the clear ones."""
    c = person_customer(org.rep, "李娜", mobile=MOBILE_LI)
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"mobile": "13700001111"})
    row = ChangeRecord.objects.get(customer=c, action="update")
    assert row.changes == {"mobile": ["139****4321", "137****1111"]}


# ---------------------------------------------------------------- delete

def test_customer_delete_is_soft_keeps_uscc_reserved_and_is_audited(org):
    """Deleting hides the customer from every read, keeps its USCC reserved for a restore (issue 8), keeps
    history and audit."""
    from kehu.customers import selectors

    code = make_uscc(5)
    c = org_customer(org.rep, "浙江华星石化有限公司", uscc=code)
    services.customer_delete(actor=org.manager, customer_id=c.pk)
    assert Customer.objects.filter(pk=c.pk, deleted_at__isnull=False).exists()
    with pytest.raises(NotFound):
        selectors.customer_get(actor=org.admin, customer_id=c.pk)
    assert audit_actions(c) == ["customer.create", "customer.delete"]
    assert ChangeRecord.objects.filter(customer=c, action="delete").exists()
    with pytest.raises(services.UsccOfDeletedCustomer):
        org_customer(org.rep2, "浙江华星石化有限公司（新）", uscc=code)


def test_customer_delete_refused_for_account_managers(org):
    """An account manager may edit but not delete their customers; a manager may."""
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    with pytest.raises(Forbidden):
        services.customer_delete(actor=org.rep, customer_id=c.pk)
    with pytest.raises(NotFound):
        services.customer_delete(actor=org.north_manager, customer_id=c.pk)
    services.customer_delete(actor=org.manager, customer_id=c.pk)


# ---------------------------------------------------------------- tags

def test_tags_set_on_create_and_changed_on_update_are_in_history(org):
    """Tags chosen at registration and later changes are recorded as before/after lists."""
    big = services.tag_create(actor=org.admin, category="规模", name="大客户")
    soe = services.tag_create(actor=org.admin, category="性质", name="国企")
    c = org_customer(org.rep, "浙江华星石化有限公司", serial=1, tags=[big.pk])
    assert list(c.tags.all()) == [big]
    assert ChangeRecord.objects.get(customer=c, action="create").changes["tags"] == [[], ["规模:大客户"]]
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"tags": [soe.pk, big.pk]})
    row = ChangeRecord.objects.get(customer=c, action="update")
    assert row.changes == {"tags": [["规模:大客户"], ["性质:国企", "规模:大客户"]]}
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"tags": [big.pk, soe.pk]})
    assert ChangeRecord.objects.filter(customer=c, action="update").count() == 1


def test_unknown_tag_is_refused(org):
    """Referring to a tag that does not exist is a validation error."""
    with pytest.raises(Invalid) as exc:
        org_customer(org.rep, "浙江华星石化有限公司", tags=[999999])
    assert "tags" in exc.value.fields


def test_tag_create_is_for_catalogue_managers_and_unique_per_category(org):
    """Only administrators define tags; the same name twice in a category is a conflict."""
    with pytest.raises(Forbidden):
        services.tag_create(actor=org.manager, category="规模", name="大客户")
    tag = services.tag_create(actor=org.admin, category="规模", name="大客户")
    assert AuditEntry.objects.filter(action="tag.create", object_id=str(tag.pk)).exists()
    with pytest.raises(Conflict):
        services.tag_create(actor=org.admin, category="规模", name="大客户")
    services.tag_create(actor=org.admin, category="风险", name="大客户")
    with pytest.raises(Invalid):
        services.tag_create(actor=org.admin, category=" ", name="大客户")


# ---------------------------------------------------------------- custom fields

@pytest.fixture
def custom_fields(org):
    services.custom_field_define(actor=org.admin, key="capital", label="注册资本（万元）", field_type="number")
    services.custom_field_define(actor=org.admin, key="founded", label="成立日期", field_type="date")
    services.custom_field_define(actor=org.admin, key="listed", label="是否上市", field_type="boolean")
    services.custom_field_define(actor=org.admin, key="credit", label="信用等级", field_type="choice",
                                 choices=["AAA", "AA", "A"])
    services.custom_field_define(actor=org.admin, key="website", label="官网", field_type="text")


def test_custom_field_values_are_type_checked_and_normalised(org, custom_fields):
    """Declared custom fields accept values of their type, normalised (numbers, ISO dates)."""
    c = org_customer(org.rep, "浙江华星石化有限公司", custom={
        "capital": "5000", "founded": "1998-06-18", "listed": True, "credit": "AA", "website": "hxsh.com.cn"})
    assert c.custom == {"capital": 5000, "founded": "1998-06-18", "listed": True, "credit": "AA",
                        "website": "hxsh.com.cn"}
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"custom": {"capital": 5000.5, "website": None}})
    c.refresh_from_db()
    assert c.custom == {"capital": 5000.5, "founded": "1998-06-18", "listed": True, "credit": "AA"}


@pytest.mark.parametrize("key,value", [
    ("capital", "五千万"), ("capital", True), ("capital", "NaN"), ("capital", "Infinity"), ("capital", [1]),
    ("founded", "1998-13-01"), ("founded", "去年"), ("listed", "yes"), ("listed", 1),
    ("credit", "BBB"), ("credit", ["AAA"]), ("website", 42), ("website", "x" * 1001), ("unknown_field", "x"),
])
def test_custom_field_value_of_wrong_type_is_refused(org, custom_fields, key, value):
    """A custom value that does not fit its declared type (or an undeclared key) is refused per field."""
    with pytest.raises(Invalid) as exc:
        org_customer(org.rep, "浙江华星石化有限公司", custom={key: value})
    assert list(exc.value.fields) == [f"custom.{key}"]


def test_custom_number_of_absurd_magnitude_is_refused_quickly(org, custom_fields):
    """A number like 1e999999999 is refused at once rather than expanded into a billion digits."""
    import time

    start = time.monotonic()
    for value in ("1e999999999", "-1e999999999", "1e5000", 1e300):
        with pytest.raises(Invalid):
            org_customer(org.rep, "浙江华星石化有限公司", custom={"capital": value})
    assert time.monotonic() - start < 2


def test_required_custom_field_must_be_given(org):
    """A required custom field must have a value at registration."""
    services.custom_field_define(actor=org.admin, key="region_code", label="区域编码", field_type="text",
                                 required=True)
    with pytest.raises(Invalid) as exc:
        org_customer(org.rep, "浙江华星石化有限公司")
    assert "custom.region_code" in exc.value.fields
    org_customer(org.rep, "浙江华星石化有限公司", custom={"region_code": "ZJ-HZ"})


def test_custom_field_define_rules(org):
    """Only administrators declare fields; keys are unique; a choice field needs its choices."""
    with pytest.raises(Forbidden):
        services.custom_field_define(actor=org.executive, key="capital", label="注册资本", field_type="number")
    services.custom_field_define(actor=org.admin, key="capital", label="注册资本", field_type="number")
    assert AuditEntry.objects.filter(action="customfield.create").count() == 1
    with pytest.raises(Conflict):
        services.custom_field_define(actor=org.admin, key="capital", label="注册资本", field_type="text")
    with pytest.raises(Invalid):
        services.custom_field_define(actor=org.admin, key="credit", label="信用等级", field_type="choice")
    with pytest.raises(Invalid):
        services.custom_field_define(actor=org.admin, key="colour", label="颜色", field_type="colour")
