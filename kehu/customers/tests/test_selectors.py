"""Customer selectors: data scope (own / department subtree / all) and the history timeline.

Pagination is in test_pagination.py, query counts in test_query_counts.py."""

import pytest
from django.utils import timezone

from kehu.customers import selectors, services
from kehu.customers.tests.factories import contact, org_customer
from kehu.errors import NotFound

pytestmark = pytest.mark.django_db


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
