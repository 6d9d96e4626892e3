"""The customer list a new user expects (issue 9, rough edges): a total count (exact up to the cap,
estimated beyond), owner / department / 我的客户 filters within the data scope, names in pinyin order,
尾号 (last four digits of a mobile) search, traditional characters found as simplified, and a
previous page."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from kehu.customers import search, selectors, services, views
from kehu.customers.models import Contact, Customer
from kehu.customers.tests.factories import BASIS

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("kehu.customers.migrations.0007_list_sort_key_and_mobile_last4")


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


def names(page):
    return [c.name for c in page.items]


# ---------------------------------------------------------------- count

def test_list_count_is_exact_up_to_the_cap(org):
    """Up to KEHU_LIST_EXACT_COUNT_MAX customers the list says exactly how many match."""
    for n in ("华星石化", "东方贸易", "燕山机械"):
        services.customer_create(actor=org.rep, data={"name": n})
    count = selectors.customer_count(actor=org.rep)
    assert (count.value, count.kind) == (3, "exact")
    assert selectors.customer_count(actor=org.rep, q="华星").value == 1
    assert selectors.customer_count(actor=org.north_rep).value == 0  # scoped like the list


def test_list_count_beyond_the_cap_is_an_estimate_not_a_full_count(org, settings, client):
    """Beyond the cap the count is PostgreSQL's planner estimate (约 N) when the planner too puts the list
    above the cap, or the bound (超过 N; always on SQLite): never a full scan of a million rows. (The table is
    analysed so that the planner knows its six rows: an estimate at or below the cap would be the bound.)"""
    settings.KEHU_LIST_EXACT_COUNT_MAX = 3
    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"华星{i}号公司"} for i in range(6)])
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE customers_customer")
    count = selectors.customer_count(actor=org.rep)
    if connection.vendor == "postgresql":
        assert count.kind == "estimate" and count.value > 3
    else:
        assert (count.kind, count.value) == ("at_least", 3)
    body = login(client, org, org.rep).get(reverse("customers:list")).content.decode()
    shown = body[body.index('data-testid="customer-count"'):][:200]
    assert f'data-count-kind="{count.kind}"' in shown and str(count.value) in shown


def test_a_search_counts_up_to_its_own_cap_then_says_more_than(org, settings, client, api_client):
    """A search stops counting at KEHU_SEARCH_EXACT_COUNT_MAX (each match of a common term costs two random
    reads): beyond it the API says at_least with the cap, on both databases (no planner estimate, which cannot
    see a search's selectivity), and the page says 超过 N; the same list without the search is still counted."""
    settings.KEHU_LIST_EXACT_COUNT_MAX = 10
    settings.KEHU_SEARCH_EXACT_COUNT_MAX = 3
    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"华星{i}号公司"} for i in range(6)]
                                  + [{"name": "东方贸易"}])
    assert selectors.customer_count(actor=org.rep, q="华星") == selectors.ListCount(3, "at_least")
    assert selectors.customer_count(actor=org.rep, q="东方") == selectors.ListCount(1, "exact")
    assert selectors.customer_count(actor=org.rep) == selectors.ListCount(7, "exact")
    body = api_client.as_user(org.rep).get("/customers", {"q": "华星", "limit": 2}).json()
    assert (len(body["items"]), body["count"], body["count_kind"]) == (2, 3, "at_least")
    html = login(client, org, org.rep).get(reverse("customers:list"), {"q": "华星"}).content.decode()
    shown = html[html.index('data-testid="customer-count"'):][:200]
    assert 'data-count-kind="at_least"' in shown and ">超过 3 位客户<" in shown


def test_a_first_page_holding_every_match_is_its_own_count(org, settings):
    """When the first page holds every match the count is the page's length: no counting statement; a later
    page (or a full first page) still counts."""
    from django.test.utils import CaptureQueriesContext

    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"华星{i}号公司"} for i in range(3)])

    def counted(**kw):
        with CaptureQueriesContext(connection) as ctx:
            page, count = selectors.customer_list_counted(actor=org.rep, **kw)
        return page, count, sum('COUNT(*) FROM (SELECT "customers_customer"' in q["sql"] for q in ctx.captured_queries)

    page, count, statements = counted(q="华星")
    assert (len(page.items), count, statements) == (3, selectors.ListCount(3, "exact"), 0)
    page, count, statements = counted(q="华星", limit=2)
    assert (len(page.items), count, statements) == (2, selectors.ListCount(3, "exact"), 1)
    _page, count, statements = counted(q="华星", limit=2, cursor=page.next)
    assert (count, statements) == (selectors.ListCount(3, "exact"), 1)


