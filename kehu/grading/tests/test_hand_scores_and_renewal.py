"""Hand scores (人工评分: who scored which dimension, when; every change audited), override renewal (an
approved renewal keeps the overridden grade through exactly one more run), the service-policy pages and
the department heads' grade-change summaries."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from kehu.approvals.services import approval_decide
from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.grading import notify, services
from kehu.grading.kinds import scorecard
from kehu.grading.models import CustomerGrade, GradeHistory, HandScore, ServicePolicy
from kehu.grading.tests.test_runs import AS_OF, POLICY, active_policy, book, customer  # noqa: F401 (fixture)
from kehu.notifications.models import Notification

API = "/grading/customers"


def put(client, api_client, user, path, body):
    api_client.as_user(user)
    return client.put("/api/v1" + path, json.dumps(body), content_type="application/json", **api_client._headers())


def run(org, policy):
    return services.run_execute(run_id=services.run_start(actor=org.admin, policy_id=policy.pk, as_of=AS_OF).pk)


def approve_all(req, org):
    for user in (org.manager, org.executive):
        req = approval_decide(actor=user, request_id=req.pk, decision="approve", comment="同意")
    return req


def scorecard_policy(org, name="综合评分"):
    policy = services.policy_create(actor=org.admin, name=name, kind="scorecard", config=scorecard.DEFAULT_CONFIG)
    return services.policy_activate(actor=org.admin, policy_id=policy.pk)


def overridden(org, book):  # noqa: F811
    policy = active_policy(org, one_level_per_review=False)
    run(org, policy)
    c = book["华东塑业"]
    req = services.override_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY, grade="一星",
                                    reason="战略合作协议已签")
    assert approve_all(req, org).status == "approved"
    return policy, c


# ---------------------------------------------------------------- hand scores


def test_hand_score_is_set_updated_and_every_change_audited(org):
    scorecard_policy(org)
    c = customer(org, "杭州新材")
    services.hand_score_set(actor=org.rep, customer_id=c.pk, dimension="influence", score=70, note="行业协会理事")
    services.hand_score_set(actor=org.manager, customer_id=c.pk, dimension="influence", score="85.5")
    row = HandScore.objects.get(customer=c, dimension="influence")
    assert (row.score, row.scored_by, row.note) == (Decimal("85.5"), org.manager, "")
    entries = list(AuditEntry.objects.filter(action="grading.hand_score.set").order_by("id"))
    assert [(e.changes["from"], e.changes["to"], e.actor_name) for e in entries] == [
        (None, "70", "rep"), ("70", "85.5", "manager")]


def test_hand_score_refuses_unknown_dimension_bad_score_and_outsiders(org):
    scorecard_policy(org)
    c = customer(org, "杭州新材")
    with pytest.raises(Invalid) as exc:
        services.hand_score_set(actor=org.rep, customer_id=c.pk, dimension="volume", score=50)  # not by hand
    assert "dimension" in exc.value.fields
    for bad in (-1, 100.01, "abc", None, "1.234"):
        with pytest.raises(Invalid) as exc:
            services.hand_score_set(actor=org.rep, customer_id=c.pk, dimension="fit", score=bad)
        assert "score" in exc.value.fields
    with pytest.raises(NotFound):
        services.hand_score_set(actor=org.north_rep, customer_id=c.pk, dimension="fit", score=50)
    with pytest.raises(Forbidden):  # sees every customer, may not change them
        services.hand_score_set(actor=org.analyst, customer_id=c.pk, dimension="fit", score=50)
    assert not HandScore.objects.exists()


def test_hand_dimensions_come_from_the_active_scorecard_and_key_account_policies(org):
    assert services.hand_dimensions() == []
    scorecard_policy(org)
    draft = services.policy_create(actor=org.admin, name="大客户", kind="key_account",
                                   config={**scorecard.DEFAULT_CONFIG, "dimensions": [
                                       {"key": "potential_value", "source": "manual", "weight": 1}]})
    keys = [d["key"] for d in services.hand_dimensions()]
    assert keys == ["influence", "fit", "stability", "responsiveness", "cooperation", "satisfaction"]
    services.policy_activate(actor=org.admin, policy_id=draft.pk)
    assert "potential_value" in [d["key"] for d in services.hand_dimensions()]


def test_hand_scores_count_in_the_next_scorecard_run(org):
    policy = scorecard_policy(org)
    c = customer(org, "杭州新材")
    run(org, policy)
    before = CustomerGrade.objects.get(customer=c).explanation["dimensions"]["influence"]
    assert before["missing"] is True
    services.hand_score_set(actor=org.rep, customer_id=c.pk, dimension="influence", score=90)
    run(org, policy)
    after = CustomerGrade.objects.get(customer=c).explanation["dimensions"]["influence"]
    assert after["missing"] is False and after["value"] == "90"


def test_api_hand_scores_get_and_put_in_scope(client, api_client, org):
    scorecard_policy(org)
    c = customer(org, "杭州新材")
    body = {"scores": [{"dimension": "fit", "score": 60, "note": "主营匹配"}, {"dimension": "stability", "score": 75}]}
    response = put(client, api_client, org.rep, f"{API}/{c.pk}/scores", body)
    assert response.status_code == 200, response.content
    data = response.json()
    fit = next(d for d in data["dimensions"] if d["dimension"] == "fit")
    assert (Decimal(str(fit["score"])), fit["scored_by"], fit["group"]) == (Decimal(60), "rep", "strategy")
    assert {h["dimension"] for h in data["history"]} == {"fit", "stability"}
    assert api_client.as_user(org.manager).get(f"{API}/{c.pk}/scores").status_code == 200
    assert api_client.as_user(org.north_rep).get(f"{API}/{c.pk}/scores").status_code == 404
    assert put(client, api_client, org.north_rep, f"{API}/{c.pk}/scores", body).status_code == 404
    assert put(client, api_client, org.analyst, f"{API}/{c.pk}/scores", body).status_code == 403
    bad = {"scores": [{"dimension": "fit", "score": 10}, {"dimension": "unknown", "score": 10}]}
    response = put(client, api_client, org.rep, f"{API}/{c.pk}/scores", bad)
    assert response.status_code == 422
    assert HandScore.objects.get(customer=c, dimension="fit").score == 60  # all or none
    assert put(client, api_client, org.rep, f"{API}/{c.pk}/scores",
                                           {"scores": [{"dimension": "fit", "score": 101}]}).status_code == 422


def test_hand_score_form_on_the_grading_page(client, org):
    scorecard_policy(org)
    c = customer(org, "杭州新材")
    client.force_login(org.rep)
    url = reverse("grading:customer_grades", args=[c.pk])
    page = client.get(url).content.decode()
    assert 'data-dimension="influence"' in page and "score_satisfaction" in page
    response = client.post(reverse("grading:customer_scores", args=[c.pk]),
                           {"score_influence": "80", "note_influence": "省级龙头", "score_fit": ""})
    assert response.status_code == 302
    assert HandScore.objects.get(customer=c).score == 80 and HandScore.objects.count() == 1
    page = client.get(url).content.decode()
    assert 'data-testid="hand-score-history"' in page and "省级龙头" in page
    response = client.post(reverse("grading:customer_scores", args=[c.pk]), {"score_influence": "180"})
    assert response.status_code == 400 and HandScore.objects.get(customer=c).score == 80
    client.force_login(org.north_rep)
    assert client.get(url).status_code == 404
    assert client.post(reverse("grading:customer_scores", args=[c.pk]), {"score_fit": "5"}).status_code == 404
    client.force_login(org.analyst)
    assert 'disabled' in client.get(url).content.decode()
    assert client.post(reverse("grading:customer_scores", args=[c.pk]), {"score_fit": "5"}).status_code == 403


# ---------------------------------------------------------------- override renewal


def test_override_expires_at_the_next_run(org, book):  # noqa: F811
    policy, c = overridden(org, book)
    run(org, policy)
    row = CustomerGrade.objects.get(customer=c)
    assert (row.grade, row.overridden_until_run, row.override_reason) == ("普通", False, "")


def test_renewed_override_survives_one_run_then_expires(org, book):  # noqa: F811
    policy, c = overridden(org, book)
    req = services.override_renew_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY,
                                          reason="协议执行中，下季度复核")
    assert CustomerGrade.objects.get(customer=c).explanation.get("renewal") is None  # nothing before approval
    assert approve_all(req, org).status == "approved"
    assert GradeHistory.objects.filter(customer=c, explanation__rule="override_renewed").exists()
    with pytest.raises(Conflict):  # already renewed
        services.override_renew_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY, reason="再续")
    done = run(org, policy)
    row = CustomerGrade.objects.get(customer=c)
    assert (row.grade, row.overridden_until_run, row.override_reason) == ("一星", True, "战略合作协议已签")
    kept = row.explanation["kept_override"]
    assert kept["computed_grade"] == "普通" and kept["renewal"]["reason"] == "协议执行中，下季度复核"
    assert row.computed_grade == "普通" and "renewal" not in row.explanation
    assert done.movements["items"] and all(m["to"] != "普通" or m["from"] != "一星" for m in done.movements["items"])
    run(org, policy)  # not renewed again: it expires
    row.refresh_from_db()
    assert (row.grade, row.overridden_until_run) == ("普通", False)


def test_renewal_can_be_renewed_again_after_a_kept_run(org, book):  # noqa: F811
    policy, c = overridden(org, book)
    for _round in range(2):
        req = services.override_renew_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY, reason="续期")
        approve_all(req, org)
        run(org, policy)
        assert CustomerGrade.objects.get(customer=c).grade == "一星"
    run(org, policy)
    assert CustomerGrade.objects.get(customer=c).grade == "普通"


def test_renewal_of_a_grade_that_is_not_overridden_is_refused(api_client, org, book):  # noqa: F811
    policy = active_policy(org, one_level_per_review=False)
    run(org, policy)
    c = book["宁波化纤"]
    with pytest.raises(Conflict):
        services.override_renew_request(actor=org.rep, customer_id=c.pk, policy_name=POLICY, reason="理由")
    body = {"policy_name": POLICY, "reason": "理由"}
    assert api_client.as_user(org.rep).post(f"{API}/{c.pk}/overrides/renew", body).status_code == 409
    assert api_client.as_user(org.north_rep).post(f"{API}/{c.pk}/overrides/renew", body).status_code == 404
    response = api_client.as_user(org.rep).post(f"{API}/{c.pk}/overrides/renew", {**body, "reason": ""})
    assert response.status_code == 422


def test_renewal_through_the_api_and_a_regrade_before_approval_refuses_it(api_client, org, book):  # noqa: F811
    policy, c = overridden(org, book)
    body = {"policy_name": POLICY, "reason": "续期理由"}
    response = api_client.as_user(org.rep).post(f"{API}/{c.pk}/overrides/renew", body)
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert api_client.as_user(org.rep).post(f"{API}/{c.pk}/overrides/renew", body).status_code == 409  # pending
    run(org, policy)  # the override expired before the renewal was decided
    with pytest.raises(Conflict):
        approval_decide(actor=org.manager, request_id=response.json()["approval_request_id"], decision="approve",
                        comment="同意")
        approval_decide(actor=org.executive, request_id=response.json()["approval_request_id"],
                        decision="approve", comment="同意")


def test_grading_page_shows_expiry_and_offers_renewal(client, org, book):  # noqa: F811
    policy, c = overridden(org, book)
    client.force_login(org.rep)
    url = reverse("grading:customer_grades", args=[c.pk])
    with override_settings(KEHU_GRADING_SCHEDULE_MONTHS=3):
        page = client.get(url).content.decode()
    assert 'data-testid="override-expiry"' in page and 'data-testid="renew"' in page
    row = CustomerGrade.objects.get(customer=c)
    response = client.post(reverse("grading:customer_renew", args=[c.pk]),
                           {f"r{row.pk}-policy_name": POLICY, f"r{row.pk}-reason": ""})
    assert response.status_code == 400
    response = client.post(reverse("grading:customer_renew", args=[c.pk]),
                           {f"r{row.pk}-policy_name": POLICY, f"r{row.pk}-reason": "续期"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert 'data-testid="override-pending"' in page and 'data-testid="renew"' not in page
    other = book["宁波化纤"]
    other_row = CustomerGrade.objects.get(customer=other)
    response = client.post(reverse("grading:customer_renew", args=[other.pk]),
                           {f"r{other_row.pk}-policy_name": POLICY, f"r{other_row.pk}-reason": "续期"})
    assert response.status_code == 409
    response = client.post(reverse("grading:customer_override", args=[other.pk]),
                           {f"o{other_row.pk}-policy_name": POLICY, f"o{other_row.pk}-grade": "三星",
                            f"o{other_row.pk}-reason": "战略客户"})
    assert response.status_code == 302


def test_next_review_date_follows_the_schedule():
    with override_settings(KEHU_GRADING_SCHEDULE_MONTHS=3):
        assert services.next_review_date(dt.date(2026, 6, 15)) == dt.date(2026, 7, 1)
        assert services.next_review_date(dt.date(2026, 7, 1)) == dt.date(2026, 10, 1)
        assert services.next_review_date(dt.date(2026, 11, 30)) == dt.date(2027, 1, 1)
    with override_settings(KEHU_GRADING_SCHEDULE_MONTHS=6):
        assert services.next_review_date(dt.date(2026, 2, 1)) == dt.date(2026, 7, 1)
    with override_settings(KEHU_GRADING_SCHEDULE_MONTHS=0):
        assert services.next_review_date(dt.date(2026, 2, 1)) is None


# ---------------------------------------------------------------- service-policy pages


def test_service_policy_pages_list_every_active_grade_and_edit_it(client, org):
    policy = active_policy(org)
    client.force_login(org.admin)
    page = client.get(reverse("grading:service_policies")).content.decode()
    assert page.count('data-testid="service-policy-row"') == 5 and "三星" in page
    url = reverse("grading:service_policy_edit") + f"?policy={POLICY}&grade=三星"
    assert client.get(url).status_code == 200
    response = client.post(url, {"dedicated_manager": "on", "complaint_sla_working_days": "2",
                                 "response_priority": "1", "resource_priority": "1"})
    assert response.status_code == 302 and response["Location"].endswith(f"#policy-{policy.pk}")
    row = ServicePolicy.objects.get(policy_name=POLICY, grade="三星")
    assert (row.dedicated_manager, row.complaint_sla_working_days, row.visit_every_days) == (True, 2, None)
    assert client.post(url, {"response_priority": "12", "resource_priority": "1"}).status_code == 400
    unknown = reverse("grading:service_policy_edit") + f"?policy={POLICY}&grade=五星"
    assert client.get(unknown).status_code == 404
    assert client.post(reverse("grading:service_policy_delete", args=[row.pk])).status_code == 302
    assert not ServicePolicy.objects.exists()
    detail = client.get(reverse("grading:policy_detail", args=[policy.pk])).content.decode()
    assert reverse("grading:service_policies") in detail


@pytest.mark.parametrize("role", ["manager", "rep", "analyst", "finance"])
def test_service_policy_pages_and_api_refuse_without_grading_manage(client, api_client, org, role):
    active_policy(org)
    row = ServicePolicy.objects.create(policy_name=POLICY, grade="三星")
    client.force_login(getattr(org, role))
    assert client.get(reverse("grading:service_policies")).status_code == 403
    url = reverse("grading:service_policy_edit") + f"?policy={POLICY}&grade=三星"
    assert client.get(url).status_code == 403
    assert client.post(url, {"response_priority": "1", "resource_priority": "1"}).status_code == 403
    assert client.post(reverse("grading:service_policy_delete", args=[row.pk])).status_code == 403
    assert api_client.as_user(getattr(org, role)).get("/grading/service-policies").status_code == 403
    assert ServicePolicy.objects.count() == 1


def test_service_policy_api_and_page_agree_for_the_administrator(client, api_client, org):
    active_policy(org)
    response = api_client.as_user(org.executive).post("/grading/service-policies",
                                                      {"policy_name": POLICY, "grade": "一星", "visit_every_days": 30})
    assert response.status_code == 200
    client.force_login(org.executive)
    assert "30" in client.get(reverse("grading:service_policies")).content.decode()
    assert json.loads(api_client.as_user(org.executive).get("/grading/service-policies").content)[0]["grade"] == "一星"


# ---------------------------------------------------------------- department summaries


def test_each_department_head_gets_one_summary_per_run(org, book, django_capture_on_commit_callbacks):  # noqa: F811
    north = customer(org, "天津石化", owner=org.north_rep)
    from kehu.grading.tests.test_runs import order

    order(north, dt.date(2025, 1, 10), 5)
    order(north, dt.date(2026, 6, 5), 1500)
    policy = active_policy(org, one_level_per_review=False)
    with django_capture_on_commit_callbacks(execute=True):
        run(org, policy)
    east = Notification.objects.filter(user=org.manager)
    assert east.count() == 1
    assert "华东区" in east.get().title and "3" in east.get().title and "苏州包装" in east.get().body
    north_notes = Notification.objects.filter(user=org.north_manager)
    assert north_notes.count() == 1 and "天津石化" in north_notes.get().body
    assert "华东塑业" not in north_notes.get().body
    assert Notification.objects.filter(user=org.rep).count() == 1  # the owner's own notice is unchanged
    assert not Notification.objects.filter(user=org.executive).exists()


def test_notify_roles_and_extra_departments_are_configurable(org, book,  # noqa: F811
                                                             django_capture_on_commit_callbacks):
    policy = active_policy(org, one_level_per_review=False)
    with override_settings(KEHU_GRADING_NOTIFY_ROLES=("manager", "executive"),
                           KEHU_GRADING_NOTIFY_DEPARTMENTS=("总部/财务部",)), \
            django_capture_on_commit_callbacks(execute=True):
        assert notify.notify_roles() == ("manager", "executive")
        run(org, policy)
    assert Notification.objects.filter(user=org.manager).count() == 1  # the nearest level: 华东区's manager
    assert not Notification.objects.filter(user=org.executive).exists()  # not the nearest level
    with override_settings(KEHU_GRADING_NOTIFY_ROLES=("finance",), KEHU_GRADING_NOTIFY_DEPARTMENTS=("总部/财务部",)), \
            django_capture_on_commit_callbacks(execute=True):
        sent = notify.departments(policy_name=POLICY, notices=[(org.rep.pk, book["华东塑业"].pk, "普通", "一星")])
    assert sent == 1 and Notification.objects.filter(user=org.finance).count() == 1
    with override_settings(KEHU_GRADING_NOTIFY_ROLES=()):
        assert notify.departments(policy_name=POLICY, notices=[(org.rep.pk, book["华东塑业"].pk, "", "一星")]) == 0
