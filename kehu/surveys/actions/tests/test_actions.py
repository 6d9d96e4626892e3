"""Survey analysis and action (issue 15, the second half): the figures of a survey against hand-computed
values, the report's gates in the procedure, the action plan to closure, follow-ups for detractors and low
scores, the yearly rule on the workbench, the API and pages under the actor's scope."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from kehu.audit.models import AuditEntry
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.surveys import rules
from kehu.surveys import services as survey_services
from kehu.surveys.actions import selectors, services
from kehu.surveys.actions.models import ActionItem, AnswerTerm, FollowUp, SurveyReport
from kehu.surveys.models import Campaign, Invitation, Questionnaire
from kehu.surveys.tests.conftest import walk_to

pytestmark = pytest.mark.django_db


def _campaign(org, name="2026年度客户满意度调查", previous=None):
    return survey_services.campaign_create(
        actor=org.manager,
        name=name,
        plan="华东区年度满意度调查",
        previous_id=previous.pk if previous else None,
    )


def answers(q: Questionnaire, *, score: str, nps: str, text: str = "") -> dict[str, list[str]]:
    """Every rating answered ``score`` (also the 1–10 question), NPS ``nps``, the first option of each
    choice question, ``text`` as the comment."""
    form = {}
    for x in q.questions.order_by("position"):
        name = f"q{x.pk}"
        if x.kind == "matrix":
            for o in x.options:
                form[f"{name}__{o['value']}"] = [score]
        elif x.kind == "nps":
            form[name] = [nps]
        elif x.kind in rules.SCALES:
            form[name] = [score]
        elif x.kind in ("single", "multiple"):
            form[name] = [x.options[0]["value"]]
        elif text:
            form[name] = [text]
    return form


def respond(org, c, customer, form):
    inv = Invitation.objects.get(campaign=c, customer=customer)
    _inv, token = survey_services.invitation_link_issue(actor=c.owner, invitation_id=inv.pk)
    return survey_services.response_submit(token=token, form=form)


@pytest.fixture
def answered(world):
    """The 华东区 manager's survey in fieldwork; 华星 (张伟's) answered 5 everywhere and NPS 10, 东方 (刘洋's)
    answered 1 everywhere and NPS 6."""
    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"])
    respond(org, c, book["huaxing"], answers(book["q"], score="5", nps="10", text="产品质量稳定，交货及时"))
    respond(org, c, book["dongfang"], answers(book["q"], score="1", nps="6", text="价格偏高，售后响应慢"))
    return c


# ---------------------------------------------------------------- figures


def test_nps_and_csat_of_a_survey_by_hand(world, answered):
    """Two responses. NPS: 10 is a promoter, 6 a detractor → 100 × (1 − 1) / 2 = 0.
    Product quality (1–5): 5 and 1 → top two box 1 of 2 = 50 %, index (100 + 0) / 2 = 50.
    Overall (a 1–10 answered 5 and 1: top box 9–10 none → 0 %; index (44.4 + 0) / 2 = 22.2).
    In-sale service is a matrix of 3 rows: 3 fives, 3 ones → 50 %, index 50."""
    org, book = world
    f = selectors.analyse(actor=org.manager, campaign=answered)
    assert (f["invited"], f["responded"], f["rate"]) == (2, 2, 100.0)
    assert (f["nps"]["promoters"], f["nps"]["passives"], f["nps"]["detractors"], f["nps"]["nps"]) == (
        1,
        0,
        1,
        0.0,
    )
    dims = {d["dimension"]: d for d in f["dimensions"]}
    assert dims["product_quality"] == {
        "dimension": "product_quality",
        "n": 2,
        "top_box_pct": 50.0,
        "low_box_pct": 50.0,
        "mean_100": 50.0,
    }
    assert dims["overall"]["top_box_pct"] == 0.0 and dims["overall"]["mean_100"] == 22.2
    assert dims["insale"]["n"] == 6 and dims["insale"]["top_box_pct"] == 50.0
    # every rating: 6 five-point questions + 3 matrix rows + 1 ten-point, twice = 20 ratings; top: 9 of the
    # fives (the ten-point 5 is not top) → 45 %
    assert f["overall"]["n"] == 20 and f["overall"]["top_box_pct"] == 45.0
    brand = next(q for q in f["questions"] if q["kind"] == "single")
    assert brand["n"] == 2 and brand["distribution"][0]["n"] == 2 and brand["distribution"][0]["pct"] == 100.0
    nps_q = next(q for q in f["questions"] if q["kind"] == "nps")
    assert [x["n"] for x in nps_q["distribution"] if x["value"] in (6, 10)] == [1, 1]


def test_keywords_are_counted_from_the_comments(world, answered):
    org, book = world
    assert AnswerTerm.objects.filter(answer__response__campaign=answered).exists()  # segmented when answered
    kw = {k["term"]: k["n"] for k in selectors.analyse(actor=org.manager, campaign=answered)["keywords"]}
    assert kw["价格"] == 1 and kw["产品质量"] == 1 and "，" not in kw
    texts = [v["text"] for v in selectors.analyse(actor=org.manager, campaign=answered)["verbatims"]]
    assert set(texts) == {"产品质量稳定，交货及时", "价格偏高，售后响应慢"}


def test_segments_compare_industries_regions_and_departments(world, answered):
    """华星 is 石化 / 浙江省 (default), 东方 is 贸易 / 上海市: each segment has one response."""
    org, book = world
    seg = selectors.analyse(actor=org.manager, campaign=answered)["segments"]
    ind = {r["key"]: r for r in seg["industry"]}
    assert ind["贸易"]["nps"] == -100.0 and ind["贸易"]["top_box_pct"] == 0.0
    assert [r for r in seg["province"] if r["key"] == "上海市"][0]["nps"] == -100.0
    assert sum(r["nps_n"] for r in seg["department"]) == 2


def test_figures_are_over_the_customers_in_the_actors_scope(world, answered, client):
    """The executive sees both answers; a report generated by him is not shown to the 华东区 manager… but
    the manager's own report is shown to the executive."""
    org, book = world
    assert selectors.analyse(actor=org.executive, campaign=answered)["responded"] == 2
    survey_services.campaign_advance(actor=org.manager, campaign_id=answered.pk, to="analysis", note="分析")
    r = services.report_generate(actor=org.manager, campaign_id=answered.pk)
    assert r.scope_key.startswith("subtree:")
    assert selectors.report_get(actor=org.executive, campaign_id=answered.pk)[1].pk == r.pk
    services.report_generate(actor=org.executive, campaign_id=answered.pk)
    with pytest.raises(NotFound):
        selectors.report_get(actor=org.manager, campaign_id=answered.pk)
    with pytest.raises(NotFound):
        selectors.report_get(actor=org.north_manager, campaign_id=answered.pk)
    # the manager's page shows the live figures of his own customers instead, and cannot overwrite the report
    client.force_login(org.manager)
    page = client.get(reverse("survey_actions:report", args=[answered.pk])).content.decode()
    assert 'data-testid="report-wider"' in page and 'data-testid="generate-form"' not in page


def test_comparison_with_the_previous_survey(world, answered):
    """Last survey: NPS 0 (one promoter, one detractor). This one: 华星 answers NPS 9 → 100 × 1 / 1 = 100,
    so the change is +100; product quality 50 % → 100 %."""
    org, book = world
    last = walk_to(org.manager, answered, "report")
    this = walk_to(
        org.manager,
        _campaign(org, "2027年度客户满意度调查", previous=last),
        "fieldwork",
        questionnaire=book["q"],
    )
    respond(org, this, book["huaxing"], answers(book["q"], score="5", nps="9"))
    prev = selectors.analyse(actor=org.manager, campaign=this)["previous"]
    assert prev["campaign"] == last.pk and prev["nps"] == 0.0 and prev["nps_change"] == 100.0
    dims = {d["dimension"]: d for d in prev["dimensions"]}
    assert (
        dims["product_quality"]["previous_top_box_pct"] == 50.0 and dims["product_quality"]["change"] == 50.0
    )


# ---------------------------------------------------------------- the procedure's gates


def test_report_step_needs_a_report_and_passing_it_needs_an_action_plan(world, answered):
    org, book = world
    with pytest.raises(Conflict) as exc:
        services.report_generate(actor=org.manager, campaign_id=answered.pk)
    assert exc.value.code == "survey_not_in_analysis"
    c = survey_services.campaign_advance(
        actor=org.manager, campaign_id=answered.pk, to="analysis", note="分析"
    )
    with pytest.raises(Conflict) as exc:
        survey_services.campaign_advance(actor=org.manager, campaign_id=c.pk, to="report", note="报告")
    assert exc.value.code == "survey_report_missing" and Campaign.objects.get(pk=c.pk).stage == "analysis"
    r = services.report_generate(actor=org.manager, campaign_id=c.pk, summary="价格和售后是短板")
    assert r.generations == 1 and r.figures["nps"]["nps"] == 0.0
    assert AuditEntry.objects.filter(action="survey.report_generate", object_id=str(c.pk)).exists()
    c = survey_services.campaign_advance(actor=org.manager, campaign_id=c.pk, to="report", note="报告")
    assert services.report_generate(actor=org.manager, campaign_id=c.pk).generations == 2  # still regenerable
    with pytest.raises(Conflict) as exc:
        survey_services.campaign_advance(actor=org.manager, campaign_id=c.pk, to="reevaluation", note="复评")
    assert exc.value.code == "survey_action_plan_missing"
    services.action_item_create(
        actor=org.manager,
        campaign_id=c.pk,
        data={"title": "售后响应时限压缩到24小时", "owner": org.rep.pk, "due_date": "2027-03-31"},
    )
    c = survey_services.campaign_advance(actor=org.manager, campaign_id=c.pk, to="reevaluation", note="复评")
    with pytest.raises(Conflict) as exc:
        services.report_generate(actor=org.manager, campaign_id=c.pk)
    assert exc.value.code == "survey_report_frozen"


def test_api_advance_without_a_report_says_why(world, answered, api_client):
    org, book = world
    api = api_client.as_user(org.manager)
    api.post(f"/surveys/campaigns/{answered.pk}/advance", {"to": "analysis", "note": "分析"})
    resp = api.post(f"/surveys/campaigns/{answered.pk}/advance", {"to": "report", "note": "报告"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "survey_report_missing"


# ---------------------------------------------------------------- action plan


def test_action_items_are_tracked_to_closure_by_their_owner(world, answered):
    org, book = world
    c = walk_to(org.manager, answered, "analysis")
    with pytest.raises(Invalid):
        services.action_item_create(
            actor=org.manager,
            campaign_id=c.pk,
            data={"title": "", "owner": org.rep.pk, "due_date": "2027-01-31"},
        )
    with pytest.raises(Invalid):
        services.action_item_create(
            actor=org.manager,
            campaign_id=c.pk,
            data={"title": "季度返利", "owner": org.rep.pk, "due_date": "明天"},
        )
    item = services.action_item_create(
        actor=org.manager,
        campaign_id=c.pk,
        data={"title": "对长期客户实行季度返利", "owner": org.rep.pk, "due_date": "2027-01-31"},
    )
    with pytest.raises(Forbidden):  # the owner updates the status, not the content
        services.action_item_update(actor=org.rep, item_id=item.pk, data={"title": "别的"})
    with pytest.raises(Invalid):  # done needs a closing note; nothing written
        services.action_item_update(actor=org.rep, item_id=item.pk, data={"status": "done"})
    assert ActionItem.objects.get(pk=item.pk).status == "open"
    services.action_item_update(actor=org.rep, item_id=item.pk, data={"status": "in_progress"})
    item = services.action_item_update(
        actor=org.rep,
        item_id=item.pk,
        data={"status": "done", "closing_note": "已与财务确定返利比例并通知客户"},
    )
    assert item.status == "done" and item.closed_at is not None
    with pytest.raises(NotFound):  # another rep does not see it
        services.action_item_update(actor=org.rep2, item_id=item.pk, data={"status": "open"})
    with pytest.raises(Conflict):  # a closed item is not deleted, it stays on record
        services.action_item_delete(actor=org.manager, item_id=item.pk)
    assert AuditEntry.objects.filter(action="survey.action_update", object_id=str(item.pk)).count() == 2


def test_action_items_are_written_only_after_the_fieldwork(world, answered):
    org, book = world
    with pytest.raises(Conflict):
        services.action_item_create(
            actor=org.manager,
            campaign_id=answered.pk,
            data={"title": "季度返利", "owner": org.rep.pk, "due_date": "2027-01-31"},
        )


def test_overdue_action_shows_on_its_owners_workbench(world, answered):
    from kehu.surveys.actions.workbench import survey_action_todos

    org, book = world
    c = walk_to(org.manager, answered, "analysis")
    services.action_item_create(
        actor=org.manager,
        campaign_id=c.pk,
        data={
            "title": "旺季前锁定运力",
            "owner": org.rep.pk,
            "due_date": timezone.localdate() - dt.timedelta(days=2),
        },
    )
    services.action_item_create(
        actor=org.manager,
        campaign_id=c.pk,
        data={
            "title": "明年再说",
            "owner": org.rep.pk,
            "due_date": timezone.localdate() + dt.timedelta(days=90),
        },
    )
    todos = survey_action_todos(org.rep, today=timezone.localdate(), now=timezone.now(), limit=10)
    assert [(t.title, t.state) for t in todos] == [("旺季前锁定运力", "overdue")]
    assert survey_action_todos(org.rep2, today=timezone.localdate(), now=timezone.now(), limit=10) == []


# ---------------------------------------------------------------- follow-ups


def test_a_detractor_creates_one_follow_up_for_the_account_manager(world, answered):
    org, book = world
    f = FollowUp.objects.get(campaign=answered)
    assert f.customer_id == book["dongfang"].pk and f.assigned_to_id == org.rep2.pk
    assert (
        f.reason == "both" and f.nps == 6 and len(f.low_answers) == 10
    )  # 6 fives + 3 matrix rows + the 1–10
    # idempotent per response: recording it again changes nothing
    services.follow_up_for_response(
        f.response,
        list(f.response.answers.all()),
        questions={q.pk: (q.kind, q.text) for q in book["q"].questions.all()},
    )
    assert FollowUp.objects.filter(campaign=answered).count() == 1
    assert not FollowUp.objects.filter(customer=book["huaxing"]).exists()  # 5s and a 10: no follow-up


def test_a_low_score_without_a_detractor_creates_a_follow_up(world):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"])
    form = answers(book["q"], score="4", nps="8")
    price = book["q"].questions.get(dimension="product_price")
    form[f"q{price.pk}"] = ["1"]
    respond(org, c, book["huaxing"], form)
    f = FollowUp.objects.get(campaign=c)
    assert f.reason == "low_score" and f.assigned_to_id == org.rep.pk
    assert [a["question"] for a in f.low_answers] == [price.pk]


def test_follow_up_is_closed_with_a_note_by_its_account_manager(world, answered):
    from kehu.surveys.actions.workbench import survey_follow_up_todos

    org, book = world
    f = FollowUp.objects.get(campaign=answered)
    todos = survey_follow_up_todos(org.rep2, today=timezone.localdate(), now=timezone.now(), limit=10)
    assert [t.kind for t in todos] == ["survey_follow_up"] and "上海东方贸易" in todos[0].title
    with pytest.raises(NotFound):  # 张伟 does not see 刘洋's customer
        services.follow_up_close(actor=org.rep, follow_up_id=f.pk, note="x")
    with pytest.raises(Invalid):
        services.follow_up_close(actor=org.rep2, follow_up_id=f.pk, note=" ")
    services.follow_up_close(actor=org.rep2, follow_up_id=f.pk, note="已回访，安排技术人员上门")
    with pytest.raises(Conflict):
        services.follow_up_close(actor=org.rep2, follow_up_id=f.pk, note="again")
    assert survey_follow_up_todos(org.rep2, today=timezone.localdate(), now=timezone.now(), limit=10) == []
    assert selectors.follow_up_counts(actor=org.manager, campaign_id=answered.pk) == {"open": 0, "closed": 1}


# ---------------------------------------------------------------- yearly compliance


def test_managers_are_warned_without_a_survey_in_the_last_12_months(world):
    from kehu.surveys.actions.workbench import survey_yearly_warning

    org, book = world
    today, now = timezone.localdate(), timezone.now()

    def kinds(user):
        return [t.kind for t in survey_yearly_warning(user, today=today, now=now, limit=10)]

    Campaign.objects.all().delete()
    assert kinds(org.manager) == ["survey_yearly"] and kinds(org.rep) == []
    c = walk_to(org.manager, _campaign(org), "review", questionnaire=book["q"])
    assert kinds(org.manager) == ["survey_yearly"]  # planned is not run
    c = walk_to(org.manager, c, "fieldwork")
    assert kinds(org.manager) == [] and kinds(org.executive) == []
    assert kinds(org.north_manager) == ["survey_yearly"]  # none of 华北区's customers was surveyed
    Campaign.objects.filter(pk=c.pk).update(fieldwork_started_at=now - dt.timedelta(days=370))
    assert kinds(org.manager) == ["survey_yearly"]
    # a company-wide survey of the executive covers the 华东区 manager's customers
    walk_to(
        org.executive,
        survey_services.campaign_create(actor=org.executive, name="集团年度调查", plan="全体客户"),
        "fieldwork",
        questionnaire=book["q"],
    )
    assert kinds(org.manager) == [] and kinds(org.north_manager) == []


# ---------------------------------------------------------------- API and pages


def test_api_report_generate_get_export_and_scope(world, answered, api_client):
    from openpyxl import load_workbook

    org, book = world
    walk_to(org.manager, answered, "analysis")
    base = f"/survey-reports/campaigns/{answered.pk}"
    api = api_client.as_user(org.manager)
    assert api.get(base + "/report").status_code == 404
    assert api.get(base + "/report").json()["error"]["code"] == "report_not_generated"
    resp = api.post(base + "/report", {"summary": "价格和售后是短板"})
    assert resp.status_code == 201 and resp.json()["figures"]["nps"]["detractors"] == 1
    assert api.get(base + "/report").json()["regenerable"] is True
    assert api.get(base + "/analysis").json()["figures"]["responded"] == 2
    xlsx = api.get(base + "/report/export")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxml")
    wb = load_workbook(io.BytesIO(xlsx.content))
    values = [r[1] for r in wb.worksheets[0].iter_rows(min_row=2, max_row=12, values_only=True)]
    assert values[2:6] == [
        2,
        2,
        100.0,
        0.0,
    ]  # invited, responses, rate, NPS (labels in the reader's language)
    # summary, dimensions, questions, segments, keywords, verbatims, action plan (no previous survey to compare)
    assert len(wb.sheetnames) == 7
    charts = api.get(base + "/charts").json()
    assert charts["nps"]["values"] == [1, 0, 1]
    for user, status in ((org.north_manager, 404), (org.rep, 403), (None, 401)):
        for path in ("/report", "/analysis", "/report/export", "/actions"):
            assert api_client.as_user(user).get(base + path).status_code == status, (user, path)
        assert api_client.as_user(user).post(base + "/report", {}).status_code == status
    assert SurveyReport.objects.get(campaign=answered).generations == 1


def test_api_action_items_crud_and_follow_ups(world, answered, api_client):
    org, book = world
    walk_to(org.manager, answered, "analysis")

    def api(user):  # the client is one object: set its user on every call
        return api_client.as_user(user)

    base = f"/survey-reports/campaigns/{answered.pk}/actions"
    bad = api(org.manager).post(base, {"title": "季度返利", "owner": org.rep.pk, "due_date": "2027-13-01"})
    assert bad.status_code == 422 and not ActionItem.objects.exists()
    resp = api(org.manager).post(base, {"title": "季度返利", "owner": org.rep.pk, "due_date": "2027-01-31"})
    assert resp.status_code == 201
    item = resp.json()["id"]
    assert (
        api(org.north_manager)
        .post(base, {"title": "x", "owner": org.rep.pk, "due_date": "2027-01-31"})
        .status_code
        == 404
    )
    assert [i["id"] for i in api(org.manager).get(base).json()["items"]] == [item]
    assert [i["id"] for i in api(org.rep).get("/survey-reports/actions?mine=true").json()["items"]] == [item]
    assert (
        api(org.rep).patch(f"/survey-reports/actions/{item}", {"due_date": "2027-06-30"}).status_code == 403
    )
    resp = api(org.rep).patch(f"/survey-reports/actions/{item}", {"status": "done", "closing_note": "已落实"})
    assert resp.status_code == 200 and resp.json()["status"] == "done"
    assert api(org.rep2).get(f"/survey-reports/actions/{item}").status_code == 404
    assert api(org.manager).delete(f"/survey-reports/actions/{item}").status_code == 409
    # follow-ups: 刘洋 sees his customer's, 张伟 none, finance is refused
    fu = api(org.rep2).get("/survey-reports/follow-ups?mine=true").json()["items"]
    assert [f["customer"] for f in fu] == [book["dongfang"].pk]
    assert api(org.rep).get("/survey-reports/follow-ups?mine=true").json()["items"] == []
    assert api(org.rep).get(f"/survey-reports/follow-ups/{fu[0]['id']}").status_code == 404
    assert api(org.finance).get("/survey-reports/follow-ups").status_code == 403
    resp = api(org.rep2).post(f"/survey-reports/follow-ups/{fu[0]['id']}/close", {"note": "已回访"})
    assert resp.status_code == 200 and resp.json()["status"] == "closed"


def test_report_pages_generate_show_print_and_export(world, answered, client):
    org, book = world
    walk_to(org.manager, answered, "analysis")
    client.force_login(org.manager)
    url = reverse("survey_actions:report", args=[answered.pk])
    page = client.get(url)
    assert page.status_code == 200 and b'data-testid="report-none"' in page.content
    assert client.get(reverse("survey_actions:print", args=[answered.pk])).status_code == 302
    resp = client.post(url, {"action": "generate", "summary": "价格偏高"})
    assert resp.status_code == 302
    page = client.get(url).content.decode()
    assert 'data-testid="report-generated"' in page and 'data-testid="fig-nps">0.0<' in page
    resp = client.post(
        url, {"action": "add_item", "title": "售后24小时响应", "owner": org.rep.pk, "due_date": ""}
    )
    assert resp.status_code == 400 and not ActionItem.objects.exists()
    client.post(
        url, {"action": "add_item", "title": "售后24小时响应", "owner": org.rep.pk, "due_date": "2027-02-28"}
    )
    assert ActionItem.objects.filter(campaign=answered, owner=org.rep).count() == 1
    printed = client.get(reverse("survey_actions:print", args=[answered.pk]))
    assert (
        printed.status_code == 200
        and b"@page" in printed.content
        and "售后24小时响应" in printed.content.decode()
    )
    xlsx = client.get(reverse("survey_actions:export", args=[answered.pk]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    client.force_login(org.north_manager)
    assert client.get(url).status_code == 404
    client.force_login(org.rep2)
    page = client.get(reverse("survey_actions:follow_ups")).content.decode()
    assert "上海东方贸易有限公司" in page
    f = FollowUp.objects.get(campaign=answered)
    client.post(reverse("survey_actions:follow_ups"), {"follow_up": f.pk, "note": "已回访客户"})
    assert FollowUp.objects.get(pk=f.pk).status == "closed"
    client.force_login(org.rep)
    page = client.get(reverse("survey_actions:actions"))
    assert page.status_code == 200 and "售后24小时响应" in page.content.decode()


def test_report_generation_queries_do_not_grow_with_the_responses(world, django_assert_max_num_queries):
    """Set-based: two responses or four, the same number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org, book = world
    c = walk_to(
        org.executive,
        survey_services.campaign_create(actor=org.executive, name="全体调查", plan="全体"),
        "fieldwork",
        questionnaire=book["q"],
    )
    for cust, s in ((book["huaxing"], "4"), (book["dongfang"], "2")):
        respond(org, c, cust, answers(book["q"], score=s, nps="8", text="交货及时"))
    with CaptureQueriesContext(connection) as few:
        selectors.analyse(actor=org.executive, campaign=c)
    respond(org, c, book["yanshan"], answers(book["q"], score="3", nps="7", text="价格偏高"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        f = selectors.analyse(actor=org.executive, campaign=c)
    assert f["responded"] == 3


def test_an_executive_closes_any_follow_up_in_the_company(world, answered):
    """Whole-company scope: every follow-up, not only those assigned to the executive."""
    org, book = world
    f = FollowUp.objects.get(campaign=answered)
    assert selectors.follow_up_list(actor=org.executive).items == [f]
    services.follow_up_close(actor=org.executive, follow_up_id=f.pk, note="总经理亲自回访")
    assert FollowUp.objects.get(pk=f.pk).closed_by_id == org.executive.pk


def test_survey_tabs_and_menu_link_only_to_pages_the_user_may_open(world, answered, client):
    """An account manager (may enter answers, not manage surveys) sees no Surveys or Questionnaires tab, and the
    menu takes them to the interviews; every link they are shown opens. A survey manager sees all five tabs."""
    import re

    org, _book = world
    client.force_login(org.rep2)
    page = client.get(reverse("survey_actions:follow_ups")).content.decode()
    assert 'data-testid="tab-questionnaires"' not in page and 'data-testid="tab-surveys"' not in page
    assert 'data-testid="tab-interviews"' in page and 'data-testid="tab-actions"' in page
    menu = re.search(r'href="([^"]+)" data-testid="nav-surveys"', page).group(1)
    assert menu == reverse("surveys:interviews")
    tabs = re.search(r'data-testid="surveys-tabs".*?</nav>', page, re.S).group(0)
    for href in re.findall(r'href="([^"]+)"', tabs) + [menu]:
        assert client.get(href).status_code == 200, href
    assert client.get(reverse("surveys:questionnaires")).status_code == 403
    client.force_login(org.manager)
    page = client.get(reverse("survey_actions:follow_ups")).content.decode()
    assert all(f'data-testid="tab-{t}"' in page for t in ("surveys", "questionnaires", "interviews", "follow-ups",
                                                          "actions"))
    assert re.search(r'href="([^"]+)" data-testid="nav-surveys"', page).group(1) == reverse("surveys:list")
