"""客户经理制 (000 2.2; issue 11 "dedicated account manager required"): a grade whose service policy requires a
dedicated account manager is checked — its customers whose owner is not an active account manager are a to-do
on the workbench of those who assign owners in their scope, one per grade, linked to the list of that grade."""

from __future__ import annotations

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.grading.dedicated import without_dedicated_manager
from kehu.grading.workbench import dedicated_manager_todos
from kehu.service_desk.tests.grading import grade, service

pytestmark = pytest.mark.django_db
POLICY = "聚烯烃月提货量分级"


@pytest.fixture
def graded(org):
    service("三星", policy_name=POLICY, dedicated_manager=True)
    service("普通", policy_name=POLICY, dedicated_manager=False)
    c = {"served": org_customer(org.rep, "浙江华星石化有限公司", serial=1),
         "manager_owned": org_customer(org.manager, "宁波甬兴塑料有限公司", serial=2),
         "departed": org_customer(org.rep2, "苏州苏南化工经销有限公司", serial=3),
         "plain": org_customer(org.manager, "上海东方贸易有限公司", serial=4),
         "north": org_customer(org.north_manager, "天津津北石化经销有限公司", serial=5)}
    for key in ("served", "manager_owned", "departed", "north"):
        grade(c[key], "三星", policy_name=POLICY)
    grade(c["plain"], "普通", policy_name=POLICY)
    type(org.rep2).objects.filter(pk=org.rep2.pk).update(is_active=False)  # 刘洋 has left
    return c


def test_customers_of_a_dedicated_grade_without_an_account_manager_are_counted_in_scope(org, graded):
    # 东区: the one the manager owns and the departed rep's; not the 普通 one, not the served one
    assert without_dedicated_manager(actor=org.manager) == [{"policy_name": POLICY, "grade": "三星", "n": 2}]
    assert without_dedicated_manager(actor=org.north_manager) == [{"policy_name": POLICY, "grade": "三星", "n": 1}]
    assert without_dedicated_manager(actor=org.admin) == [{"policy_name": POLICY, "grade": "三星", "n": 3}]


def test_only_those_who_assign_owners_get_the_todo(org, graded, django_assert_num_queries):
    for user in (org.rep, org.agent, org.finance, org.analyst, org.auditor):
        with django_assert_num_queries(0):
            assert without_dedicated_manager(actor=user) == []


def test_the_dedicated_roles_are_a_setting(org, graded, settings):
    settings.KEHU_GRADING_DEDICATED_ROLES = ("account_manager", "manager")
    assert without_dedicated_manager(actor=org.manager) == [{"policy_name": POLICY, "grade": "三星", "n": 1}]


def test_no_grade_requires_one_no_todo(org, graded, django_assert_max_num_queries):
    from kehu.grading.models import ServicePolicy

    ServicePolicy.objects.update(dedicated_manager=False)
    with django_assert_max_num_queries(1):
        assert without_dedicated_manager(actor=org.admin) == []


def test_the_todo_links_to_the_customer_list_of_that_grade(org, graded, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # the grades, the manager's department subtree (2), the count
        [todo] = dedicated_manager_todos(org.manager, today=None, now=None, limit=10)
    assert todo.kind == "dedicated_manager" and todo.title.startswith("2")
    client.force_login(org.manager)
    page = client.get(todo.url).content.decode()
    assert "宁波甬兴塑料有限公司" in page and "上海东方贸易有限公司" not in page


def test_the_workbench_api_shows_it(org, graded, api_client):
    todos = api_client.as_user(org.manager).get("/workbench").json()["todos"]
    assert [t for t in todos if t["kind"] == "dedicated_manager"]
    assert not [t for t in api_client.as_user(org.rep).get("/workbench").json()["todos"]
                if t["kind"] == "dedicated_manager"]
