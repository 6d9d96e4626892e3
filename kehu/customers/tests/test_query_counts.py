"""Bounded query counts (no N+1) for the customer list, search and 360° detail, on a busy archive."""

import pytest

from kehu.customers import selectors, services
from kehu.customers.models import Customer
from kehu.customers.tests.factories import MOBILE_WANG, build_org, contact, module_data, org_customer


def build_busy_archive():
    """20 customers of one rep, each with two tags, two contacts and a consent."""
    org = build_org()
    tags = [services.tag_create(actor=org.admin, category="规模", name=n) for n in ("大客户", "中型", "小微")]
    for i in range(20):
        c = org_customer(org.rep, f"华星石化第{i}分公司", tags=[tags[i % 3].pk, tags[(i + 1) % 3].pk])
        w = contact(org.rep, c, "王强", mobile=MOBILE_WANG)
        contact(org.rep, c, "李雷", reports_to=w.pk)
        services.consent_create(actor=org.rep, customer_id=c.pk,
                                data={"contact": w.pk, "purpose": "电话回访", "channel": "电话录音"})
    return org


busy = module_data("busy", build_busy_archive)


@pytest.mark.parametrize("role", ["rep", "manager", "executive"])
def test_customer_list_query_count_is_bounded(db, busy, role, django_assert_max_num_queries):
    """A page of 20 customers with tags costs a fixed handful of queries, whatever the scope."""
    actor = type(busy.rep).objects.get(pk=busy.users[role].pk)  # fresh, nothing cached
    with django_assert_max_num_queries(5):  # the page, its tags, its grades, the scope's subtree
        page = selectors.customer_list(actor=actor, limit=50)
        for c in page.items:
            (c.owner.display_name, c.department and c.department.name, [t.category.name for t in c.tag_list])
    assert len(page.items) == 20


def test_customer_search_query_count_is_bounded(db, busy, django_assert_max_num_queries):
    """A search over several bigrams costs one count per bigram plus the page."""
    with django_assert_max_num_queries(8):  # + the page's grades
        page = selectors.customer_list(actor=busy.executive, q="华星石化第1", limit=50)
    assert len(page.items) == 11


def test_customer_detail_query_count_is_bounded(db, busy, django_assert_max_num_queries):
    """The 360° detail (owner, department, tags, contacts, consents) costs at most four queries."""
    cid = Customer.objects.order_by("id").values_list("id", flat=True).first()
    with django_assert_max_num_queries(4):
        c = selectors.customer_detail(actor=busy.executive, customer_id=cid)
        (c.owner.display_name, c.department.name, [t.category.name for t in c.tags.all()],
         [x.name for x in c.contacts.all()], [(x.purpose, x.contact and x.contact.name) for x in c.consents.all()])


def test_api_list_and_detail_query_counts_are_bounded(db, busy, client, django_assert_max_num_queries):
    """Through the API (token check included) a list page and a detail stay within a fixed budget."""
    from kehu.access.services import token_create

    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_create(actor=busy.manager, name='t')[1]}"}
    client.get("/api/v1/tags", **auth)  # the token's last-used stamp is written once, outside the budget
    with django_assert_max_num_queries(8):  # + the page's grades
        r = client.get("/api/v1/customers", {"limit": 50}, **auth)
    assert r.status_code == 200 and len(r.json()["items"]) == 20
    cid = r.json()["items"][0]["id"]
    for path in (f"/customers/{cid}", f"/customers/{cid}/contacts", f"/customers/{cid}/history",
                 f"/customers/{cid}/consents"):
        with django_assert_max_num_queries(8):  # the detail lists the customer's grades (one query)
            assert client.get("/api/v1" + path, **auth).status_code == 200
