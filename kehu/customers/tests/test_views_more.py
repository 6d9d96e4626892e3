"""The archive's remaining pages: contact edit and delete, customer delete, the data-subject rights
(export, erasure) and the catalogue of tags and custom fields — each for the roles allowed, refused
(403) to the others and absent (404) outside the data scope."""

import json

import pytest
from django.urls import reverse

from kehu.audit.models import AuditEntry
from kehu.customers import services
from kehu.customers.models import ChangeRecord, Contact, CustomFieldDefinition, Tag
from kehu.customers.tests.factories import BASIS, ID_CONSENT

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


@pytest.fixture
def huaxing(org):
    """浙江华星石化有限公司, owned by the east rep, with a decision maker (mobile) and a purchaser."""
    customer = services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司", "industry": "石化"})
    boss = services.contact_create(actor=org.rep, customer_id=customer.pk, data={
        "name": "王强", "title": "总经理", "role": "decision_maker", "mobile": MOBILE, "birthday": "1975-03-08",
        "traits": "爱喝龙井", "basis": BASIS})
    services.contact_create(actor=org.rep, customer_id=customer.pk, data={
        "name": "李娜", "title": "采购部经理", "role": "purchaser", "reports_to": boss.pk})
    return customer


@pytest.fixture
def boss(huaxing):
    return huaxing.contacts.get(name="王强")


@pytest.fixture
def person(org):
    """刘芳, a person customer of the east rep, with a mobile and an ID number."""
    return services.customer_create(actor=org.rep, data={
        "name": "刘芳", "kind": "person", "mobile": "15088886666", "id_number": "11010519491231002X",
        "basis": BASIS, "id_number_consent": ID_CONSENT})


def contact_data(**overrides):
    data = {"name": "王强", "title": "董事长", "role": "decision_maker", "mobile": "", "email": "", "wechat": ""}
    data.update(overrides)
    return data


# ---------------------------------------------------------------- contact edit

def test_contact_edit_form_is_prefilled_without_the_confidential_values(client, org, boss):
    login(client, org, org.rep)
    r = client.get(reverse("customers:contact_edit", args=[boss.pk]))
    assert r.status_code == 200
    form = r.context["form"]
    assert form.initial["name"] == "王强" and form.initial["title"] == "总经理"
    body = r.content.decode()
    assert MOBILE not in body and "1975-03-08" not in body and "爱喝龙井" not in body
    assert 'placeholder="138****5678"' in body
    assert "清除手机号" in body and "留空则保留原值" in body


def test_contact_edit_with_blank_mobile_keeps_it(client, org, huaxing, boss):
    login(client, org, org.rep)
    r = client.post(reverse("customers:contact_edit", args=[boss.pk]), contact_data(email="wq@hxsh.com.cn"))
    assert r.status_code == 302
    assert r["Location"] == reverse("customers:detail", args=[huaxing.pk]) + "#contacts"
    boss.refresh_from_db()
    assert boss.title == "董事长" and boss.email == "wq@hxsh.com.cn"
    assert boss.mobile_masked == "138****5678" and boss.mobile_enc
    assert str(boss.birthday) == "1975-03-08" and boss.traits == "爱喝龙井"
    assert AuditEntry.objects.filter(action="contact.update", object_id=str(boss.pk)).exists()


def test_contact_edit_replaces_or_clears_the_mobile(client, org, boss):
    login(client, org, org.rep)
    assert client.post(reverse("customers:contact_edit", args=[boss.pk]),
                       contact_data(mobile="13900001111")).status_code == 302
    boss.refresh_from_db()
    assert boss.mobile_masked == "139****1111"
    assert client.post(reverse("customers:contact_edit", args=[boss.pk]),
                       contact_data(clear_mobile="on")).status_code == 302
    boss.refresh_from_db()
    assert boss.mobile_masked == "" and boss.mobile_enc == "" and boss.mobile_hash == ""


