"""Customer selectors: data scope, keyset pagination (with ties), bounded query counts, history."""

import pytest
from django.utils import timezone

from kehu.customers import selectors, services
from kehu.customers.models import Customer
from kehu.customers.tests.factories import contact, org_customer
from kehu.errors import BadRequest, NotFound
from kehu.pagination import _encode

pytestmark = pytest.mark.django_db


def walk(actor, **kw):
    """Every page of customer_list, following `next` to the end."""
    ids, cursor, pages = [], None, 0
    while True:
        page = selectors.customer_list(actor=actor, cursor=cursor, **kw)
        ids += [c.pk for c in page.items]
        pages += 1
        if page.next is None:
            return ids, pages
        cursor = page.next
        assert pages < 100


# ---------------------------------------------------------------- scope

def test_customer_list_is_narrowed_to_the_data_scope(org):
    """Own for reps, department subtree for managers, everything for executives and back office."""
    mine = org_customer(org.rep, "浙江华星石化有限公司")
    colleague = org_customer(org.rep2, "上海东方贸易有限公司")
    north = org_customer(org.north_rep, "北京燕山机械有限公司")
    expected = {
        "rep": {mine}, "rep2": {colleague}, "north_rep": {north},
        "manager": {mine, colleague}, "north_manager": {north},
        **{k: {mine, colleague, north} for k in ("admin", "executive", "agent", "finance", "analyst", "auditor")},
    }
    for key, customers in expected.items():
        got = {c.pk for c in selectors.customer_list(actor=org.users[key]).items}
        assert got == {c.pk for c in customers}, key


def test_customer_get_outside_scope_is_not_found(org):
    """A record outside the scope answers exactly like a record that does not exist."""
    c = org_customer(org.rep, "浙江华星石化有限公司")
    for key in ("rep2", "north_rep", "north_manager"):
        with pytest.raises(NotFound) as outside:
            selectors.customer_get(actor=org.users[key], customer_id=c.pk)
        with pytest.raises(NotFound) as missing:
            selectors.customer_get(actor=org.users[key], customer_id=c.pk + 1000)
        assert outside.value.as_dict() == missing.value.as_dict()


def test_contacts_consents_and_history_follow_the_customers_scope(org):
    """Nothing hanging off a customer is readable when the customer is out of scope."""
    c = org_customer(org.rep, "浙江华星石化有限公司")
    w = contact(org.rep, c, "王强")
    consent = services.consent_create(actor=org.rep, customer_id=c.pk, data={"purpose": "回访", "channel": "电话"})
    for fn, kw in ((selectors.contact_get, {"contact_id": w.pk}), (selectors.contact_list, {"customer_id": c.pk}),
                   (selectors.consent_get, {"consent_id": consent.pk}),
                   (selectors.consent_list, {"customer_id": c.pk}), (selectors.history_list, {"customer_id": c.pk}),
                   (selectors.customer_detail, {"customer_id": c.pk})):
        with pytest.raises(NotFound):
            fn(actor=org.rep2, **kw)
        fn(actor=org.manager, **kw)


def test_inactive_user_sees_nothing(org):
    """A deactivated account's scope is empty."""
    org_customer(org.rep, "浙江华星石化有限公司")
    org.executive.is_active = False
    assert selectors.customer_list(actor=org.executive).items == []


# ---------------------------------------------------------------- keyset pagination

@pytest.fixture
def tied(org):
    """25 customers registered in one batch (identical created/updated time) with 5 distinct names."""
    names = ["华星石化", "东方贸易", "燕山机械", "海天味业", "三一重工"]
    rows = [{"name": names[i % 5], "owner": org.rep, "city": "杭州市"} for i in range(25)]
    services.customer_bulk_create(actor=org.rep, rows=rows)
    assert Customer.objects.values("updated_at").distinct().count() == 1
    return list(Customer.objects.order_by("id").values_list("id", flat=True))


@pytest.mark.parametrize("ordering", ["name", "-name", "updated_at", "-updated_at", "created_at", "-created_at",
                                      "id", "-id"])
