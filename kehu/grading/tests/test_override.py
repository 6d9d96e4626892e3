"""Manual override (人工调整) with a reason through the approval engine, expiring at the next review."""

from __future__ import annotations

import pytest

from kehu.approvals.services import approval_decide
from kehu.errors import Invalid, NotFound
from kehu.grading import services
from kehu.grading.models import CustomerGrade, GradeHistory, Movement
from kehu.grading.tests.test_runs import AS_OF, POLICY, active_policy, book  # noqa: F401 (fixture)


def graded(org):
    policy = active_policy(org, one_level_per_review=False)
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    return policy


def approve_all(req, org):
    for user in (org.manager, org.executive):
        req = approval_decide(actor=user, request_id=req.pk, decision="approve", comment="同意")
    return req


def test_approved_override_sets_the_grade_with_its_reason_until_the_next_review(org, book):  # noqa: F811
    policy = graded(org)
    c = book["华东塑业"]
    req = services.override_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY, grade="一星",
                                    reason="战略合作协议已签，下季度起每月 1500 吨")
    assert CustomerGrade.objects.get(customer=c).grade == "普通"  # nothing changes before approval
    req = approve_all(req, org)
    assert req.status == "approved"
    row = CustomerGrade.objects.get(customer=c)
    assert (row.grade, row.previous_grade, row.overridden_until_run) == ("一星", "普通", True)
    entry = GradeHistory.objects.filter(customer=c).first()
    assert entry.movement == Movement.OVERRIDE and "战略合作" in entry.reason
    services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)
    row.refresh_from_db()
    assert (row.grade, row.overridden_until_run, row.override_reason) == ("普通", False, "")


def test_override_needs_a_reason_and_a_grade_of_the_policy(org, book):  # noqa: F811
    graded(org)
    c = book["华东塑业"]
    with pytest.raises(Invalid) as exc:
        services.override_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY, grade="五星", reason=" ")
    assert {"reason", "grade"} <= set(exc.value.fields)


def test_override_outside_scope_is_not_found(org, book):  # noqa: F811
    graded(org)
    with pytest.raises(NotFound):
        services.override_request(actor=org.north_rep, customer_id=book["华东塑业"].pk, policy_name=POLICY,
                                  grade="一星", reason="理由")


def test_rejected_override_changes_nothing(org, book):  # noqa: F811
    graded(org)
    c = book["华东塑业"]
    req = services.override_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY, grade="一星", reason="理由")
    approval_decide(actor=org.manager, request_id=req.pk, decision="reject", comment="提货量不足")
    assert CustomerGrade.objects.get(customer=c).grade == "普通"


def test_api_override_request_goes_to_approval(api_client, org, book):  # noqa: F811
    graded(org)
    c = book["华东塑业"]
    body = {"policy_name": POLICY, "grade": "一星", "reason": "战略客户"}
    response = api_client.as_user(org.rep).post(f"/grading/customers/{c.pk}/overrides", body)
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert api_client.as_user(org.north_rep).post(f"/grading/customers/{c.pk}/overrides", body).status_code == 404
    assert api_client.as_user(org.agent).post(f"/grading/customers/{c.pk}/overrides", body).status_code in (403, 404)