def test_a_dense_search_is_not_counted_the_page_says_what_it_proves(org, monkeypatch, api_client):
    """A search whose terms hold DENSE_POSTINGS customers or more is read in list order and not counted (the
    count would fetch every posting): the answer says "more than" the rows the page shows while there is a
    next page, and the exact number when the first page holds every match."""
    from kehu.customers import search_index

    monkeypatch.setattr(search_index, "DENSE_POSTINGS", 1)
    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"华星{i}号公司"} for i in range(5)])
    api = api_client.as_user(org.rep)
    first = api.get("/customers", {"q": "华星", "limit": 2}).json()
    assert (len(first["items"]), first["count"], first["count_kind"]) == (2, 2, "at_least")
    last = api.get("/customers", {"q": "华星", "limit": 3, "cursor": first["next"]}).json()
    assert (len(last["items"]), last["next"], last["count"], last["count_kind"]) == (3, None, 3, "at_least")
    whole = api.get("/customers", {"q": "华星", "limit": 5}).json()
    assert (whole["count"], whole["count_kind"]) == (5, "exact")
    assert selectors.customer_count(actor=org.rep, q="华星") == selectors.ListCount(5, "exact")  # still counts


def test_list_page_shows_the_count(client, org):
    services.customer_create(actor=org.rep, data={"name": "华星石化"})
    r = login(client, org, org.rep).get(reverse("customers:list"))
    assert r.context["count"].value == 1
    assert 'data-testid="customer-count"' in r.content.decode()


# ---------------------------------------------------------------- owner, department, 我的客户

@pytest.fixture
def spread(org):
    """One customer each for the east manager, the east rep, the north rep."""
    services.customer_create(actor=org.manager, data={"name": "经理的客户"})
    services.customer_create(actor=org.rep, data={"name": "张伟的客户"})
    services.customer_create(actor=org.north_rep, data={"name": "陈静的客户"})


def test_owner_and_department_choices_are_only_within_the_viewers_scope(client, org, spread):
    """The east manager may filter by east people and departments, never by the north's."""
    r = login(client, org, org.manager).get(reverse("customers:list"))
    owner_ids = {v for v, _label in r.context["form"].fields["owner"].choices if v}
    dept_ids = {v for v, _label in r.context["form"].fields["department"].choices if v}
    assert org.rep.pk in owner_ids and org.manager.pk in owner_ids and org.north_rep.pk not in owner_ids
    assert dept_ids == {org.depts["east"].pk}
    assert 'data-testid="owner-filter"' in r.content.decode()


def test_a_rep_who_sees_only_own_customers_gets_no_owner_filter(client, org, spread):
    r = login(client, org, org.rep).get(reverse("customers:list"))
    assert not r.context["show_scope_filters"]
    assert 'data-testid="owner-filter"' not in r.content.decode()


def test_owner_filter_narrows_the_list(client, org, spread):
    r = login(client, org, org.manager).get(reverse("customers:list"), {"owner": org.rep.pk})
    assert [c.name for c in r.context["customers"]] == ["张伟的客户"]
    assert r.context["count"].value == 1


def test_owner_outside_scope_is_not_a_valid_filter(client, org, spread):
    """Filtering by someone outside one's scope shows nothing of theirs (the choice is refused)."""
    r = login(client, org, org.manager).get(reverse("customers:list"), {"owner": org.north_rep.pk})
    assert "陈静的客户" not in r.content.decode()


def test_department_filter_takes_the_subtree(org, spread):
    """An executive filtering by 销售部 sees the customers of 华东区 and 华北区 below it."""
    page = selectors.customer_list(actor=org.executive, department=org.depts["sales"].pk)
    assert set(names(page)) == {"经理的客户", "张伟的客户", "陈静的客户"}
    page = selectors.customer_list(actor=org.executive, department=org.depts["north"].pk)
    assert names(page) == ["陈静的客户"]


