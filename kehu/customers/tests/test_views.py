"""The server-rendered customer pages: login, list and search, the 360° page, forms with inline
errors, the audited reveal, scope (404 outside it) and the language switch."""

import pytest
from django.urls import reverse

from kehu.audit.models import AuditEntry
from kehu.customers import services, views
from kehu.customers.models import Consent, Contact, Customer
from kehu.customers.tests.factories import BASIS

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"


def valid_uscc(body="91330106MA2H0K8X3"):
    from stdnum.cn import uscc

    return body + uscc.calc_check_digit(body)


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


@pytest.fixture
def huaxing(org):
    """浙江华星石化有限公司, owned by the east rep, with a decision maker and a purchaser under him."""
    customer = services.customer_create(actor=org.rep, data={
        "name": "浙江华星石化有限公司", "uscc": valid_uscc(), "industry": "石化", "province": "浙江省",
        "city": "杭州市", "district": "西湖区", "stage": "intent", "needs": "稳定的原料供应"})
    boss = services.contact_create(actor=org.rep, customer_id=customer.pk, data={
        "name": "王强", "title": "总经理", "role": "decision_maker", "mobile": MOBILE, "basis": BASIS})
    services.contact_create(actor=org.rep, customer_id=customer.pk, data={
        "name": "李娜", "title": "采购部经理", "role": "purchaser", "reports_to": boss.pk})
    return customer


def form_data(**overrides):
    data = {"name": "宁波港联物流有限公司", "kind": "organization", "uscc": "", "industry": "物流",
            "province": "330000", "city": "330200", "stage": "prospect", "status": "active"}
    data.update(overrides)
    return data


# ---------------------------------------------------------------- login

