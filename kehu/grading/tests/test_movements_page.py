"""The page of grade movements (issue 11: "a page of movements (up / down / new / lost) per period and
department"): counts per review date, policy and department from the history, within the reader's scope,
filtered by period and policy."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from kehu.customers.models import Customer
from kehu.grading import services
from kehu.grading.tests.test_runs import POLICY, active_policy, customer, order

pytestmark = pytest.mark.django_db
MAY, JUNE = dt.date(2026, 5, 31), dt.date(2026, 6, 30)


@pytest.fixture
def two_reviews(org):
    """May: three 东区 customers new (普通, 三星, 一星) and one 华北区 (一星). June: 东区's 普通 goes up, its 三星 goes
    down, its 一星 is lost (became a prospect again); 华北区's holds."""
    east = {n: customer(org, n) for n in ("华东塑业", "苏州包装", "宁波化纤")}
    north = customer(org, "天津津北", owner=org.north_rep)
    for c in (*east.values(), north):
        order(c, dt.date(2025, 1, 10), 5)
    for c, t in ((east["华东塑业"], 10), (east["苏州包装"], 3200), (east["宁波化纤"], 1500), (north, 1500)):
        order(c, dt.date(2026, 5, 10), t)
    for c, t in ((east["华东塑业"], 2500), (east["苏州包装"], 10), (north, 1500)):
        order(c, dt.date(2026, 6, 10), t)
    policy = active_policy(org, one_level_per_review=False)
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=MAY).pk)
    Customer.objects.filter(pk=east["宁波化纤"].pk).update(stage="prospect")
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=JUNE).pk)


def rows(client, user, **query):
    client.force_login(user)
    page = client.get(reverse("grading:movements"), query)
    assert page.status_code == 200
    out = []
    for tr in re.findall(r'<tr data-testid="movement-row">(.*?)</tr>', page.content.decode(), re.S):
        tr = re.sub(r'<div class="d-md-none[^"]*">.*?</div>', "", tr, flags=re.S)  # the phone's repeat of the policy
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        out.append(tuple(cells))
    return out


def test_movements_per_period_and_department(org, two_reviews, client):
    east, north = org.rep.department.name, org.north_rep.department.name
    assert set(rows(client, org.admin)) == {
        # date, policy, department, up, down, new, lost
        ("2026-06-30", POLICY, east, "1", "1", "0", "1"),
        ("2026-05-31", POLICY, east, "0", "0", "3", "0"),
        ("2026-05-31", POLICY, north, "0", "0", "1", "0"),
    }


def test_the_period_and_policy_filters(org, two_reviews, client):
    assert [r[0] for r in rows(client, org.admin, as_of="2026-06-30")] == ["2026-06-30"]
    assert len(rows(client, org.admin, as_of="not a date")) == 3  # ignored, not a 500
    assert rows(client, org.admin, policy="另一个政策") == []


def test_each_reader_sees_the_departments_in_scope(org, two_reviews, client):
    east, north = org.rep.department.name, org.north_rep.department.name
    assert {r[2] for r in rows(client, org.manager)} == {east}
    assert {r[2] for r in rows(client, org.north_manager)} == {north}
    assert len(rows(client, org.rep)) == 2  # 张伟's own customers: both reviews
    assert rows(client, org.rep2) == []


def test_the_page_needs_a_login(client):
    assert client.get(reverse("grading:movements")).status_code == 302