def test_my_customers_toggle_shows_only_the_ones_i_own(client, org, spread):
    """「我的客户」: a manager's own customers, not the department's."""
    r = login(client, org, org.manager).get(reverse("customers:list"), {"mine": "1"})
    assert [c.name for c in r.context["customers"]] == ["经理的客户"]
    assert "mine=1" not in r.context["mine_url"]  # the toggle switches it off again
    r = client.get(reverse("customers:list"))
    assert len(r.context["customers"]) == 2 and "mine=1" in r.context["mine_url"]


# ---------------------------------------------------------------- pinyin order

def test_names_sort_in_pinyin_order(org):
    """ordering=name is 拼音 order (阿里 < 华星 < 怀远 < 黄河 < 张三 < 中国), not code-point order."""
    for n in ("中国", "黄河", "张三", "华星", "阿里", "怀远"):
        services.customer_create(actor=org.rep, data={"name": n})
    assert names(selectors.customer_list(actor=org.rep, ordering="name")) == [
        "阿里", "华星", "怀远", "黄河", "张三", "中国"]
    assert names(selectors.customer_list(actor=org.rep, ordering="-name"))[0] == "中国"


def test_sort_key_is_kept_on_rename_and_bulk_create(org):
    c = services.customer_create(actor=org.rep, data={"name": "中国"})
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"name": "阿里"})
    services.customer_bulk_create(actor=org.rep, rows=[{"name": "黄河"}])
    keys = dict(Customer.objects.values_list("name", "name_sort"))
    assert keys == {"阿里": search.sort_key("阿里"), "黄河": search.sort_key("黄河")}


def test_sort_key_orders_syllable_by_syllable():
    assert search.sort_key("华") < search.sort_key("怀") < search.sort_key("黄")
    assert set(search.sort_key("3M中国华星")) <= set("0123456789abcdefghijklmnopqrstuvwxyz")


# ---------------------------------------------------------------- 尾号

@pytest.fixture
def mobiles(org):
    person = services.customer_create(actor=org.rep, data={"name": "王芳", "kind": "person",
                                                           "mobile": "13812345678", "basis": BASIS})
    firm = services.customer_create(actor=org.rep, data={"name": "华星石化"})
    services.contact_create(actor=org.rep, customer_id=firm.pk, data={"name": "李娜", "mobile": "13900001234", "basis": BASIS})
    services.customer_create(actor=org.rep, data={"name": "1234连锁超市"})
    return person, firm


@pytest.mark.parametrize("query", ["尾号5678", "尾号 5678", "尾号：5678", "5678"])
def test_last_four_digits_find_the_customers_mobile(org, mobiles, query):
    """尾号5678 (or just 5678) finds the person whose mobile ends in 5678 (the mask shows it anyway)."""
    assert names(selectors.customer_list(actor=org.rep, q=query)) == ["王芳"]


def test_last_four_digits_find_a_contacts_mobile_and_bare_digits_also_match_names(org, mobiles):
    """A contact's 尾号 finds its customer; four bare digits also match a name containing them."""
    assert names(selectors.customer_list(actor=org.rep, q="尾号1234")) == ["华星石化"]
    assert set(names(selectors.customer_list(actor=org.rep, q="1234"))) == {"华星石化", "1234连锁超市"}
    assert names(selectors.customer_list(actor=org.rep, q="尾号0000")) == []


def test_last_four_digits_stay_in_scope(org, mobiles):
    assert names(selectors.customer_list(actor=org.north_rep, q="尾号5678")) == []


def test_last_four_digits_are_stored_and_cleared_with_the_mobile(org, mobiles):
    person, _firm = mobiles
    assert Customer.objects.get(pk=person.pk).mobile_last4 == "5678"
    assert Contact.objects.get(name="李娜").mobile_last4 == "1234"
    services.customer_update(actor=org.rep, customer_id=person.pk, data={"mobile": ""})
    assert Customer.objects.get(pk=person.pk).mobile_last4 == ""


def test_last_four_search_is_indexed(org, mobiles):
    """The 尾号 lookup reads an index, not every customer."""
    qs = selectors.customer_search_filter(Customer.objects.all(), "尾号5678")
    plan = qs.explain()
    if connection.vendor == "sqlite":
        assert "cust_mobile_last4" in plan and "contact_mobile_last4" in plan
    else:
        assert "mobile_last4" in plan


# ---------------------------------------------------------------- traditional characters

