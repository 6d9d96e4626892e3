"""The hot requests' statements are pinned (issue 10 "Per-request overhead", bench/overhead.py): the 360 thread
page and the follow-up list through the API cost the same few statements whether the thread holds 3 follow-ups
or 30, with a session or a Bearer token, once the token's and the session's user are cached."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.access.services import token_create
from kehu.customers.tests.factories import org_customer
from kehu.engagement import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(org):
    hx = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    cache.clear()  # the users were created a while ago (their creation leaves tombstones: kehu.access.authcache)

    def grow(n):
        for i in range(n):
            services.interaction_create(
                actor=org.rep,
                data={
                    "customer": hx.pk,
                    "channel": "phone",
                    "summary": f"电话沟通提货计划 {i}",
                    "next_step": "发送排期表",
                    "next_step_due": "2030-01-01",
                },
            )

    return hx, grow


def _statements(client, path, **headers) -> list[str]:
    assert client.get(path, **headers).status_code == 200  # warm: the user is cached from here on
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path, **headers)
    assert r.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_the_follow_up_list_api_reads_no_user_and_a_constant_number_of_statements(org, client, thread):
    hx, grow = thread
    _t, key = token_create(actor=org.rep, name="bench")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    path = f"/api/v1/engagement/interactions?customer={hx.pk}&limit=50"
    grow(3)
    few = _statements(client, path, **auth)
    grow(27)
    many = _statements(client, path, **auth)
    assert len(many) == len(few) <= 2, many
    assert not [s for s in many if "access_apitoken" in s]  # the token look-up came from the cache
    # only what it renders: no user's password hash, no second user row, none of the customer's other columns
    assert '"password"' not in many[-1] and '"customers_customer"."uscc"' not in many[-1]
    assert many[-1].count("JOIN") == 2, many[-1]
    assert len(client.get(path, **auth).json()["items"]) == 30


def test_the_360_thread_page_costs_a_constant_number_of_statements(org, client, thread):
    hx, grow = thread
    client.force_login(org.rep)
    path = f"/customers/{hx.pk}/thread/"
    grow(3)
    few = _statements(client, path)
    grow(27)
    many = _statements(client, path)
    assert len(many) == len(few), many
    assert not [
        s for s in many if 'FROM "access_user" WHERE "access_user"."id"' in s
    ]  # the session's user: cached
    # the session row read and written, the customer, which kinds of items the customer has (one statement
    # for every provider), the follow-ups; nothing per item, nothing for the kinds it has none of
    # (the session's save is a savepoint and its release inside the test's transaction: BEGIN/COMMIT outside
    # it, transaction control, not queries)
    sql = [s for s in many if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(sql) <= 6, sql
    assert len([s for s in many if "engagement_interaction" in s]) == 2, many  # the kinds, the follow-ups
    assert not [s for s in many if '"sales_deal"."' in s or '"service_desk_complaint"."' in s]


def test_the_thread_asks_only_the_providers_whose_kinds_the_customer_has(org, thread):
    from kehu.customers.profile import customer_kinds, customer_thread, thread_providers

    hx, grow = thread
    assert customer_kinds(hx.pk) == set()
    assert customer_thread(actor=org.rep, customer_id=hx.pk) == ([], None)
    grow(2)
    assert customer_kinds(hx.pk) == {"followup"}
    with CaptureQueriesContext(connection) as ctx:
        items, _next = customer_thread(actor=org.rep, customer_id=hx.pk)
    assert [i.kind for i in items] == ["followup", "followup"] and len(ctx.captured_queries) == 2
    # every provider of the other apps has a table to ask, so none is called blind
    assert all(p.source for p in thread_providers()), [p.key for p in thread_providers() if not p.source]


def test_a_trivial_authenticated_api_request_is_one_statement(org, client, django_assert_max_num_queries):
    _t, key = token_create(actor=org.rep, name="bench")
    cache.clear()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client.get("/api/v1/auth/tokens", **auth)
    with django_assert_max_num_queries(1):  # the token list itself; no token, user or last-use statement
        assert client.get("/api/v1/auth/tokens", **auth).status_code == 200