@pytest.mark.parametrize("limit", [1, 2, 7])
def test_cursor_pagination_over_ties_returns_every_row_once_in_order(org, tied, ordering, limit):
    """Walking the pages over equal names or equal timestamps yields each customer exactly once, in
    the order of the ordering field then id."""
    ids, pages = walk(org.rep, ordering=ordering, limit=limit)
    field, desc = ordering.lstrip("-"), ordering.startswith("-")
    rows = Customer.objects.filter(pk__in=tied)
    expected = list(rows.order_by(f"-{field}" if desc else field, "-id" if desc else "id")
                    .values_list("id", flat=True))
    assert ids == expected
    assert pages == -(-len(tied) // limit)  # no empty trailing page


def test_pagination_is_stable_when_a_row_is_updated_between_pages(org, tied):
    """A row edited while paging by -updated_at moves to the front; the remaining pages stay consistent
    (no repeats)."""
    first = selectors.customer_list(actor=org.rep, ordering="-updated_at", limit=5)
    services.customer_update(actor=org.rep, customer_id=tied[-1], data={"industry": "化工"})
    rest, _pages = walk(org.rep, ordering="-updated_at", limit=5)
    seen = [c.pk for c in first.items]
    second = selectors.customer_list(actor=org.rep, ordering="-updated_at", limit=5, cursor=first.next)
    assert not set(seen) & {c.pk for c in second.items}
    assert rest[0] == tied[-1]


def test_last_page_has_no_next_cursor(org, tied):
    """`next` is null exactly when there is nothing more."""
    page = selectors.customer_list(actor=org.rep, limit=25)
    assert len(page.items) == 25 and page.next is None
    page = selectors.customer_list(actor=org.rep, limit=24)
    assert page.next is not None


@pytest.mark.parametrize("kw", [
    {"ordering": "owner"}, {"ordering": "name;drop table"}, {"limit": 0}, {"limit": 201}, {"limit": -5},
    {"cursor": "not-base64!!"}, {"cursor": _encode(["x"])}, {"cursor": _encode(["2026-01-01T00:00:00", 1])},
    {"cursor": _encode([1, "x"])}, {"ordering": "name", "cursor": _encode([5, 1])},
    {"ordering": "updated_at", "cursor": _encode(["yesterday", 1])},
])
def test_bad_ordering_limit_or_cursor_is_a_bad_request(org, kw):
    """Unknown orderings, a page size outside 1–200 and malformed cursors are 400s, never a crash."""
    with pytest.raises(BadRequest):
        selectors.customer_list(actor=org.rep, **kw)


# ---------------------------------------------------------------- history

def test_history_lists_field_changes_newest_first(org):
    """The timeline shows each write of the customer and its contacts, newest first, with the author."""
    c = org_customer(org.rep, "浙江华星石化有限公司")
    services.customer_update(actor=org.rep, customer_id=c.pk, data={"stage": "intent"})
    w = contact(org.rep, c, "王强")
    services.customer_update(actor=org.manager, customer_id=c.pk, data={"stage": "customer"})
    rows = selectors.history_list(actor=org.rep, customer_id=c.pk).items
    assert [(r.object_type, r.action, r.actor_name) for r in rows] == [
        ("customer", "update", "manager"), ("contact", "create", "rep"),
        ("customer", "update", "rep"), ("customer", "create", "rep")]
    assert rows[0].changes == {"stage": ["intent", "customer"]}
    assert rows[1].object_id == w.pk
    assert all(r.at <= timezone.now() for r in rows)


def test_history_is_paginated(org):
    """History pages follow the same cursor rules."""
    c = org_customer(org.rep, "浙江华星石化有限公司")
    for i in range(5):
        services.customer_update(actor=org.rep, customer_id=c.pk, data={"scale": f"{i + 1}00 人"})
    page = selectors.history_list(actor=org.rep, customer_id=c.pk, limit=4)
    rest = selectors.history_list(actor=org.rep, customer_id=c.pk, limit=4, cursor=page.next)
    assert len(page.items) == 4 and len(rest.items) == 2 and rest.next is None
    assert [r.action for r in rest.items] == ["update", "create"]