def test_traditional_characters_find_simplified_names_and_back(org):
    """華星 finds 华星石化; a name registered as 東方貿易 is found by 东方."""
    services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"})
    services.customer_create(actor=org.rep, data={"name": "香港東方貿易有限公司"})
    assert names(selectors.customer_list(actor=org.rep, q="華星")) == ["浙江华星石化有限公司"]
    assert names(selectors.customer_list(actor=org.rep, q="东方贸易")) == ["香港東方貿易有限公司"]
    assert names(selectors.customer_list(actor=org.rep, q="東方")) == ["香港東方貿易有限公司"]


# ---------------------------------------------------------------- previous page

def test_previous_page_walks_back_to_the_first(org):
    """Forward three pages, then back: each backward page equals the forward one, the first has no prev."""
    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"客户{i:02d}"} for i in range(7)])
    forward, cursor = [], None
    while True:
        page = selectors.customer_list(actor=org.rep, ordering="name", limit=3, cursor=cursor)
        forward.append((names(page), page))
        if not page.next:
            break
        cursor = page.next
    assert forward[0][1].prev is None and len(forward) == 3
    back = selectors.customer_list(actor=org.rep, ordering="name", limit=3, cursor=forward[2][1].prev)
    assert names(back) == forward[1][0]
    back = selectors.customer_list(actor=org.rep, ordering="name", limit=3, cursor=back.prev)
    assert names(back) == forward[0][0] and back.prev is None
    again = selectors.customer_list(actor=org.rep, ordering="name", limit=3, cursor=back.next)
    assert names(again) == forward[1][0]


def test_list_page_links_to_the_previous_page(client, org, monkeypatch):
    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"客户{i}"} for i in range(5)])
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    login(client, org, org.rep)
    r = client.get(reverse("customers:list"))
    assert r.context["prev_url"] is None
    r = client.get(reverse("customers:list") + r.context["next_url"])
    assert 'data-testid="prev-page"' in r.content.decode()
    r2 = client.get(reverse("customers:list") + r.context["prev_url"])
    assert len(r2.context["customers"]) == 2 and r2.context["prev_url"] is None


# ---------------------------------------------------------------- API

def test_api_list_has_count_prev_mine_and_department(org, api_client, spread):
    api = api_client.as_user(org.manager)
    body = api.get("/customers").json()
    assert (body["count"], body["count_kind"], body["prev"]) == (2, "exact", None)
    body = api.get("/customers", {"mine": "true"}).json()
    assert [c["name"] for c in body["items"]] == ["经理的客户"] and body["count"] == 1
    body = api.get("/customers", {"department": org.depts["north"].pk}).json()
    assert body["items"] == [] and body["count"] == 0  # outside the manager's scope: nothing
    body = api.get("/customers", {"q": "尾号0000"}).json()
    assert body["count"] == 0


def test_api_list_refuses_anonymous(client):
    assert client.get("/api/v1/customers").status_code == 401


# ---------------------------------------------------------------- migration and query count

def test_data_migration_fills_sort_keys_last_four_and_traditional_search_keys(org):
    """Rows written before the columns existed get their keys from the data migration."""
    person = services.customer_create(actor=org.rep, data={"name": "王芳", "kind": "person", "mobile": "13812345678", "basis": BASIS})
    trad = services.customer_create(actor=org.rep, data={"name": "東方貿易"})
    Customer.objects.update(name_sort="", mobile_last4="")
    Customer.objects.filter(pk=trad.pk).update(name_normalized="東方貿易")
    MIGRATION.fill_keys(apps, None)
    person.refresh_from_db()
    trad.refresh_from_db()
    assert person.mobile_last4 == "5678" and person.name_sort == search.sort_key("王芳")
    assert trad.name_normalized == "东方贸易"
    assert names(selectors.customer_list(actor=org.rep, q="东方")) == ["東方貿易"]


def test_list_query_count_is_bounded_with_all_filters(client, org, spread, django_assert_max_num_queries):
    """The count, the scope filters' choices and the subtree add a fixed number of queries, not per row."""
    services.customer_bulk_create(actor=org.rep, rows=[{"name": f"客户{i}"} for i in range(30)])
    login(client, org, org.manager)
    client.get(reverse("customers:list"))
    with django_assert_max_num_queries(18):  # 16 + the grade filter's choices + the page's grades
        r = client.get(reverse("customers:list"), {"q": "客户", "owner": org.rep.pk,
                                                   "department": org.depts["east"].pk, "ordering": "name"})
    assert r.status_code == 200