def test_contact_edit_with_a_bad_mobile_shows_the_inline_error(client, org, boss):
    login(client, org, org.rep)
    r = client.post(reverse("customers:contact_edit", args=[boss.pk]), contact_data(mobile="1234"))
    assert r.status_code == 422
    assert r.context["form"].errors["mobile"] == ["请输入有效的手机号，例如 13812345678。"]
    assert "is-invalid" in r.content.decode()
    boss.refresh_from_db()
    assert boss.mobile_masked == "138****5678"


def test_contact_edit_cannot_report_to_a_subordinate(client, org, huaxing, boss):
    """The org chart stays a tree: the service's loop check comes back on the reports_to field."""
    li = huaxing.contacts.get(name="李娜")
    login(client, org, org.rep)
    r = client.post(reverse("customers:contact_edit", args=[boss.pk]), contact_data(reports_to=li.pk))
    assert r.status_code == 422
    assert r.context["form"].errors["reports_to"] == ["这会使组织架构出现循环。"]


def test_contact_edit_outside_scope_is_404_and_read_only_role_is_403(client, org, boss):
    login(client, org, org.rep2)
    assert client.get(reverse("customers:contact_edit", args=[boss.pk])).status_code == 404
    assert client.post(reverse("customers:contact_edit", args=[boss.pk]), contact_data(title="x")).status_code == 404
    login(client, org, org.agent)
    assert client.get(reverse("customers:contact_edit", args=[boss.pk])).status_code == 403
    assert client.post(reverse("customers:contact_edit", args=[boss.pk]), contact_data(title="x")).status_code == 403
    boss.refresh_from_db()
    assert boss.title == "总经理"


def test_detail_links_to_contact_edit_and_delete_for_writers_only(client, org, huaxing, boss):
    login(client, org, org.rep)
    body = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert reverse("customers:contact_edit", args=[boss.pk]) in body
    assert reverse("customers:contact_delete", args=[boss.pk]) in body
    login(client, org, org.agent)
    body = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert reverse("customers:contact_edit", args=[boss.pk]) not in body
    assert reverse("customers:contact_delete", args=[boss.pk]) not in body


# ---------------------------------------------------------------- contact delete

def test_contact_delete_asks_first_then_deletes_on_post(client, org, huaxing, boss):
    login(client, org, org.rep)
    r = client.get(reverse("customers:contact_delete", args=[boss.pk]))
    assert r.status_code == 200
    assert 'data-testid="confirm"' in r.content.decode() and "王强" in r.content.decode()
    assert Contact.objects.filter(pk=boss.pk).exists()
    r = client.post(reverse("customers:contact_delete", args=[boss.pk]))
    assert r.status_code == 302
    assert r["Location"] == reverse("customers:detail", args=[huaxing.pk]) + "#contacts"
    assert not Contact.objects.filter(pk=boss.pk).exists()
    assert AuditEntry.objects.filter(action="contact.delete", object_id=str(boss.pk)).exists()
    body = client.get(r["Location"]).content.decode()
    assert "联系人“王强”已删除。" in body


def test_contact_delete_refused_outside_scope_and_to_read_only_roles(client, org, boss):
    login(client, org, org.rep2)
    assert client.post(reverse("customers:contact_delete", args=[boss.pk])).status_code == 404
    login(client, org, org.finance)
    assert client.get(reverse("customers:contact_delete", args=[boss.pk])).status_code == 403
    assert client.post(reverse("customers:contact_delete", args=[boss.pk])).status_code == 403
    assert Contact.objects.filter(pk=boss.pk).exists()


# ---------------------------------------------------------------- customer delete

