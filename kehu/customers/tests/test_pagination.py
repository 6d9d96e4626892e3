"""Keyset (cursor) pagination of the customer list: every row once, in order, also over ties of the
ordering field; bad cursors, orderings and page sizes refused."""

from types import SimpleNamespace

import pytest

from kehu.customers import selectors, services
from kehu.customers.models import Customer
from kehu.customers.tests.factories import build_org, module_data
from kehu.errors import BadRequest
from kehu.pagination import _encode


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


def build_tied():
    """25 customers registered in one batch (identical created/updated time) with 5 distinct names."""
    org = build_org()
    names = ["华星石化", "东方贸易", "燕山机械", "海天味业", "三一重工"]
    rows = [{"name": names[i % 5], "owner": org.rep, "city": "杭州市"} for i in range(25)]
    services.customer_bulk_create(actor=org.rep, rows=rows)
    assert Customer.objects.values("updated_at").distinct().count() == 1
    return SimpleNamespace(org=org, ids=list(Customer.objects.order_by("id").values_list("id", flat=True)))


tied = module_data("tied", build_tied)


@pytest.mark.parametrize("ordering", ["name", "-name", "updated_at", "-updated_at", "created_at", "-created_at",
                                      "id", "-id"])
@pytest.mark.parametrize("limit", [1, 2, 7])
def test_cursor_pagination_over_ties_returns_every_row_once_in_order(db, tied, ordering, limit):
    """Walking the pages over equal names or equal timestamps yields each customer exactly once, in
    the order of the ordering field then id."""
    ids, pages = walk(tied.org.rep, ordering=ordering, limit=limit)
    field, desc = ordering.lstrip("-"), ordering.startswith("-")
    field = "name_sort" if field == "name" else field  # names page in pinyin order
    rows = Customer.objects.filter(pk__in=tied.ids)
    expected = list(rows.order_by(f"-{field}" if desc else field, "-id" if desc else "id")
                    .values_list("id", flat=True))
    assert ids == expected
    assert pages == -(-len(tied.ids) // limit)  # no empty trailing page


def test_pagination_is_stable_when_a_row_is_updated_between_pages(db, tied):
    """A row edited while paging by -updated_at moves to the front; the remaining pages stay consistent
    (no repeats)."""
    first = selectors.customer_list(actor=tied.org.rep, ordering="-updated_at", limit=5)
    services.customer_update(actor=tied.org.rep, customer_id=tied.ids[-1], data={"industry": "化工"})
    rest, _pages = walk(tied.org.rep, ordering="-updated_at", limit=5)
    seen = [c.pk for c in first.items]
    second = selectors.customer_list(actor=tied.org.rep, ordering="-updated_at", limit=5, cursor=first.next)
    assert not set(seen) & {c.pk for c in second.items}
    assert rest[0] == tied.ids[-1]


def test_last_page_has_no_next_cursor(db, tied):
    """`next` is null exactly when there is nothing more."""
    page = selectors.customer_list(actor=tied.org.rep, limit=25)
    assert len(page.items) == 25 and page.next is None
    page = selectors.customer_list(actor=tied.org.rep, limit=24)
    assert page.next is not None


@pytest.mark.parametrize("kw", [
    {"ordering": "owner"}, {"ordering": "name;drop table"}, {"limit": 0}, {"limit": 201}, {"limit": -5},
    {"cursor": "not-base64!!"}, {"cursor": _encode(["x"])}, {"cursor": _encode(["2026-01-01T00:00:00", 1])},
    {"cursor": _encode([1, "x"])}, {"ordering": "name", "cursor": _encode([5, 1])},
    {"ordering": "updated_at", "cursor": _encode(["yesterday", 1])},
])
def test_bad_ordering_limit_or_cursor_is_a_bad_request(db, tied, kw):
    """Unknown orderings, a page size outside 1–200 and malformed cursors are 400s, never a crash."""
    with pytest.raises(BadRequest):
        selectors.customer_list(actor=tied.org.rep, **kw)
