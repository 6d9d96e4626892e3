"""Prospects (潜在客户) by source and their conversion, development plans (开发计划) approved by the department head
then the managers' meeting with their weekly and monthly progress, opportunities (商机) through configurable stages,
the weighted forecast by month, won / lost with reasons and the lost-customer / competitor analysis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.customers.models import Customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.sales import selectors, services
from kehu.sales.models import Competitor, LostReason, OpportunityStage, Outcome, PlanState

pytestmark = pytest.mark.django_db


def stage(code):
    return OpportunityStage.objects.get(code=code)


def month(n=1):
    from kehu.sales.rules import add_months

    return f"{add_months(timezone.localdate(), n):%Y-%m}"


# ---------------------------------------------------------------- prospects

def test_prospects_are_the_customers_at_stage_prospect_filtered_by_source(world, api_client):
    org = world.org
    r = api_client.as_user(org.rep).get("/sales/prospects")
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == [world.c["prospect"].pk]  # only 张伟's, only prospects
    r = api_client.as_user(org.manager).get("/sales/prospects", {"source": "walk_in"})
    assert {i["id"] for i in r.json()["items"]} == {world.c["prospect"].pk, world.c["liu"].pk}
    r = api_client.as_user(org.manager).get("/sales/prospects", {"source": "来访"})  # the source's name works too
    assert {i["id"] for i in r.json()["items"]} == {world.c["prospect"].pk, world.c["liu"].pk}
    assert {"source": "walk_in", "name": "来访", "count": 2} in r.json()["by_source"]
    assert api_client.as_user(org.manager).get("/sales/prospects", {"source": "call"}).json()["items"] == []


def test_prospect_sources_are_rows_a_manager_adds(world, api_client):
    org = world.org
    assert api_client.as_user(org.rep).post("/sales/sources", {"code": "wechat", "name": "微信"}).status_code == 403
    r = api_client.as_user(org.manager).post("/sales/sources", {"code": "wechat", "name": "微信"})
    assert r.status_code == 201
    codes = [s["code"] for s in api_client.as_user(org.rep).get("/sales/catalogue").json()["sources"]]
    assert "wechat" in codes and "walk_in" in codes


def test_converting_a_prospect_opens_an_opportunity_and_moves_the_customer_to_intent(world, api_client):
    org, c = world.org, world.c
    r = api_client.as_user(org.rep).post(f"/sales/prospects/{c['prospect'].pk}/convert",
                                         {"title": "厂区扩建项目", "amount": "1200000", "expected_close": month(2)})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["stage_name"] == "初步接洽" and body["outcome"] == "open" and body["source"] == "walk_in"
    assert body["expected_close"] == month(2) and body["weighted"] == "120000.00"
    assert Customer.objects.get(pk=c["prospect"].pk).stage == "intent"
    assert AuditEntry.objects.filter(action="sales.prospect_convert").exists()
    again = api_client.as_user(org.rep).post(f"/sales/prospects/{c['prospect'].pk}/convert",
                                             {"title": "再次", "amount": "1", "expected_close": month(2)})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_a_prospect"


def test_a_rep_cannot_convert_another_reps_prospect(world, api_client):
    r = api_client.as_user(world.org.rep).post(f"/sales/prospects/{world.c['liu'].pk}/convert",
                                               {"title": "x", "amount": "1", "expected_close": month()})
    assert r.status_code == 404


# ---------------------------------------------------------------- development plans

def plan_data(**extra):
    today = timezone.localdate()
    data = {"title": "2027年一季度华东区客户开发计划", "starts_on": today.replace(day=1).isoformat(),
            "deadline": (today + dt.timedelta(days=90)).isoformat(), "target_prospects": 30,
            "target_opportunities": 10, "target_deals": 4, "target_amount": "5000000", "budget": "80000",
            "support_needed": "市场部：展会物料；技术部：方案支持"}
    data.update(extra)
    return data


def test_development_plan_is_approved_by_the_department_head_then_the_managers_meeting(world):
    from kehu.approvals.models import ApprovalRequest
    from kehu.approvals.services import approval_decide, approval_meeting_record

    org = world.org
    plan = services.plan_create(actor=org.rep, data=plan_data())
    services.plan_submit(actor=org.rep, plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.state == PlanState.SUBMITTED
    req = ApprovalRequest.objects.get(pk=plan.approval_request_id)
    assert req.chain.code == "development.plan"
    assert [s.kind for s in req.chain.steps.order_by("order")] == ["role_in_line", "meeting"]
    with pytest.raises((Forbidden, NotFound)):  # another department's head never sees it
        approval_decide(actor=org.north_manager, request_id=req.pk, decision="approve")  # not his department
    approval_decide(actor=org.manager, request_id=req.pk, decision="approve")
    plan.refresh_from_db()
    assert plan.state == PlanState.SUBMITTED  # the meeting is still to decide
    with pytest.raises(Conflict):  # a meeting step is not decided by a click
        approval_decide(actor=org.executive, request_id=req.pk, decision="approve")
    approval_meeting_record(actor=org.executive, request_id=req.pk, held_on=timezone.localdate(),
                            participants=[org.executive.pk, org.manager.pk], minutes="同意，预算压缩至7万",
                            decision="approve")
    plan.refresh_from_db()
    assert plan.state == PlanState.APPROVED and plan.approved_at is not None
    assert AuditEntry.objects.filter(action="sales.plan_outcome", object_id=str(plan.pk)).exists()


def test_a_plan_rejected_by_the_meeting_is_rejected_and_can_be_changed(world):
    from kehu.approvals.services import approval_decide, approval_meeting_record

    org = world.org
    plan = services.plan_submit(actor=org.rep, plan_id=services.plan_create(actor=org.rep, data=plan_data()).pk)
    approval_decide(actor=org.manager, request_id=plan.approval_request_id, decision="approve")
    approval_meeting_record(actor=org.executive, request_id=plan.approval_request_id, held_on=timezone.localdate(),
                            participants=[org.executive.pk], minutes="预算过高", decision="reject")
    plan.refresh_from_db()
    assert plan.state == PlanState.REJECTED
    services.plan_update(actor=org.rep, plan_id=plan.pk, data={"budget": "50000"})
    plan.refresh_from_db()
    assert plan.budget == Decimal("50000.00")


def test_a_submitted_plan_cannot_be_changed_and_a_plan_needs_a_target(world):
    org = world.org
    with pytest.raises(Invalid) as exc:
        services.plan_create(actor=org.rep, data=plan_data(target_prospects=0, target_opportunities=0,
                                                           target_deals=0, target_amount="0"))
    assert "target_prospects" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        services.plan_create(actor=org.rep, data=plan_data(deadline="2000-01-01"))
    assert "deadline" in exc.value.fields
    plan = services.plan_submit(actor=org.rep, plan_id=services.plan_create(actor=org.rep, data=plan_data()).pk)
    with pytest.raises(Conflict):
        services.plan_update(actor=org.rep, plan_id=plan.pk, data={"budget": "1"})


def test_weekly_summary_and_monthly_report_are_computed_from_the_data(world, api_client):
    org, c = world.org, world.c
    plan = services.plan_create(actor=org.rep, data=plan_data())
    services.opportunity_create(actor=org.rep, data={"customer": c["huaxing"].pk, "title": "年度框架协议",
                                                     "amount": "800000", "expected_close": month()})
    services.opportunity_create(actor=org.rep2, data={"customer": c["liu"].pk, "title": "刘洋的商机",
                                                      "amount": "1", "expected_close": month()})  # not 张伟's
    for period in ("week", "month"):
        r = api_client.as_user(org.rep).get(f"/sales/plans/{plan.pk}/progress", {"period": period})
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["current"]["opportunities"] == 1 and body["to_date"]["opportunities"] == 1
        assert body["targets"]["opportunities"] == "10" and body["reached"]["opportunities"] == 10.0
    bad = api_client.as_user(org.rep).get(f"/sales/plans/{plan.pk}/progress", {"period": "year"})
    assert bad.status_code == 400
    assert api_client.as_user(org.rep2).get(f"/sales/plans/{plan.pk}/progress").status_code == 404


def test_a_department_heads_plan_counts_the_whole_department(world):
    org, c = world.org, world.c
    plan = services.plan_create(actor=org.manager, data=plan_data(title="华东区开发计划"))
    services.opportunity_create(actor=org.rep, data={"customer": c["huaxing"].pk, "title": "甲", "amount": "1",
                                                     "expected_close": month()})
    services.opportunity_create(actor=org.rep2, data={"customer": c["liu"].pk, "title": "乙", "amount": "1",
                                                      "expected_close": month()})
    services.opportunity_create(actor=org.north_rep, data={"customer": c["north"].pk, "title": "丙", "amount": "1",
                                                           "expected_close": month()})
    progress = selectors.plan_progress(actor=org.manager, plan_id=plan.pk, period="month")
    assert progress["current"]["opportunities"] == 2


# ---------------------------------------------------------------- opportunities, forecast, lost analysis

def test_opportunity_moves_through_configurable_stages_and_the_forecast_is_weighted(world, api_client):
    org, c = world.org, world.c
    api = api_client.as_user(org.rep)
    a = api.post("/sales/opportunities", {"customer": c["huaxing"].pk, "title": "催化剂年度采购", "amount": "1000000",
                                          "expected_close": month(1)}).json()
    b = api.post("/sales/opportunities", {"customer": c["dongfang"].pk, "title": "仓储扩容", "amount": "400000",
                                          "expected_close": month(1), "stage": stage("proposal").pk}).json()
    r = api.post(f"/sales/opportunities/{a['id']}/move", {"stage": stage("negotiation").pk})
    assert r.status_code == 200 and r.json()["probability"] == 75
    rows = {row["month"]: row for row in api.get("/sales/forecast", {"months": 3}).json()}
    assert rows[month(1)]["open"] == 2
    assert rows[month(1)]["pipeline"] == "1400000.00"
    assert rows[month(1)]["weighted"] == "950000.00"  # 1,000,000 × 75 % + 400,000 × 50 %
    won = api.post(f"/sales/opportunities/{b['id']}/move", {"stage": stage("won").pk}).json()
    assert won["outcome"] == "won" and won["closed_on"] == timezone.localdate().isoformat()
    closed = api.post(f"/sales/opportunities/{b['id']}/move", {"stage": stage("contact").pk})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "opportunity_closed"


def test_stage_rows_are_configurable_and_a_won_stage_is_certain(world, api_client):
    org = world.org
    api = api_client.as_user(org.manager)
    r = api.post("/sales/stages", {"code": "visit", "name": "实地考察", "position": 25, "probability": 40})
    assert r.status_code == 201
    r = api.post("/sales/stages", {"code": "won2", "name": "赢单2", "probability": 90, "is_won": True})
    assert r.status_code == 422 and "probability" in r.json()["error"]["fields"]
    assert api_client.as_user(org.rep).post("/sales/stages", {"code": "x", "name": "x", "probability": 1}).status_code == 403


def test_a_lost_opportunity_needs_a_reason_and_feeds_the_competitor_analysis(world, api_client):
    org, c = world.org, world.c
    api = api_client.as_user(org.rep)
    comp = api_client.as_user(org.manager).post("/sales/competitors", {"name": "中石化华东销售"}).json()
    reason = LostReason.objects.get(name="价格偏高")
    opp = api.post("/sales/opportunities", {"customer": c["huaxing"].pk, "title": "聚丙烯长约", "amount": "300000",
                                            "expected_close": month()}).json()
    r = api.post(f"/sales/opportunities/{opp['id']}/move", {"stage": stage("lost").pk})
    assert r.status_code == 422 and "lost_reason" in r.json()["error"]["fields"]
    r = api.post(f"/sales/opportunities/{opp['id']}/move", {"stage": stage("lost").pk, "lost_reason": reason.pk,
                                                             "competitor": comp["id"], "note": "对方报价低3%"})
    assert r.status_code == 200 and r.json()["outcome"] == "lost" and r.json()["competitor"] == "中石化华东销售"
    analysis = api.get("/sales/lost-analysis").json()
    assert analysis["total"] == 1
    assert analysis["by_reason"][0] == {"name": "价格偏高", "count": 1, "amount": "300000.00", "share": 100.0}
    assert analysis["by_competitor"][0]["name"] == "中石化华东销售"
    # another rep's scope does not see it
    assert api_client.as_user(org.rep2).get("/sales/lost-analysis").json()["total"] == 0
    assert Competitor.objects.filter(name="中石化华东销售").exists()


def test_opportunities_are_scoped_like_customers(world, api_client):
    org, c = world.org, world.c
    opp = services.opportunity_create(actor=org.rep, data={"customer": c["huaxing"].pk, "title": "范围测试",
                                                           "amount": "1", "expected_close": month()})
    assert api_client.as_user(org.rep2).get(f"/sales/opportunities/{opp.pk}").status_code == 404
    assert api_client.as_user(org.north_manager).get(f"/sales/opportunities/{opp.pk}").status_code == 404
    assert api_client.as_user(org.manager).get(f"/sales/opportunities/{opp.pk}").status_code == 200
    assert api_client.as_user(org.finance).get(f"/sales/opportunities/{opp.pk}").status_code == 403
    with pytest.raises(NotFound):
        services.opportunity_move(actor=org.rep2, opportunity_id=opp.pk, data={"stage": stage("won").pk})


def test_opportunity_list_query_count_is_bounded(world, api_client, django_assert_max_num_queries):
    org, c = world.org, world.c
    for i in range(6):
        services.opportunity_create(actor=org.rep, data={"customer": c["huaxing"].pk, "title": f"商机{i}",
                                                         "amount": "1000", "expected_close": month()})
    api = api_client.as_user(org.rep)
    api.get("/sales/opportunities")
    with django_assert_max_num_queries(6):
        r = api.get("/sales/opportunities")
    assert len(r.json()["items"]) == 6
    assert Outcome.OPEN == "open"


def test_pipeline_pages_render_for_a_rep(world, client):
    org = world.org
    services.plan_create(actor=org.rep, data=plan_data())
    client.force_login(org.rep)
    for url in ("/sales/prospects/", "/sales/plans/", "/sales/opportunities/", "/sales/lost/", "/sales/deals/",
                "/sales/stats/", "/sales/arrears/", "/sales/breaches/"):
        assert client.get(url).status_code == 200, url
    plan = selectors.plan_list(actor=org.rep).items[0]
    r = client.get(f"/sales/plans/{plan.pk}/?period=month")
    assert r.status_code == 200 and 'data-testid="progress-table"' in r.content.decode()
    client.force_login(org.finance)
    assert client.get("/sales/opportunities/").status_code == 403
    assert client.get("/sales/deals/").status_code == 200


def test_a_manager_configures_stages_sources_reasons_competitors_and_arrears_figures_on_the_page(world, client):
    from kehu.sales.models import ProspectSource, SalesPolicy

    client.force_login(world.org.manager)
    assert client.get("/sales/settings/").status_code == 200
    posts = [{"action": "stage", "code": "visit", "name": "实地考察", "position": "25", "probability": "40",
              "active": "on"},
             {"action": "source", "code": "wechat", "name": "微信", "position": "9"},
             {"action": "reason", "name": "付款条件不满足"},
             {"action": "competitor", "name": "万科杭州公司"},
             {"action": "policy", "dunning_grace_days": "3", "dunning_repeat_days": "10", "breach_after_months": "3"}]
    for data in posts:
        assert client.post("/sales/settings/", data).status_code == 302, data
    assert OpportunityStage.objects.get(code="visit").probability == 40
    assert ProspectSource.objects.filter(code="wechat").exists()
    assert LostReason.objects.filter(name="付款条件不满足").exists()
    assert Competitor.objects.filter(name="万科杭州公司").exists()
    policy = SalesPolicy.objects.get()
    assert (policy.dunning_grace_days, policy.dunning_repeat_days, policy.breach_after_months) == (3, 10, 3)
    bad = client.post("/sales/settings/", {"action": "stage", "code": "won2", "name": "赢", "probability": "80",
                                           "is_won": "on"})
    assert bad.status_code == 400 and 'data-testid="form-errors"' in bad.content.decode()
    client.force_login(world.org.rep)
    assert client.get("/sales/settings/").status_code == 200  # a rep reads the figures
    assert client.post("/sales/settings/", posts[3]).status_code == 403  # but may not change them
    client.force_login(world.org.finance)
    assert client.get("/sales/settings/").status_code == 403


def test_a_plan_returned_for_changes_goes_back_to_draft_and_round_again_when_submitted(world):
    from kehu.approvals.models import ApprovalRequest
    from kehu.approvals.services import approval_decide

    org = world.org
    plan = services.plan_submit(actor=org.rep, plan_id=services.plan_create(actor=org.rep, data=plan_data()).pk)
    approval_decide(actor=org.manager, request_id=plan.approval_request_id, decision="return",
                    comment="请补充展会预算明细")
    plan.refresh_from_db()
    assert plan.state == PlanState.DRAFT
    services.plan_update(actor=org.rep, plan_id=plan.pk, data={"support_needed": "市场部：展会物料（预算2万元）"})
    services.plan_submit(actor=org.rep, plan_id=plan.pk)
    plan.refresh_from_db()
    req = ApprovalRequest.objects.get(pk=plan.approval_request_id)
    assert plan.state == PlanState.SUBMITTED and req.status == "pending" and req.round == 2
