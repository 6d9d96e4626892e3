"""Differentiated service (000 2.2): a grade's service policy read through the one selector, and the
grading API with its permission and scope answers."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kehu.grading import selectors, services
from kehu.grading.kinds import threshold
from kehu.grading.tests.test_runs import AS_OF, POLICY, active_policy, book  # noqa: F401 (fixture)

API = "/grading"


def graded(org):
    policy = active_policy(org, one_level_per_review=False)
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    return policy


def test_three_star_customer_gets_a_dedicated_manager_and_a_tighter_complaint_sla(org, book):  # noqa: F811
    graded(org)
    services.service_policy_set(actor=org.admin, policy_name=POLICY, grade="三星", dedicated_manager=True,
                                complaint_sla_working_days=1, inspection_cycle_days=30, response_priority=1)
    level = selectors.service_policy_for(book["苏州包装"].pk)
    assert level.dedicated_manager and level.complaint_sla_working_days == 1 and level.inspection_cycle_days == 30
    assert selectors.service_policy_for(book["华东塑业"].pk) is None  # 普通: company defaults


def test_best_response_priority_wins_across_policies(org, book, django_assert_num_queries):  # noqa: F811
    graded(org)
    services.service_policy_set(actor=org.admin, policy_name=POLICY, grade="三星", response_priority=2)
    services.service_policy_set(actor=org.admin, policy_name="大客户分级", grade="一级", response_priority=1)
    from kehu.grading.models import CustomerGrade
    CustomerGrade.objects.create(customer=book["苏州包装"], policy_name="大客户分级",
                                 policy=CustomerGrade.objects.first().policy, grade="一级",
                                 graded_at=dt.datetime.now(dt.UTC))
    with django_assert_num_queries(1):
        level = selectors.service_policy_for(book["苏州包装"].pk)
    assert (level.policy_name, level.grade) == ("大客户分级", "一级")


def test_service_policy_figures_are_validated(org):
    from kehu.errors import Invalid

    with pytest.raises(Invalid) as exc:
        services.service_policy_set(actor=org.admin, policy_name=POLICY, grade="三星", response_priority=0,
                                    complaint_sla_working_days=0)
    assert {"response_priority", "complaint_sla_working_days"} <= set(exc.value.fields)


def test_api_customer_grades_with_explanation_and_service(api_client, org, book):  # noqa: F811
    graded(org)
    services.service_policy_set(actor=org.admin, policy_name=POLICY, grade="三星", dedicated_manager=True)
    response = api_client.as_user(org.rep).get(f"{API}/customers/{book['苏州包装'].pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["grades"][0]["grade"] == "三星" and body["history"][0]["explanation"]["value"] == "3000"
    assert body["service"]["dedicated_manager"] is True


def test_api_customer_grades_outside_scope_is_404(api_client, org, book):  # noqa: F811
    graded(org)
    assert api_client.as_user(org.north_rep).get(f"{API}/customers/{book['苏州包装'].pk}").status_code == 404


def test_api_policy_create_preview_activate(api_client, org, book, django_capture_on_commit_callbacks):  # noqa: F811
    payload = {"name": POLICY, "kind": "threshold",
               "config": {**threshold.DEFAULT_CONFIG, "months": 1, "aggregate": "total", "one_level_per_review": False}}
    created = api_client.as_user(org.admin).post(f"{API}/policies", payload)
    assert created.status_code == 201, created.content
    pid = created.json()["id"]
    preview = api_client.as_user(org.admin).post(f"{API}/policies/{pid}/preview", {"as_of": "2026-06-30"})
    assert preview.status_code == 200 and preview.json()["changed"] == 3
    assert {"from": "", "to": "三星", "count": 1} in preview.json()["movements"]
    with django_capture_on_commit_callbacks(execute=True):
        run = api_client.as_user(org.admin).post(f"{API}/policies/{pid}/activate", {"as_of": "2026-06-30"})
    assert run.status_code == 202
    runs = api_client.as_user(org.admin).get(f"{API}/policies/{pid}/runs").json()
    assert runs[0]["status"] == "done" and runs[0]["changed"] == 3


def test_api_bad_config_is_422_with_fields(api_client, org):
    response = api_client.as_user(org.admin).post(f"{API}/policies",
                                                  {"name": "x", "kind": "abc", "config": {"classes": "no"}})
    assert response.status_code == 422
    assert "config.classes" in response.json()["error"]["fields"]


def test_api_review_date_out_of_range_is_refused(api_client, org, book):  # noqa: F811
    policy = active_policy(org)
    response = api_client.as_user(org.admin).post(f"{API}/policies/{policy.pk}/preview", {"as_of": "1999-12-31"})
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("role", ["rep", "manager", "agent", "auditor"])
def test_api_policies_need_the_grading_permission(api_client, client, org, role):
    django_client = client
    assert api_client.as_user(getattr(org, role)).get(f"{API}/policies").status_code == 403
    client = api_client.as_user(getattr(org, role))
    response = django_client.post("/api/v1/grading/service-policies", json.dumps({"policy_name": POLICY, "grade": "三星"}),
                                 content_type="application/json", **client._headers())
    assert response.status_code == 403


def test_api_grading_is_401_for_anonymous(client, db):
    for url in (f"/api/v1{API}/policies", f"/api/v1{API}/service-policies", f"/api/v1{API}/movements",
                f"/api/v1{API}/customers/1"):
        assert client.get(url).status_code == 401


def test_api_movements_in_scope(api_client, org, book, django_assert_max_num_queries):  # noqa: F811
    graded(org)
    rows = api_client.as_user(org.manager).get(f"{API}/movements").json()
    assert rows[0]["new"] == 3
    assert api_client.as_user(org.north_manager).get(f"{API}/movements").json() == []