def test_login_page_renders_in_chinese_by_default(client):
    """The login page is Chinese unless the visitor chose another language."""
    r = client.get(reverse("access:login"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "登录" in body and "用户名" in body and "密码" in body
    assert 'lang="zh-Hans"' in body


def test_login_with_wrong_password_shows_the_error(client, org):
    """A wrong password re-renders the form with the service's message."""
    r = client.post(reverse("access:login"), {"username": "rep", "password": "wrong-password"})
    assert r.status_code == 400
    assert "用户名或密码错误。" in r.content.decode()


def test_login_lockout_message_is_shown(client, org, settings):
    """After the allowed failures the form says the account is locked, even with the right password."""
    for _ in range(settings.KEHU_LOCKOUT_ATTEMPTS):
        client.post(reverse("access:login"), {"username": "rep", "password": "wrong-password"})
    r = client.post(reverse("access:login"), {"username": "rep", "password": org.password})
    assert r.status_code == 429 and r["Retry-After"]  # throttled before the password is checked (issue 16)
    assert "登录失败次数过多" in r.content.decode()


def test_login_then_lands_on_the_workbench(client, org):
    """Issue 9: each user lands on their workbench (工作台), not the customer list."""
    r = client.post(reverse("access:login"), {"username": "rep", "password": org.password})
    assert r.status_code == 302 and r["Location"] == "/workbench/"
    r = client.get(r["Location"])
    assert r.status_code == 200
    assert "张伟" in r.content.decode()


def test_pages_require_login(client):
    r = client.get(reverse("customers:list"))
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_htmx_request_of_anonymous_visitor_redirects_the_whole_page(client):
    r = client.get(reverse("customers:list"), {"q": "华星"}, HTTP_HX_REQUEST="true",
                   HTTP_HX_CURRENT_URL="http://testserver/?q=%E5%8D%8E")
    assert r["HX-Redirect"].startswith("/login/?next=")


# ---------------------------------------------------------------- list and search

def test_list_searches_by_pinyin_initials(client, org, huaxing):
    """hxsh finds 浙江华星石化 (华星石化 → h x s h)."""
    services.customer_create(actor=org.rep, data={"name": "上海东方精密机械股份有限公司"})
    login(client, org, org.rep)
    r = client.get(reverse("customers:list"), {"q": "hxsh"})
    body = r.content.decode()
    assert r.status_code == 200
    assert "浙江华星石化有限公司" in body
    assert "上海东方精密机械股份有限公司" not in body
    assert "<html" in body  # a normal request gets the whole page


def test_htmx_search_returns_only_the_rows_partial(client, org, huaxing):
    login(client, org, org.rep)
    r = client.get(reverse("customers:list"), {"q": "华星"}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200
    assert "浙江华星石化有限公司" in body
    assert "<html" not in body and "navbar" not in body
    assert "HX-Request" in r["Vary"]


def test_list_search_finds_a_customer_by_contact_mobile(client, org, huaxing):
    login(client, org, org.rep)
    r = client.get(reverse("customers:list"), {"q": MOBILE})
    assert "浙江华星石化有限公司" in r.content.decode()


def test_list_shows_the_empty_state_when_nothing_matches(client, org, huaxing):
    login(client, org, org.rep)
    r = client.get(reverse("customers:list"), {"q": "不存在的公司"})
    body = r.content.decode()
    assert 'data-testid="empty-state"' in body
    assert "没有符合条件的客户" in body


def test_list_filters_and_ordering_and_cursor_paging(client, org, monkeypatch):
    """Two per page: the next link carries cursor + filters; the first-page link drops the cursor."""
    for name in ("杭州甲公司", "杭州乙公司", "杭州丙公司"):
        services.customer_create(actor=org.rep, data={"name": name, "city": "杭州市"})
    services.customer_create(actor=org.rep, data={"name": "苏州丁公司", "city": "苏州市"})
    login(client, org, org.rep)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    names = ["杭州丙公司", "杭州甲公司", "杭州乙公司"]  # pinyin order: bing < jia < yi
    r = client.get(reverse("customers:list"), {"city": "杭州市", "ordering": "name"})
    assert [c.name for c in r.context["customers"]] == names[:2]
    next_url = r.context["next_url"]
    assert "cursor=" in next_url and "city=" in next_url and "ordering=name" in next_url
    assert "下一页" in r.content.decode()
    r = client.get(reverse("customers:list") + next_url)
    assert [c.name for c in r.context["customers"]] == names[2:]
    assert r.context["next_url"] is None
    first = r.context["first_url"]
    assert "cursor" not in first and "city=" in first
    assert "第一页" in r.content.decode()


def test_list_of_a_rep_holds_only_own_customers(client, org, huaxing):
    services.customer_create(actor=org.rep2, data={"name": "江苏恒瑞新材料科技有限公司"})
    login(client, org, org.rep)
    body = client.get(reverse("customers:list")).content.decode()
    assert "浙江华星石化有限公司" in body
    assert "江苏恒瑞新材料科技有限公司" not in body


def test_list_shows_masked_mobile_of_person_customers(client, org):
    services.customer_create(actor=org.rep, data={"name": "刘芳", "kind": "person", "mobile": "15088886666",
                                                             "basis": BASIS})
    login(client, org, org.rep)
    body = client.get(reverse("customers:list")).content.decode()
    assert "150****6666" in body
    assert "15088886666" not in body


def test_bad_cursor_is_a_400_page_not_a_500(client, org):
    login(client, org, org.rep)
    r = client.get(reverse("customers:list"), {"cursor": "not-a-cursor"})
    assert r.status_code == 400
    assert "分页游标无效" in r.content.decode()


# ---------------------------------------------------------------- 360° page

def test_detail_shows_profile_masked_contacts_org_chart_and_timeline(client, org, huaxing, django_assert_max_num_queries):
    login(client, org, org.rep)
    with django_assert_max_num_queries(18):  # 16 + the grade badges (one query without grades) + the service level
        r = client.get(reverse("customers:detail", args=[huaxing.pk]))
    body = r.content.decode()
    assert r.status_code == 200
    assert "浙江华星石化有限公司" in body and "石化" in body and "稳定的原料供应" in body
    assert "138****5678" in body and MOBILE not in body
    assert "决策者" in body and "采购者" in body  # contact roles in Chinese
    chart = r.context["org_chart"]
    assert [n["contact"].name for n in chart] == ["王强"]
    assert [n["contact"].name for n in chart[0]["children"]] == ["李娜"]
    assert 'data-testid="org-chart"' in body
    timeline = r.context["timeline"]
    assert timeline and timeline[0]["record"].object_type == "contact"
    assert "意向客户" in body  # the stage, in Chinese, in profile and timeline


def test_detail_query_count_does_not_grow_with_contacts(client, org, huaxing, django_assert_max_num_queries):
    for i in range(15):
        services.contact_create(actor=org.rep, customer_id=huaxing.pk,
                                data={"name": f"联系人{i}", "mobile": f"1391234{i:04d}", "basis": BASIS})
    login(client, org, org.rep)
    with django_assert_max_num_queries(17):  # 16 + the grade badges (one query without grades)
        assert client.get(reverse("customers:detail", args=[huaxing.pk])).status_code == 200


def test_rep_cannot_open_another_reps_customer(client, org, huaxing):
    """Outside the data scope a customer does not exist: 404, for its page, form and reveal."""
    login(client, org, org.rep2)
    assert client.get(reverse("customers:detail", args=[huaxing.pk])).status_code == 404
    assert client.get(reverse("customers:edit", args=[huaxing.pk])).status_code == 404
    contact = huaxing.contacts.get(name="王强")
    assert client.post(reverse("customers:contact_reveal", args=[contact.pk])).status_code == 404
    assert not AuditEntry.objects.filter(action="contact.reveal").exists()


def test_history_load_more_returns_older_entries(client, org, huaxing, monkeypatch):
    login(client, org, org.rep)
    monkeypatch.setattr(views, "HISTORY_PAGE_SIZE", 1)
    r = client.get(reverse("customers:detail", args=[huaxing.pk]))
    cursor = r.context["history_next"]
    assert cursor
    r = client.get(reverse("customers:history", args=[huaxing.pk]), {"cursor": cursor}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert "<html" not in r.content.decode()
    assert r.context["timeline"][0]["record"].object_type == "consent"  # the basis recorded with the mobile


# ---------------------------------------------------------------- reveal

def test_manager_reveals_contact_mobile_in_clear_and_it_is_audited(client, org, huaxing):
    contact = huaxing.contacts.get(name="王强")
    login(client, org, org.manager)
    r = client.post(reverse("customers:contact_reveal", args=[contact.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert MOBILE in r.content.decode()
    assert "no-store" in r["Cache-Control"]
    entry = AuditEntry.objects.get(action="contact.reveal")
    assert entry.actor_name == "manager" and entry.object_id == str(contact.pk)


def test_agent_reveal_is_refused_with_a_403_fragment(client, org, huaxing):
    """A service agent (level internal) sees the archive masked and may not reveal a mobile."""
    contact = huaxing.contacts.get(name="王强")
    login(client, org, org.agent)
    page = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert "138****5678" in page and MOBILE not in page
    r = client.post(reverse("customers:contact_reveal", args=[contact.pk]), HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 403
    assert "您的角色无权查看此字段的明文。" in body
    assert MOBILE not in body and "<html" not in body
    assert not AuditEntry.objects.filter(action="contact.reveal").exists()


def test_reveal_needs_post(client, org, huaxing):
    login(client, org, org.manager)
    contact = huaxing.contacts.get(name="王强")
    assert client.get(reverse("customers:contact_reveal", args=[contact.pk])).status_code == 405


def test_person_customer_mobile_reveal(client, org):
    person = services.customer_create(actor=org.rep, data={"name": "刘芳", "kind": "person", "mobile": "15088886666",
                                                             "basis": BASIS})
    login(client, org, org.rep)
    r = client.post(reverse("customers:reveal", args=[person.pk]), {"field": "mobile"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "15088886666" in r.content.decode()


# ---------------------------------------------------------------- create and edit

def test_create_form_offers_only_assignable_owners(client, org):
    login(client, org, org.rep)
    r = client.get(reverse("customers:create"))
    assert r.status_code == 200
    assert list(r.context["form"].fields["owner"].queryset) == [org.rep]
    login(client, org, org.manager)
    owners = set(client.get(reverse("customers:create")).context["form"].fields["owner"].queryset)
    assert {org.manager, org.rep, org.rep2} <= owners
    assert org.north_rep not in owners


def test_create_customer_redirects_to_its_page(client, org):
    login(client, org, org.rep)
    r = client.post(reverse("customers:create"), form_data(uscc=valid_uscc("91330200MA2AB1CD5"), owner=org.rep.pk))
    customer = Customer.objects.get(name="宁波港联物流有限公司")
    assert r.status_code == 302 and r["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.owner == org.rep
    assert AuditEntry.objects.filter(action="customer.create", object_id=str(customer.pk)).exists()


def test_create_with_bad_uscc_shows_the_error_on_the_field(client, org):
    """A USCC failing the GB 32100-2015 check comes back on the uscc field, in Chinese, with 422."""
    login(client, org, org.rep)
    bad = valid_uscc()[:-1] + ("0" if valid_uscc()[-1] != "0" else "1")
    r = client.post(reverse("customers:create"), form_data(uscc=bad))
    assert r.status_code == 422
    form = r.context["form"]
    assert form.errors["uscc"] == ["请输入有效的 18 位统一社会信用代码。"]
    body = r.content.decode()
    assert "未通过 GB 32100-2015 校验" in body
    assert "is-invalid" in body
    assert not Customer.objects.exists()


def test_create_person_with_bad_mobile_shows_the_error_on_the_field(client, org):
    login(client, org, org.rep)
    r = client.post(reverse("customers:create"), form_data(name="刘芳", kind="person", mobile="12345"))
    assert r.status_code == 422
    assert r.context["form"].errors["mobile"] == ["请输入有效的手机号，例如 13812345678。"]


def test_create_without_name_is_a_form_error(client, org):
    login(client, org, org.rep)
    r = client.post(reverse("customers:create"), form_data(name=""))
    assert r.status_code == 400
    assert r.context["form"].errors["name"] == ["这个字段是必填项。"]


def test_duplicate_uscc_is_shown_on_the_uscc_field_with_409(client, org, huaxing):
    login(client, org, org.rep2)
    r = client.post(reverse("customers:create"), form_data(name="华星石化（重复）", uscc=valid_uscc()))
    assert r.status_code == 409
    form = r.context["form"]
    assert form.errors["uscc"] == ["已被登记。"]
    assert "该统一社会信用代码已被登记（负责人所在部门：华东区）。" in form.non_field_errors()


def test_custom_field_errors_land_on_their_field(client, org):
    services.custom_field_define(actor=org.admin, key="annual_revenue", label="年营业额（万元）",
                                 field_type="number", required=True)
    login(client, org, org.rep)
    r = client.post(reverse("customers:create"), form_data())
    assert r.status_code == 400
    assert "custom_annual_revenue" in r.context["form"].errors
    r = client.post(reverse("customers:create"), form_data(custom_annual_revenue="52000"))
    assert r.status_code == 302
    assert Customer.objects.get().custom == {"annual_revenue": 52000}


def test_edit_changes_fields_and_keeps_the_mobile_when_left_blank(client, org):
    person = services.customer_create(actor=org.rep, data={"name": "刘芳", "kind": "person", "mobile": "15088886666",
                                                             "basis": BASIS})
    login(client, org, org.rep)
    r = client.get(reverse("customers:edit", args=[person.pk]))
    assert r.context["form"].initial["name"] == "刘芳"
    assert "15088886666" not in r.content.decode() and 'placeholder="150****6666"' in r.content.decode()
    r = client.post(reverse("customers:edit", args=[person.pk]),
                    form_data(name="刘芳", kind="person", city="330100", stage="intent"))
    assert r.status_code == 302
    person.refresh_from_db()
    assert person.city == "杭州市" and person.stage == "intent"
    assert person.mobile_masked == "150****6666"


def test_edit_with_tags(client, org, huaxing):
    tag = services.tag_create(actor=org.admin, category="价值", name="重点客户")
    login(client, org, org.rep)
    data = form_data(name=huaxing.name, uscc=huaxing.uscc, tags=[tag.pk])
    assert client.post(reverse("customers:edit", args=[huaxing.pk]), data).status_code == 302
    assert list(huaxing.tags.all()) == [tag]


def test_write_buttons_are_hidden_from_read_only_roles_and_the_service_refuses(client, org, huaxing):
    login(client, org, org.agent)
    body = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert reverse("customers:edit", args=[huaxing.pk]) not in body
    assert reverse("customers:contact_create", args=[huaxing.pk]) not in body
    assert 'data-testid="new-customer"' not in client.get(reverse("customers:list")).content.decode()
    r = client.post(reverse("customers:create"), form_data())
    assert r.status_code == 403
    assert not Customer.objects.filter(name="宁波港联物流有限公司").exists()


# ---------------------------------------------------------------- contacts and consents

def test_add_contact_with_superior(client, org, huaxing):
    boss = huaxing.contacts.get(name="王强")
    login(client, org, org.rep)
    assert client.get(reverse("customers:contact_create", args=[huaxing.pk])).status_code == 200
    r = client.post(reverse("customers:contact_create", args=[huaxing.pk]), {
        "name": "赵磊", "title": "财务总监", "role": "finance", "reports_to": boss.pk, "mobile": "13712345678",
        "email": "zhaolei@hxsh.com.cn", "birthday": "1980-05-04", "basis": "contract", "basis_purpose": "付款对账联系"})
    assert r.status_code == 302
    contact = Contact.objects.get(name="赵磊")
    assert contact.reports_to == boss and contact.mobile_masked == "137****5678"


def test_add_contact_with_bad_mobile_shows_inline_error(client, org, huaxing):
    login(client, org, org.rep)
    r = client.post(reverse("customers:contact_create", args=[huaxing.pk]), {"name": "赵磊", "role": "finance",
                                                                             "mobile": "1234"})
    assert r.status_code == 422
    assert r.context["form"].errors["mobile"] == ["请输入有效的手机号，例如 13812345678。"]
    assert "“1234”不是有效的手机号。" in r.content.decode()


def test_contact_reports_to_choices_are_this_customers_contacts(client, org, huaxing):
    other = services.customer_create(actor=org.rep, data={"name": "宁波港联物流有限公司"})
    stranger = services.contact_create(actor=org.rep, customer_id=other.pk, data={"name": "孙悦"})
    login(client, org, org.rep)
    r = client.post(reverse("customers:contact_create", args=[huaxing.pk]),
                    {"name": "赵磊", "role": "finance", "reports_to": stranger.pk})
    assert r.status_code == 400
    assert "reports_to" in r.context["form"].errors


def test_consent_create_and_withdraw(client, org, huaxing):
    boss = huaxing.contacts.get(name="王强")
    login(client, org, org.rep)
    r = client.post(reverse("customers:consent_create", args=[huaxing.pk]), {
        "contact": boss.pk, "purpose": "产品推广短信", "channel": "纸质授权书", "evidence": "扫描件 HX-2026-001"})
    assert r.status_code == 302
    consent = Consent.objects.get(purpose="产品推广短信")
    assert consent.contact == boss and consent.status == "granted"
    body = client.get(reverse("customers:detail", args=[huaxing.pk])).content.decode()
    assert "产品推广短信" in body and "已同意" in body
    r = client.post(reverse("customers:consent_withdraw", args=[consent.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "已撤回" in r.content.decode()
    consent.refresh_from_db()
    assert consent.status == "withdrawn" and consent.withdrawn_at is not None
    r = client.post(reverse("customers:consent_withdraw", args=[consent.pk]))
    assert r.status_code == 409


def test_consent_without_purpose_re_renders_the_page_with_errors(client, org, huaxing):
    login(client, org, org.rep)
    r = client.post(reverse("customers:consent_create", args=[huaxing.pk]), {"channel": "微信"})
    assert r.status_code == 400
    assert "purpose" in r.context["consent_form"].errors
    assert r.context["consent_form_open"] is True


# ---------------------------------------------------------------- language

def test_language_switch_to_english_and_back(client, org, huaxing):
    login(client, org, org.rep)
    url = reverse("customers:detail", args=[huaxing.pk])
    assert "联系人" in client.get(url).content.decode()
    r = client.post("/i18n/setlang/", {"language": "en", "next": url})
    assert r.status_code == 302 and r["Location"] == url
    body = client.get(url).content.decode()
    assert "Contacts" in body and "Decision maker" in body and 'lang="en"' in body
    assert "Organisation chart" in body
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": url})
    assert "组织架构" in client.get(url).content.decode()


# ---------------------------------------------------------------- assets

@pytest.mark.parametrize("path", ["vendor/tabler/css/tabler.min.css", "vendor/tabler/js/tabler.min.js",
                                  "vendor/htmx/htmx.min.js", "kehu/kehu.css", "kehu/kehu.js"])
def test_vendored_assets_are_served_by_the_app(client, path):
    """No CDN: Tabler, htmx and Kehu's own assets come from the app (WhiteNoise)."""
    r = client.get(f"/static/{path}")
    assert r.status_code == 200
    content = b"".join(r.streaming_content) if r.streaming else r.content
    assert len(content) > 100


def test_pages_reference_no_external_host(client, org):
    login(client, org, org.rep)
    body = client.get(reverse("customers:list")).content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in body
    assert "https://" not in body and "http://" not in body