def test_manager_deletes_a_customer_after_confirming(client, org, huaxing):
    login(client, org, org.manager)
    detail = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert reverse("customers:delete", args=[huaxing.pk]) in detail
    assert client.get(reverse("customers:delete", args=[huaxing.pk])).status_code == 200
    r = client.post(reverse("customers:delete", args=[huaxing.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("customers:list")
    huaxing.refresh_from_db()
    assert huaxing.deleted_at is not None
    assert AuditEntry.objects.filter(action="customer.delete", object_id=str(huaxing.pk)).exists()
    body = client.get(r["Location"]).content.decode()
    assert "客户“浙江华星石化有限公司”已删除。" in body
    assert client.get(reverse("customers:detail", args=[huaxing.pk])).status_code == 404


@pytest.mark.parametrize("role", ["rep", "agent", "auditor"])
def test_customer_delete_is_refused_without_the_permission(client, org, huaxing, role):
    """Account managers may edit their customers but not delete them; read-only roles neither."""
    login(client, org, getattr(org, role))
    assert reverse("customers:delete", args=[huaxing.pk]) not in client.get(
        reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert client.get(reverse("customers:delete", args=[huaxing.pk])).status_code == 403
    assert client.post(reverse("customers:delete", args=[huaxing.pk])).status_code == 403
    huaxing.refresh_from_db()
    assert huaxing.deleted_at is None


def test_customer_delete_outside_scope_is_404(client, org, huaxing):
    login(client, org, org.north_manager)
    assert client.post(reverse("customers:delete", args=[huaxing.pk])).status_code == 404
    huaxing.refresh_from_db()
    assert huaxing.deleted_at is None


def test_customer_delete_needs_post_to_act(client, org, huaxing):
    """The GET is only the confirmation page."""
    login(client, org, org.admin)
    client.get(reverse("customers:delete", args=[huaxing.pk]))
    huaxing.refresh_from_db()
    assert huaxing.deleted_at is None


# ---------------------------------------------------------------- data-subject export

@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_contact_export_downloads_json_in_clear_and_is_audited(client, org, huaxing, boss, role):
    login(client, org, getattr(org, role))
    body = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert reverse("customers:contact_export", args=[boss.pk]) in body
    r = client.post(reverse("customers:contact_export", args=[boss.pk]))
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json; charset=utf-8"
    assert r["Content-Disposition"].startswith("attachment; filename=") and ".json" in r["Content-Disposition"]
    assert "no-store" in r["Cache-Control"]
    raw = r.content.decode("utf-8")
    assert "王强" in raw  # ensure_ascii=False: Chinese as is, not \\u escapes
    data = json.loads(raw)
    assert data["subject"]["mobile"] == MOBILE and data["subject"]["birthday"] == "1975-03-08"
    assert data["subject"]["customer"]["name"] == "浙江华星石化有限公司"
    entry = AuditEntry.objects.get(action="contact.subject_export")
    assert entry.actor_name == role and entry.object_id == str(boss.pk)


def test_person_customer_export_has_mobile_and_id_number(client, org, person):
    login(client, org, org.auditor)
    body = client.get(reverse("customers:detail", args=[person.pk])).content.decode()
    assert 'data-testid="subject-rights"' in body
    r = client.post(reverse("customers:export", args=[person.pk]))
    assert r.status_code == 200
    data = json.loads(r.content.decode("utf-8"))
    assert data["subject"]["name"] == "刘芳"
    assert data["subject"]["mobile"] == "15088886666" and data["subject"]["id_number"] == "11010519491231002X"
    assert AuditEntry.objects.filter(action="customer.subject_export", object_id=str(person.pk)).exists()


@pytest.mark.parametrize("role", ["rep", "manager", "executive", "agent"])
def test_subject_rights_are_hidden_and_refused_without_privacy(client, org, huaxing, boss, person, role):
    login(client, org, getattr(org, role))
    body = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert reverse("customers:contact_export", args=[boss.pk]) not in body
    assert reverse("customers:contact_erase", args=[boss.pk]) not in body
    assert 'data-testid="subject-rights"' not in client.get(
        reverse("customers:detail", args=[person.pk])).content.decode()
    assert client.post(reverse("customers:contact_export", args=[boss.pk])).status_code == 403
    assert client.post(reverse("customers:export", args=[person.pk])).status_code == 403
    assert client.get(reverse("customers:contact_erase", args=[boss.pk])).status_code == 403
    assert client.post(reverse("customers:erase", args=[person.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action__endswith=".subject_export").exists()
    boss.refresh_from_db()
    assert boss.erased_at is None


def test_export_needs_post(client, org, boss):
    login(client, org, org.admin)
    assert client.get(reverse("customers:contact_export", args=[boss.pk])).status_code == 405


def test_organisation_is_not_a_data_subject(client, org, huaxing):
    """An organisation has no subject-rights card; exporting or erasing it is refused with the reason."""
    login(client, org, org.admin)
    assert 'data-testid="subject-rights"' not in client.get(
        reverse("customers:detail", args=[huaxing.pk])).content.decode()
    r = client.post(reverse("customers:export", args=[huaxing.pk]))
    assert r.status_code == 422
    assert client.get(reverse("customers:erase", args=[huaxing.pk])).status_code == 422


# ---------------------------------------------------------------- data-subject erasure

def test_contact_erase_anonymises_and_the_page_shows_it_erased(client, org, huaxing, boss):
    login(client, org, org.auditor)
    r = client.get(reverse("customers:contact_erase", args=[boss.pk]))
    assert r.status_code == 200 and 'data-testid="confirm"' in r.content.decode()
    boss.refresh_from_db()
    assert boss.erased_at is None
    r = client.post(reverse("customers:contact_erase", args=[boss.pk]))
    assert r.status_code == 302
    assert r["Location"] == reverse("customers:detail", args=[huaxing.pk]) + "#contacts"
    boss.refresh_from_db()
    assert boss.name == services.ERASED_NAME and boss.erased_at is not None
    assert boss.mobile_enc == boss.mobile_hash == boss.mobile_masked == ""
    assert boss.birthday is None and boss.traits == "" and boss.title == ""
    assert AuditEntry.objects.filter(action="contact.erase", object_id=str(boss.pk)).exists()
    page = client.get(r["Location"])
    body = page.content.decode()
    assert "已删除个人信息" in body and 'data-testid="erased"' in body
    assert "王强" not in body and "138****5678" not in body
    # The erased contact offers no second erasure; a repeated POST is a conflict.
    assert reverse("customers:contact_erase", args=[boss.pk]) not in body
    assert client.post(reverse("customers:contact_erase", args=[boss.pk])).status_code == 409


def test_erased_contact_can_no_longer_be_edited(client, org, boss):
    services.subject_erase(actor=org.admin, contact_id=boss.pk)
    login(client, org, org.rep)
    r = client.post(reverse("customers:contact_edit", args=[boss.pk]), contact_data(name="王强"))
    assert r.status_code == 409
    boss.refresh_from_db()
    assert boss.name == services.ERASED_NAME


def test_person_customer_erase_closes_the_record(client, org, person):
    login(client, org, org.admin)
    assert client.get(reverse("customers:erase", args=[person.pk])).status_code == 200
    r = client.post(reverse("customers:erase", args=[person.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("customers:list")
    person.refresh_from_db()
    assert person.name == services.ERASED_NAME and person.erased_at is not None
    assert person.mobile_enc == person.mobile_masked == person.id_number_enc == person.id_number_masked == ""
    body = client.get(r["Location"]).content.decode()
    assert "客户的个人信息已删除，记录已关闭。" in body and "刘芳" not in body
    assert not any("刘芳" in json.dumps(h.changes, ensure_ascii=False) for h in ChangeRecord.objects.all())


def test_erase_outside_scope_is_404(client, org, boss):
    """The auditor sees everything; an admin too — scope still applies to the customer's existence."""
    services.customer_delete(actor=org.admin, customer_id=boss.customer_id)
    login(client, org, org.auditor)
    assert client.post(reverse("customers:contact_erase", args=[boss.pk])).status_code == 404
    assert client.post(reverse("customers:contact_export", args=[boss.pk])).status_code == 404


# ---------------------------------------------------------------- catalogue

def test_catalogue_lists_tags_by_category_and_custom_fields(client, org):
    services.tag_create(actor=org.admin, category="价值", name="重点客户")
    services.tag_create(actor=org.admin, category="价值", name="潜力客户")
    services.tag_create(actor=org.admin, category="行业", name="石化")
    services.custom_field_define(actor=org.admin, key="annual_revenue", label="年营业额（万元）", field_type="number")
    login(client, org, org.admin)
    r = client.get(reverse("customers:catalog"))
    assert r.status_code == 200
    assert [(c.name, [t.name for t in tags]) for c, tags in r.context["categories"]] == [
        ("价值", ["潜力客户", "重点客户"]), ("行业", ["石化"])]
    body = r.content.decode()
    assert "年营业额（万元）" in body and "annual_revenue" in body
    assert reverse("customers:catalog") in body  # the navigation offers it to the admin


@pytest.mark.parametrize("role", ["executive", "manager", "rep", "agent", "analyst", "auditor"])
def test_catalogue_is_refused_to_other_roles(client, org, role):
    login(client, org, getattr(org, role))
    assert client.get(reverse("customers:catalog")).status_code == 403
    assert client.post(reverse("customers:catalog_tag_create"), {"category": "价值", "name": "重点客户"}).status_code == 403
    assert client.post(reverse("customers:catalog_field_create"),
                       {"key": "grade", "label": "等级", "field_type": "text"}).status_code == 403
    assert not Tag.objects.exists() and not CustomFieldDefinition.objects.exists()
    assert reverse("customers:catalog") not in client.get(reverse("customers:list")).content.decode()


def test_catalogue_adds_a_tag(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("customers:catalog_tag_create"), {"category": "价值", "name": "重点客户"})
    assert r.status_code == 302 and r["Location"] == reverse("customers:catalog") + "#tags"
    tag = Tag.objects.select_related("category").get()
    assert (tag.category.name, tag.name) == ("价值", "重点客户")
    assert AuditEntry.objects.filter(action="tag.create").exists()


def test_catalogue_duplicate_tag_shows_the_inline_error(client, org):
    services.tag_create(actor=org.admin, category="价值", name="重点客户")
    login(client, org, org.admin)
    r = client.post(reverse("customers:catalog_tag_create"), {"category": "价值", "name": "重点客户"})
    assert r.status_code == 409
    assert r.context["tag_form"].errors["name"] == ["已存在。"]
    assert "该标签已存在。" in r.content.decode()
    assert Tag.objects.count() == 1


def test_catalogue_tag_without_a_name_is_a_form_error(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("customers:catalog_tag_create"), {"category": "价值", "name": ""})
    assert r.status_code == 400
    assert r.context["tag_form"].errors["name"] == ["这个字段是必填项。"]


def test_catalogue_adds_a_choice_field_with_comma_separated_choices(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("customers:catalog_field_create"), {
        "key": "credit_grade", "label": "信用等级", "field_type": "choice", "choices": "A, B，C、A", "required": "on"})
    assert r.status_code == 302 and r["Location"] == reverse("customers:catalog") + "#custom-fields"
    d = CustomFieldDefinition.objects.get()
    assert (d.key, d.label, d.field_type, d.choices, d.required) == ("credit_grade", "信用等级", "choice",
                                                                    ["A", "B", "C"], True)
    assert AuditEntry.objects.filter(action="customfield.create").exists()
    # The new field appears on the customer form.
    assert "custom_credit_grade" in client.get(reverse("customers:create")).context["form"].fields


def test_catalogue_choice_field_without_choices_shows_the_inline_error(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("customers:catalog_field_create"),
                    {"key": "credit_grade", "label": "信用等级", "field_type": "choice", "choices": " , "})
    assert r.status_code == 422
    assert r.context["field_form"].errors["choices"] == ["选项字段必填。"]
    assert "is-invalid" in r.content.decode()
    assert not CustomFieldDefinition.objects.exists()


def test_catalogue_bad_key_shows_the_inline_error(client, org):
    login(client, org, org.admin)
    r = client.post(reverse("customers:catalog_field_create"),
                    {"key": "年营业额", "label": "年营业额", "field_type": "number"})
    assert r.status_code == 422
    assert "key" in r.context["field_form"].errors
    assert not CustomFieldDefinition.objects.exists()


def test_catalogue_duplicate_key_is_a_conflict_on_the_key(client, org):
    services.custom_field_define(actor=org.admin, key="grade", label="等级", field_type="text")
    login(client, org, org.admin)
    r = client.post(reverse("customers:catalog_field_create"), {"key": "grade", "label": "等级2", "field_type": "text"})
    assert r.status_code == 409
    assert r.context["field_form"].errors["key"] == ["已存在。"]
