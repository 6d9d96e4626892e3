"""Categories and causes over time: complaints per category (or recorded cause) per month of receipt,
scoped like the other reports, through the report function, the API and the reports page's chart."""

import pytest
from django.utils.translation import gettext as _

from kehu.errors import Forbidden, Invalid
from kehu.service_desk import reports
from kehu.service_desk.models import Complaint
from kehu.service_desk.tests.test_reports import SPRING, SPRING_Q, at, make

pytestmark = pytest.mark.django_db
MONTHS = ["2025-03", "2025-04", "2025-05"]


def made(actor, received, category="", cause=""):
    c = make(actor, received, category=category)
    Complaint.objects.filter(pk=c.pk).update(cause=cause)
    return c


@pytest.fixture
def spring_categories(org):
    """Seven complaints in March–April 2025: the agent's five, the rep's two."""
    made(org.agent, at(2025, 3, 3, 10), "物流", "仓库漏发")
    made(org.agent, at(2025, 3, 20, 10), "物流", "承运商延误")
    made(org.agent, at(2025, 4, 1, 0, 30), "物流", "仓库漏发")  # 31 March in UTC, April in Shanghai
    made(org.agent, at(2025, 4, 2, 9), "质量", "批次不良")
    made(org.agent, at(2025, 4, 3, 9))  # not categorised, no cause recorded
    made(org.rep, at(2025, 3, 10, 9), "质量", "批次不良")
    made(org.rep, at(2025, 4, 10, 9), "发票", "抬头错误")
    made(org.rep, at(2025, 6, 1, 9), "发票", "抬头错误")  # outside the range


def table(report) -> dict:
    return {s["key"]: s["counts"] for s in report["series"]}


def test_categories_per_month_in_shanghai_time_most_frequent_first_with_empty_months(org, spring_categories):
    report = reports.complaint_report_categories(actor=org.admin, **SPRING)
    assert report["months"] == MONTHS
    assert [s["key"] for s in report["series"]] == ["物流", "质量", "", "发票"]
    assert table(report) == {"物流": [2, 1, 0], "质量": [1, 1, 0], "": [0, 1, 0], "发票": [0, 1, 0]}
    assert [s["total"] for s in report["series"]] == [3, 2, 1, 1]
    assert report["series"][2]["label"] == _("Not categorised")
    assert report["totals"] == [3, 4, 0] and report["total"] == 7
    assert not any(s["other"] for s in report["series"])


def test_causes_per_month(org, spring_categories):
    report = reports.complaint_report_categories(actor=org.admin, by="cause", **SPRING)
    assert table(report) == {"仓库漏发": [1, 1, 0], "批次不良": [1, 1, 0], "": [0, 1, 0],
                             "抬头错误": [0, 1, 0], "承运商延误": [1, 0, 0]}
    assert report["series"][2]["label"] == _("No cause recorded")
    with pytest.raises(Invalid):
        reports.complaint_report_categories(actor=org.admin, by="colour", **SPRING)


def test_beyond_eight_values_the_rest_are_summed_as_other(org):
    for i in range(10):
        for _n in range(10 - i):  # category 0 has 10 complaints … category 9 has 1
            made(org.agent, at(2025, 3, 3, 10), f"类别{i}")
    made(org.agent, at(2025, 4, 3, 10), "类别9")
    report = reports.complaint_report_categories(actor=org.agent, **SPRING)
    assert [s["key"] for s in report["series"]] == [f"类别{i}" for i in range(8)] + ["*"]
    other = report["series"][-1]
    assert other["other"] and other["label"] == _("Other") and other["counts"] == [3, 1, 0]  # 类别8: 2, 类别9: 1 + 1
    assert report["totals"] == [55, 1, 0]


def test_scope_and_refusals(org, spring_categories):
    """The rep counts their own two complaints; the east manager their department's; finance and the
    auditor may not read the report; the analyst reads everything."""
    assert table(reports.complaint_report_categories(actor=org.rep, **SPRING)) == {"质量": [1, 0, 0],
                                                                                    "发票": [0, 1, 0]}
    assert reports.complaint_report_categories(actor=org.manager, **SPRING)["total"] == 2
    assert reports.complaint_report_categories(actor=org.rep2, **SPRING)["total"] == 0
    assert reports.complaint_report_categories(actor=org.analyst, **SPRING)["total"] == 7
    for user in (org.finance, org.auditor, None):
        with pytest.raises(Forbidden):
            reports.complaint_report_categories(actor=user, **SPRING)


def test_two_queries_whatever_the_number_of_values(org, spring_categories, django_assert_max_num_queries):
    for i in range(12):
        made(org.agent, at(2025, 5, 3, 10), f"类别{i}", f"原因{i}")
    with django_assert_max_num_queries(2):
        reports.complaint_report_categories(actor=org.admin, by="cause", **SPRING)


def test_default_range_lists_twelve_or_thirteen_months(org):
    report = reports.complaint_report_categories(actor=org.admin)
    assert len(report["months"]) in (12, 13) and report["series"] == [] and report["total"] == 0


# ---------------------------------------------------------------- API

def test_categories_endpoint_in_scope(org, spring_categories, api_client):
    r = api_client.as_user(org.rep).get("/complaints/reports/categories", SPRING_Q)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["months"] == MONTHS and body["by"] == "category" and body["total"] == 2
    assert [(s["key"], s["counts"], s["other"]) for s in body["series"]] == [("发票", [0, 1, 0], False),
                                                                            ("质量", [1, 0, 0], False)]
    r = api_client.as_user(org.analyst).get("/complaints/reports/categories", {**SPRING_Q, "by": "cause"})
    assert r.status_code == 200 and r.json()["series"][0]["key"] == "仓库漏发"


def test_categories_endpoint_refuses_anonymous_without_permission_and_bad_input(org, api_client):
    assert api_client.as_user(None).get("/complaints/reports/categories").status_code == 401
    for user in (org.finance, org.auditor):
        r = api_client.as_user(user).get("/complaints/reports/categories")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    api = api_client.as_user(org.agent)
    r = api.get("/complaints/reports/categories", {"by": "colour"})
    assert r.status_code == 422 and "by" in r.json()["error"]["fields"]
    r = api.get("/complaints/reports/categories", {"from": "2025-05-01", "to": "2025-04-01"})
    assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["to"]


# ---------------------------------------------------------------- page

def test_reports_page_draws_the_stacked_chart_and_its_table(org, spring_categories, client):
    client.force_login(org.analyst)
    r = client.get("/complaints/reports/", {"date_from": "2025-03-01", "date_to": "2025-05-31"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="report-trend" data-by="category"' in html
    assert html.count('data-testid="trend-column"') == 3
    # April is the busiest month (4): full height; 物流 has 2 of March's 3 → 50 % of the chart
    assert 'data-month="2025-04" title="2025-04: 4"' in html
    assert 'style="height: 50.0%" data-count="2" title="2025-03 · 物流: 2"' in html
    assert 'data-testid="trend-table"' in html
    r = client.get("/complaints/reports/", {"date_from": "2025-03-01", "date_to": "2025-05-31", "trend_by": "cause"})
    assert 'data-by="cause"' in r.content.decode() and "仓库漏发" in r.content.decode()


def test_an_empty_range_says_so(org, client):
    client.force_login(org.agent)
    html = client.get("/complaints/reports/", {"date_from": "2020-01-01", "date_to": "2020-02-01"}).content.decode()
    assert 'data-testid="report-trend"' in html and 'data-testid="trend-column"' not in html

