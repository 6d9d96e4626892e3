"""Grade (客户分级, issue 11) as a filter and a column on the customer list, in the API list and on the 360°
page; the grade filter narrows within the data scope, never beyond it."""

import pytest
from django.urls import reverse

from kehu.customers import selectors
from kehu.customers.tests.factories import org_customer
from kehu.grading.models import GradingPolicy
from kehu.service_desk.tests.grading import grade, service

pytestmark = pytest.mark.django_db
PICKUP = "聚烯烃月提货量分级"
RFM = "RFM"


@pytest.fixture
def book(org):
    c = {"huaxing": org_customer(org.rep, "浙江华星石化有限公司", serial=1),
         "dongfang": org_customer(org.rep, "上海东方贸易有限公司", serial=2),
         "plain": org_customer(org.rep, "杭州平常化工有限公司", serial=3),
         "north": org_customer(org.north_rep, "北京燕山机械有限公司", serial=4)}
    grade(c["huaxing"], "三星", policy_name=PICKUP)
    grade(c["huaxing"], "重要价值", policy_name=RFM)
    grade(c["dongfang"], "一星", policy_name=PICKUP)
    grade(c["north"], "三星", policy_name=PICKUP)
    return c


def _names(page):
    return sorted(c.name for c in page.items)


def test_grade_filter_by_policy_grade_or_both(org, book):
    both = selectors.customer_list(actor=org.rep, grade_policy=PICKUP, grade="三星")
    assert _names(both) == ["浙江华星石化有限公司"]
    assert _names(selectors.customer_list(actor=org.rep, grade_policy=PICKUP)) == [
        "上海东方贸易有限公司", "浙江华星石化有限公司"]
    assert _names(selectors.customer_list(actor=org.rep, grade="重要价值")) == ["浙江华星石化有限公司"]
    assert _names(selectors.customer_list(actor=org.rep, grade_policy=RFM, grade="三星")) == []
    assert selectors.customer_count(actor=org.rep, grade_policy=PICKUP).value == 2


def test_grade_filter_stays_within_the_scope(org, book):
    """The north rep's 三星 customer is not the rep's: filtering by 三星 does not bring it in."""
    assert _names(selectors.customer_list(actor=org.rep, grade="三星")) == ["浙江华星石化有限公司"]
    assert _names(selectors.customer_list(actor=org.north_rep, grade="三星")) == ["北京燕山机械有限公司"]
    assert len(selectors.customer_list(actor=org.executive, grade="三星").items) == 2


def test_the_page_prefetches_its_grades_in_one_query(org, book, django_assert_num_queries):
    page = selectors.customer_list(actor=org.executive, limit=50)
    with django_assert_num_queries(0):
        grades = {c.name: [(g.policy_name, g.grade) for g in c.grade_list] for c in page.items}
    assert grades["浙江华星石化有限公司"] == [(RFM, "重要价值"), (PICKUP, "三星")]
    assert grades["杭州平常化工有限公司"] == []


def test_grade_filter_choices_are_the_active_policies_levels(org):
    from kehu.grading.kinds import threshold

    GradingPolicy.objects.create(name=PICKUP, kind="threshold", config=threshold.DEFAULT_CONFIG, state="active")
    GradingPolicy.objects.create(name="草稿", kind="threshold", config=threshold.DEFAULT_CONFIG, state="draft")
    choices = dict(selectors.grade_filter_choices())
    assert list(choices) == [PICKUP]
    levels = threshold.levels(threshold.validate(threshold.DEFAULT_CONFIG))
    assert choices[PICKUP] == list(reversed(levels))


def test_list_page_shows_the_grade_column_and_filters(org, book, client):
    from kehu.grading.kinds import threshold

    GradingPolicy.objects.filter(name=PICKUP).update(config=threshold.DEFAULT_CONFIG)
    client.force_login(org.rep)
    body = client.get(reverse("customers:list")).content.decode()
    assert 'data-testid="grade-column"' in body and body.count('data-testid="customer-grade"') == 3
    assert 'data-testid="grade-policy-filter"' in body and f'<optgroup label="{PICKUP}">' in body
    body = client.get(reverse("customers:list"), {"grade_policy": PICKUP, "grade": "一星"}).content.decode()
    assert "上海东方贸易有限公司" in body and "浙江华星石化有限公司" not in body
    assert "北京燕山机械有限公司" not in client.get(reverse("customers:list"), {"grade": "三星"}).content.decode()


def test_api_list_filters_by_grade_and_lists_the_grades(org, book, api_client):
    api = api_client.as_user(org.rep)
    r = api.get("/customers", {"grade_policy": PICKUP, "grade": "三星"})
    assert r.status_code == 200, r.content
    items = r.json()["items"]
    assert [c["name"] for c in items] == ["浙江华星石化有限公司"]
    assert items[0]["grades"] == [{"policy_name": RFM, "grade": "重要价值"}, {"policy_name": PICKUP, "grade": "三星"}]
    assert r.json()["count"] == 1
    assert [c["name"] for c in api.get("/customers", {"grade": "三星"}).json()["items"]] == ["浙江华星石化有限公司"]
    assert api.get("/customers", {"grade": "没有"}).json()["items"] == []
    detail = api.get(f"/customers/{book['dongfang'].pk}").json()
    assert detail["grades"] == [{"policy_name": PICKUP, "grade": "一星"}]


def test_customer_page_shows_the_service_level_line(org, book, client):
    service("三星", policy_name=PICKUP, dedicated_manager=True, complaint_sla_working_days=1,
            service_request_sla_working_days=1, inspection_cycle_days=30, visit_every_days=14, response_priority=1)
    client.force_login(org.rep)
    body = client.get(reverse("customers:detail", args=[book["huaxing"].pk])).content.decode()
    assert 'data-testid="service-level"' in body
    line = body[body.index('data-testid="service-level"'):][:1500]
    assert "三星" in line and "30" in line and "14" in line
    body = client.get(reverse("customers:detail", args=[book["plain"].pk])).content.decode()
    assert 'data-testid="service-level"' not in body
