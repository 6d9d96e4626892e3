"""The customer pages on a phone (375 px) and what comes next when a list is empty (issue 9): the
list's filters fold behind 筛选, the merge page stacks one field per block, a revealed mobile is a
tel: link, and an empty list says what to do next. The browser journey shows them at 375 px;
these check the markup that makes them so."""

import re

import pytest
from django.urls import reverse

from kehu.customers import merge, services
from kehu.customers.tests.factories import BASIS, ID_CONSENT, org_customer

pytestmark = pytest.mark.django_db


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


def test_list_filters_fold_behind_a_filter_button_on_phones(client, org):
    """The search box stays; the other filters sit in a collapse that a 筛选 button (phones only)
    opens, always open from md up, and open when a filter is in use."""
    body = login(client, org, org.manager).get(reverse("customers:list")).content.decode()
    assert re.search(r'class="[^"]*d-md-none[^"]*"[^>]*>\s*<button[^>]*data-bs-toggle="collapse"[^>]*'
                     r'data-bs-target="#filter-panel"', body)
    panel = re.search(r'<div class="([^"]*)" id="filter-panel">', body).group(1)
    assert "collapse" in panel and "d-md-block" in panel and "show" not in panel
    panel = re.search(r'<div class="([^"]*)" id="filter-panel">',
                      client.get(reverse("customers:list"), {"stage": "intent"}).content.decode()).group(1)
    assert "show" in panel


def test_revealed_mobile_is_a_tel_link_but_an_id_number_is_not(client, org):
    person = services.customer_create(actor=org.rep, data={"name": "刘芳", "kind": "person",
                                                           "mobile": "15088886666",
                                                           "id_number": "11010519491231002X",
                                                           "basis": BASIS, "id_number_consent": ID_CONSENT})
    login(client, org, org.rep)
    r = client.post(reverse("customers:reveal", args=[person.pk]), {"field": "mobile"}, HTTP_HX_REQUEST="true")
    assert 'href="tel:15088886666"' in r.content.decode()
    r = client.post(reverse("customers:reveal", args=[person.pk]), {"field": "id_number"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "tel:" not in r.content.decode()


def test_revealed_contact_mobile_is_a_tel_link(client, org):
    firm = services.customer_create(actor=org.rep, data={"name": "华星石化"})
    contact = services.contact_create(actor=org.rep, customer_id=firm.pk, data={"name": "王强",
                                                                                 "mobile": "13812345678",
                                                                                 "basis": BASIS})
    login(client, org, org.manager)
    r = client.post(reverse("customers:contact_reveal", args=[contact.pk]), HTTP_HX_REQUEST="true")
    assert 'href="tel:13812345678"' in r.content.decode()


def test_merge_page_labels_each_value_with_its_record_for_the_stacked_phone_layout(client, org):
    a = org_customer(org.rep, "北京华星石化有限公司", serial=21)
    b = org_customer(org.rep2, "华星石化(北京)股份有限公司", serial=22)
    merge.duplicate_scan(actor=org.admin)
    body = login(client, org, org.manager).get(reverse("customers:merge", args=[a.pk, b.pk])).content.decode()
    assert "kehu-merge-table" in body and 'data-testid="merge-sides"' in body
    assert body.count('data-side="保留"') >= 5 and body.count('data-side="并入"') >= 5


def test_empty_list_says_to_register_or_import(client, org):
    """No customers yet: the next steps are 新建客户 and 导入 (for those who may)."""
    body = login(client, org, org.manager).get(reverse("customers:list")).content.decode()
    assert 'data-testid="empty-new"' in body and 'data-testid="empty-import"' in body
    assert reverse("imports:upload") in body


def test_empty_list_for_someone_who_cannot_register_says_who_assigns(client, org):
    body = login(client, org, org.agent).get(reverse("customers:list")).content.decode()
    assert 'data-testid="empty-state"' in body
    assert 'data-testid="empty-new"' not in body and 'data-testid="empty-import"' not in body


def test_empty_search_suggests_other_queries_and_clearing(client, org):
    services.customer_create(actor=org.rep, data={"name": "华星石化"})
    body = login(client, org, org.rep).get(reverse("customers:list"), {"q": "不存在的公司"}).content.decode()
    assert 'data-testid="empty-clear"' in body
