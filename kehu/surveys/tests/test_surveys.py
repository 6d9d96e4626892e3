"""The satisfaction survey (seed 004 第4篇, 001 四): the procedure's order (no step skipped, each step with
its record), the target list (segment within the actor's scope, customers without consent to be contacted
excluded), personal links (one response, tampered / reused / expired refused), answer validation, agents'
entries, e-mail invitations and reminders, questionnaire versions and approval, the pages and the API's
scope."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.surveys import rules, services
from kehu.surveys.models import (
    Answer,
    Campaign,
    CampaignStep,
    Invitation,
    Question,
    Questionnaire,
    QuestionnaireStatus,
    Response,
    Stage,
)
from kehu.surveys.tests.conftest import approve_all, walk_to

pytestmark = pytest.mark.django_db


def _campaign(org, name="2026年度客户满意度调查"):
    return services.campaign_create(actor=org.manager, name=name, plan="每年第四季度对华东区客户开展满意度调查，"
                                                                       "问卷+电话回访，12月底前完成报告")


def _full_answers(q: Questionnaire, *, score="4", nps="9") -> dict[str, list[str]]:
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
        else:
            form[name] = ["交货及时，产品质量稳定，价格偏高"]
    return form


# ---------------------------------------------------------------- the procedure's order

def test_survey_procedure_cannot_skip_a_step_and_records_each_step(world):
    """Every illegal move (a skip, a move back other than review → drafting, any move of a closed survey)
    answers 409 with its code; walking the steps in order records each one with who, when and what."""
    org, book = world
    c = _campaign(org)
    for i, stage in enumerate(rules.STAGES):
        c.refresh_from_db()
        assert c.stage == stage
        for to in rules.STAGES:
            legal = (i + 1 < len(rules.STAGES) and to == rules.STAGES[i + 1]) or (stage, to) == ("review", "drafting")
            if legal:
                continue
            with pytest.raises(Conflict) as exc:
                services.campaign_advance(actor=org.manager, campaign_id=c.pk, to=to, note="跳步")
            expected = ("survey_closed" if stage == "closed" else
                        "survey_step_skipped" if rules.STAGES.index(to) > i else "survey_step_backwards")
            assert exc.value.code == expected, (stage, to)
            assert exc.value.status == 409
        if stage != "closed":
            c = walk_to(org.manager, c, rules.STAGES[i + 1], questionnaire=book["q"])
    steps = list(CampaignStep.objects.filter(campaign=c).order_by("at", "id"))
    assert [s.to_stage for s in steps] == list(rules.STAGES)
    assert all(s.actor_id == org.manager.pk for s in steps)
    by = {s.to_stage: s for s in steps}
    assert by["plan"].note.startswith("每年第四季度")
    assert by["targeting"].data["targeted"] == 2 and by["targeting"].data["excluded_no_consent"] == 1
    assert by["expectations"].note == "expectations 记录"
    assert by["drafting"].data["questionnaire"] == book["q"].pk
    assert by["fieldwork"].data["decision"] == "approved"


def test_review_can_return_the_draft_with_a_reason(world):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "review", questionnaire=book["q"])
    with pytest.raises(Invalid):
        services.campaign_advance(actor=org.manager, campaign_id=c.pk, to="drafting", note="")
    c = services.campaign_advance(actor=org.manager, campaign_id=c.pk, to="drafting", note="价格题表述不清，请修改")
    assert c.stage == Stage.DRAFTING
    assert c.steps.order_by("-id").first().data == {"decision": "returned"}


def test_fieldwork_needs_an_approved_questionnaire(world):
    org, book = world
    draft = services.questionnaire_create(actor=org.manager, title="售后服务专项调查", questions=[
        {"dimension": "aftersale", "kind": "rating_5", "text": "您对售后响应速度的满意程度"}])
    c = walk_to(org.manager, _campaign(org), "review", questionnaire=draft)
    with pytest.raises(Conflict) as exc:
        services.campaign_advance(actor=org.manager, campaign_id=c.pk, to="fieldwork", note="")
    assert exc.value.code == "questionnaire_not_approved"


# ---------------------------------------------------------------- the target list

def test_target_list_excludes_customers_without_consent_to_be_contacted(world):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "targeting")
    targeted = set(Invitation.objects.filter(campaign=c).values_list("customer_id", flat=True))
    assert targeted == {book["huaxing"].pk, book["dongfang"].pk}
    assert book["nocons"].pk not in targeted
    inv = Invitation.objects.get(campaign=c, customer=book["huaxing"])
    assert inv.contact_id == book["wang"].pk  # the contact who consented is the one invited


def test_a_withdrawn_consent_excludes_the_customer(world):
    from kehu.customers.models import Consent
    from kehu.customers.services import consent_withdraw

    org, book = world
    consent_withdraw(actor=org.rep2, consent_id=Consent.objects.get(contact=book["li"]).pk)
    c = walk_to(org.manager, _campaign(org), "targeting")
    assert set(Invitation.objects.filter(campaign=c).values_list("customer_id", flat=True)) == {book["huaxing"].pk}


def test_segment_targeting_stays_within_the_actors_scope(world):
    """The 华东区 manager's survey never reaches 华北区's customers, whatever the segment; the executive's
    does; a segment narrows by industry, region, owner and recent complaints."""
    from kehu.service_desk.services import complaint_record

    org, book = world
    east = walk_to(org.manager, _campaign(org), "targeting")
    assert book["yanshan"].pk not in set(east.invitations.values_list("customer_id", flat=True))
    every = services.campaign_create(actor=org.executive, name="全国客户满意度调查", plan="全公司范围")
    every = walk_to(org.executive, every, "targeting")
    assert set(every.invitations.values_list("customer_id", flat=True)) == {
        book["huaxing"].pk, book["dongfang"].pk, book["yanshan"].pk}
    north = walk_to(org.manager, _campaign(org, "北京地区"), "targeting", segment={"provinces": ["北京市", "浙江省"]})
    assert set(north.invitations.values_list("customer_id", flat=True)) == {book["huaxing"].pk}
    trade = walk_to(org.manager, _campaign(org, "贸易行业"), "targeting", segment={"industries": ["贸易"]})
    assert set(trade.invitations.values_list("customer_id", flat=True)) == {book["dongfang"].pk}
    owner = walk_to(org.manager, _campaign(org, "刘洋的客户"), "targeting", segment={"owners": [org.rep2.pk]})
    assert set(owner.invitations.values_list("customer_id", flat=True)) == {book["dongfang"].pk}
    complaint_record(actor=org.rep, data={"complainant_name": "王强", "subject": "送货延误", "description": "晚到三天",
                                          "channel": "letter", "customer": book["huaxing"].pk})
    recent = walk_to(org.manager, _campaign(org, "近期投诉客户回访"), "targeting", segment={"complaint_days": 30})
    assert set(recent.invitations.values_list("customer_id", flat=True)) == {book["huaxing"].pk}
    with pytest.raises(Invalid) as exc:
        walk_to(org.manager, _campaign(org, "无人"), "targeting", segment={"industries": ["不存在的行业"]})
    assert exc.value.code == "survey_target_list_empty"


def test_segment_by_grade_reads_the_current_grade(world):
    from kehu.grading.models import CustomerGrade, GradingPolicy

    org, book = world
    from kehu.grading.models import KIND_CHOICES

    policy = GradingPolicy.objects.create(name="聚烯烃提货量分级", kind=KIND_CHOICES[0][0], state="active")
    CustomerGrade.objects.create(customer=book["dongfang"], policy_name=policy.name, policy=policy, grade="三星",
                                 graded_at=timezone.now())
    c = walk_to(org.manager, _campaign(org), "targeting", segment={"grades": ["三星"]})
    assert set(c.invitations.values_list("customer_id", flat=True)) == {book["dongfang"].pk}


# ---------------------------------------------------------------- personal links

@pytest.fixture
def fieldwork(world):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"])
    inv = Invitation.objects.get(campaign=c, customer=book["huaxing"])
    inv, token = services.invitation_link_issue(actor=org.manager, invitation_id=inv.pk)
    return c, inv, token


def test_personal_link_is_random_and_stored_only_as_its_hash(world, fieldwork):
    c, inv, token = fieldwork
    inv.refresh_from_db()
    assert len(token) >= 32
    assert inv.token_hash == services.token_hash(token) and token not in inv.token_hash
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_answer_through_the_link_once_then_reused_link_is_refused(world, fieldwork, client):
    org, book = world
    c, inv, token = fieldwork
    url = reverse("surveys:respond", args=[token])
    page = client.get(url)
    assert page.status_code == 200
    assert "<script" not in page.content.decode().split("</head>")[1]  # plain HTML, no inline script
    form = _full_answers(book["q"])
    resp = client.post(url, form)
    assert resp.status_code == 302 and resp["Location"] == reverse("surveys:thanks")
    response = Response.objects.get(campaign=c, customer=book["huaxing"])
    assert response.channel == "link" and response.answers.count() == sum(
        len(x.options) if x.kind == "matrix" else 1 for x in book["q"].questions.all())
    nps = Answer.objects.get(response=response, question__kind="nps")
    assert nps.number == 9
    inv.refresh_from_db()
    assert inv.responded_at is not None
    again = client.post(url, form)
    assert again.status_code == 409 and b'data-code="link_used"' in again.content
    assert client.get(url).status_code == 409
    assert Response.objects.filter(campaign=c, customer=book["huaxing"]).count() == 1


def test_tampered_link_is_refused(world, fieldwork, client):
    c, inv, token = fieldwork
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    resp = client.get(reverse("surveys:respond", args=[tampered]))
    assert resp.status_code == 404 and b'data-code="link_invalid"' in resp.content
    assert client.get("/s/short/").status_code == 404


def test_expired_link_is_refused(world, fieldwork, client):
    c, inv, token = fieldwork
    Invitation.objects.filter(pk=inv.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    resp = client.post(reverse("surveys:respond", args=[token]), {})
    assert resp.status_code == 410 and b'data-code="link_expired"' in resp.content
    assert not Response.objects.filter(invitation=inv).exists()


def test_link_state_rules():
    now = timezone.now()
    later, earlier = now + dt.timedelta(days=1), now - dt.timedelta(seconds=1)
    assert rules.link_state(expires_at=later, responded_at=None, now=now) == "valid"
    assert rules.link_state(expires_at=earlier, responded_at=None, now=now) == "expired"
    assert rules.link_state(expires_at=now, responded_at=None, now=now) == "expired"
    assert rules.link_state(expires_at=later, responded_at=earlier, now=now) == "used"
    assert rules.link_state(expires_at=None, responded_at=None, now=now) == "expired"
    assert rules.link_state(expires_at=later, responded_at=None, now=now, open_for_answers=False) == "closed"


def test_every_answer_is_validated_and_nothing_is_stored_on_error(world, fieldwork, client):
    org, book = world
    c, inv, token = fieldwork
    url = reverse("surveys:respond", args=[token])
    form = _full_answers(book["q"])
    rating = book["q"].questions.filter(kind="rating_5").first()
    bad = {**form, f"q{rating.pk}": ["6"]}
    resp = client.post(url, bad)
    assert resp.status_code == 400
    assert not Response.objects.filter(invitation=inv).exists()
    missing = {k: v for k, v in form.items() if k != f"q{rating.pk}"}
    assert client.post(url, missing).status_code == 400
    single = book["q"].questions.get(kind="single")
    assert client.post(url, {**form, f"q{single.pk}": ["nope"]}).status_code == 400
    assert not Response.objects.filter(invitation=inv).exists()
    inv.refresh_from_db()
    assert inv.responded_at is None


def test_a_new_link_replaces_the_earlier_one(world, fieldwork, client):
    org, book = world
    c, inv, token = fieldwork
    _inv, fresh = services.invitation_link_issue(actor=org.manager, invitation_id=inv.pk)
    assert client.get(reverse("surveys:respond", args=[token])).status_code == 404
    assert client.get(reverse("surveys:respond", args=[fresh])).status_code == 200


# ---------------------------------------------------------------- agents and e-mail

def test_agent_enters_a_phone_answer_for_a_customer_in_scope(world, api_client):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"], channel="phone")
    inv = Invitation.objects.get(campaign=c, customer=book["huaxing"])
    assert inv.assigned_to_id == org.rep.pk  # the account manager interviews by default
    body = {"customer": book["huaxing"].pk, "channel": "phone", "answers": _full_answers(book["q"], score="2", nps="3")}
    # 陈静 (华北区) has no 华东区 customer in scope
    assert api_client.as_user(org.north_rep).post(f"/surveys/campaigns/{c.pk}/responses", body).status_code == 404
    # the finance role does not enter survey answers
    assert api_client.as_user(org.finance).post(f"/surveys/campaigns/{c.pk}/responses", body).status_code == 403
    todo = api_client.as_user(org.rep).get("/surveys/interviews").json()["items"]
    assert [i["customer"] for i in todo] == [book["huaxing"].pk]
    resp = api_client.as_user(org.rep).post(f"/surveys/campaigns/{c.pk}/responses", body)
    assert resp.status_code == 201, resp.content
    r = Response.objects.get(pk=resp.json()["id"])
    assert r.channel == "phone" and r.entered_by_id == org.rep.pk
    again = api_client.as_user(org.rep).post(f"/surveys/campaigns/{c.pk}/responses", body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_answered"


def test_email_invitations_carry_the_link_and_reminders_send_a_fresh_one(world, client, django_capture_on_commit_callbacks):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "expectations", channel="email")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        c = walk_to(org.manager, c, "fieldwork", questionnaire=book["q"], channel="email")
    assert sorted(m.to[0] for m in mail.outbox) == ["lina@dongfang.example.cn", "wangqiang@huaxing.example.cn"]
    first = re.search(r"/s/([\w-]+)/", mail.outbox[0].body).group(1)
    assert client.get(reverse("surveys:respond", args=[first])).status_code == 200
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.invitations_remind(now=timezone.now() + dt.timedelta(days=8)) == 2
    assert len(mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert services.invitations_remind(now=timezone.now() + dt.timedelta(days=9)) == 0  # not again so soon
    assert Invitation.objects.filter(campaign=c, reminders=1).count() == 2


# ---------------------------------------------------------------- questionnaires

def test_questionnaire_is_approved_through_the_chain_and_editing_it_makes_a_new_version(world):
    org, book = world
    q = book["q"]
    assert q.status == QuestionnaireStatus.APPROVED and q.approved_at is not None
    kinds = set(q.questions.values_list("kind", flat=True))
    assert {"rating_5", "rating_10", "nps", "single", "multiple", "matrix", "text"} <= kinds
    added = services.question_add(actor=org.manager, questionnaire_id=q.pk, data={
        "dimension": "aftersale", "kind": "visit_attitude", "text": "售后人员的服务态度"})
    assert added.questionnaire_id != q.pk
    v2 = added.questionnaire
    assert v2.version == q.version + 1 and v2.based_on_id == q.pk and v2.status == QuestionnaireStatus.DRAFT
    assert v2.questions.count() == q.questions.count() + 1
    assert Question.objects.filter(questionnaire=q).count() == q.questions.count()  # the approved one is untouched
    services.questionnaire_submit(actor=org.manager, questionnaire_id=v2.pk)
    with pytest.raises(Conflict) as exc:
        services.question_add(actor=org.manager, questionnaire_id=v2.pk, data={"kind": "text", "text": "其他"})
    assert exc.value.code == "questionnaire_in_review"


def test_question_definitions_are_validated(world):
    org, book = world
    draft = services.questionnaire_create(actor=org.manager, title="选择题校验")
    for data in ({"kind": "single", "text": "只有一个选项", "options": [{"value": "a", "label": "甲"}]},
                 {"kind": "nonsense", "text": "未知题型"}, {"kind": "rating_5", "text": ""}):
        with pytest.raises(Invalid):
            services.question_add(actor=org.manager, questionnaire_id=draft.pk, data=data)


def test_only_survey_managers_define_questionnaires_and_plan_surveys(world):
    org, book = world
    for user in (org.rep, org.agent, org.finance):
        with pytest.raises(Forbidden):
            services.campaign_create(actor=user, name="x", plan="y")
        with pytest.raises(Forbidden):
            services.questionnaire_create(actor=user, title="x")


# ---------------------------------------------------------------- API and pages

def test_api_a_user_outside_the_scope_is_refused(world, api_client):
    """The 华东区 manager's survey is not found for the 华北区 manager, forbidden to an account manager,
    401 to nobody."""
    org, book = world
    c = walk_to(org.manager, _campaign(org), "targeting")
    path = f"/surveys/campaigns/{c.pk}"
    assert api_client.as_user(org.manager).get(path).status_code == 200
    assert api_client.as_user(org.executive).get(path).status_code == 200
    assert api_client.as_user(org.north_manager).get(path).status_code == 404
    assert api_client.as_user(org.north_manager).get(path + "/invitations").status_code == 404
    assert api_client.as_user(org.rep).get(path).status_code == 403
    assert api_client.as_user(None).get(path).status_code == 401
    inv = c.invitations.first()
    resp = api_client.as_user(org.north_manager).post(f"/surveys/invitations/{inv.pk}/link")
    assert resp.status_code == 404
    resp = api_client.as_user(org.north_manager).post(path + "/advance", {"to": "expectations", "note": "x"})
    assert resp.status_code == 404


def test_api_advance_refuses_a_skip_with_its_code(world, api_client):
    org, book = world
    c = _campaign(org)
    resp = api_client.as_user(org.manager).post(f"/surveys/campaigns/{c.pk}/advance", {"to": "fieldwork"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "survey_step_skipped"
    resp = api_client.as_user(org.manager).post(f"/surveys/campaigns/{c.pk}/advance", {
        "to": "targeting", "segment": {"industries": ["石化"]}, "channel": "link"})
    assert resp.status_code == 200 and resp.json()["stage"] == "targeting"
    assert resp.json()["rates"]["invited"] == 1


def test_campaign_list_shows_the_response_rate_in_bounded_queries(world, api_client, django_assert_max_num_queries):
    org, book = world
    for i in range(3):
        walk_to(org.manager, _campaign(org, f"调查{i}"), "targeting")
    api = api_client.as_user(org.manager)
    api.get("/surveys/campaigns")
    with django_assert_max_num_queries(8):
        items = api.get("/surveys/campaigns").json()["items"]
    assert len(items) >= 3 and all(it["invited"] == 2 for it in items)


def test_pages_answer_by_permission_and_scope(world, client):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"])
    client.force_login(org.manager)
    for url in (reverse("surveys:list"), reverse("surveys:campaign", args=[c.pk]), reverse("surveys:questionnaires"),
                reverse("surveys:questionnaire", args=[book["q"].pk])):
        assert client.get(url).status_code == 200, url
    client.force_login(org.north_manager)
    assert client.get(reverse("surveys:campaign", args=[c.pk])).status_code == 404
    client.force_login(org.rep)
    assert client.get(reverse("surveys:list")).status_code == 302  # to the interviews
    assert client.get(reverse("surveys:interviews")).status_code == 200
    assert client.get(reverse("surveys:campaign", args=[c.pk])).status_code == 403
    client.force_login(org.finance)
    assert client.get(reverse("surveys:list")).status_code == 403


def test_manager_plans_a_survey_and_issues_a_link_on_the_page(world, client):
    org, book = world
    client.force_login(org.manager)
    resp = client.post(reverse("surveys:list"), {"name": "页面创建的调查", "plan": "年度调查计划"})
    assert resp.status_code == 302
    c = walk_to(org.manager, Campaign.objects.get(name="页面创建的调查"),
                "fieldwork", questionnaire=book["q"])
    inv = c.invitations.get(customer=book["huaxing"])
    page = client.post(reverse("surveys:campaign", args=[c.pk]), {"action": "link", "invitation": inv.pk})
    assert page.status_code == 200
    token = re.search(rb"/s/([\w-]+)/", page.content).group(1).decode()
    inv.refresh_from_db()
    assert inv.token_hash == services.token_hash(token)


def test_workbench_shows_my_next_survey_step_and_my_interviews(world):
    from kehu.surveys.workbench import survey_todos

    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"], channel="phone")
    now = timezone.now()
    mine = survey_todos(org.manager, today=timezone.localdate(), now=now, limit=10)
    assert any(t.kind == "survey_step" and str(c.pk) in t.url for t in mine)
    reps = survey_todos(org.rep, today=timezone.localdate(), now=now, limit=10)
    assert [t.kind for t in reps] == ["survey_interview"]
    with pytest.raises(NotFound):
        services.response_enter(actor=org.rep2, campaign_id=c.pk, customer_id=book["huaxing"].pk, channel="phone",
                                form={})


def test_a_questionnaire_returned_for_changes_goes_round_again_after_editing(world):
    from kehu.approvals.models import TaskStatus
    from kehu.approvals.services import approval_decide

    org, book = world
    draft = services.questionnaire_create(actor=org.manager, title="新产品试用满意度", questions=[
        {"dimension": "product_function", "kind": "rating_5", "text": "新牌号的加工性能"}])
    req = services.questionnaire_submit(actor=org.manager, questionnaire_id=draft.pk)
    task = req.tasks.get(status=TaskStatus.PENDING)
    approval_decide(actor=task.assignee, request_id=req.pk, decision="return", comment="请增加推荐意愿题")
    draft.refresh_from_db()
    assert draft.status == QuestionnaireStatus.DRAFT
    services.question_add(actor=org.manager, questionnaire_id=draft.pk, data={
        "dimension": "overall", "kind": "nps", "text": "您向同行推荐新牌号的可能性"})
    again = services.questionnaire_submit(actor=org.manager, questionnaire_id=draft.pk)
    assert again.pk == req.pk and again.round == 2
    approve_all(again)
    draft.refresh_from_db()
    assert draft.status == QuestionnaireStatus.APPROVED and draft.questions.count() == 2


def test_the_customers_answered_survey_shows_in_its_360_thread(world, fieldwork, client):
    from kehu.surveys.thread import survey_thread

    org, book = world
    c, inv, token = fieldwork
    client.post(reverse("surveys:respond", args=[token]), _full_answers(book["q"], nps="3"))
    items = survey_thread(org.manager, book["huaxing"].pk, None, 10)
    assert [i.title for i in items] == [c.name] and items[0].alert  # a detractor stands out
    assert survey_thread(org.north_manager, book["huaxing"].pk, None, 10) == []
    assert survey_thread(org.finance, book["huaxing"].pk, None, 10) == []


def test_agent_entry_form_validates_and_saves_on_the_page(world, client):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"], channel="face")
    url = reverse("surveys:enter", args=[c.pk, book["dongfang"].pk])
    client.force_login(org.agent)
    assert client.get(url).status_code == 200
    assert client.post(url, {"channel": "face"}).status_code == 400
    assert not Response.objects.filter(campaign=c).exists()
    resp = client.post(url, {"channel": "face", **_full_answers(book["q"], score="3", nps="6")})
    assert resp.status_code == 302
    r = Response.objects.get(campaign=c, customer=book["dongfang"])
    assert r.channel == "face" and r.entered_by_id == org.agent.pk
    client.force_login(org.north_rep)
    assert client.get(url).status_code == 404


def test_the_links_not_given_out_download_once_as_csv(world, client):
    org, book = world
    c = walk_to(org.manager, _campaign(org), "fieldwork", questionnaire=book["q"])
    given = c.invitations.get(customer=book["huaxing"])
    _inv, kept = services.invitation_link_issue(actor=org.manager, invitation_id=given.pk)
    client.force_login(org.manager)
    url = reverse("surveys:links_export", args=[c.pk])
    assert client.get(url).status_code == 405
    csv_text = client.post(url).content.decode("utf-8-sig")
    assert "上海东方贸易有限公司" in csv_text and "浙江华星石化有限公司" not in csv_text  # the one given out stays
    token = re.search(r"/s/([\w-]+)/", csv_text).group(1)
    assert client.get(reverse("surveys:respond", args=[token])).status_code == 200
    assert client.get(reverse("surveys:respond", args=[kept])).status_code == 200
    assert "/s/" not in client.post(url).content.decode("utf-8-sig")  # issued once: nothing left to give out
    client.force_login(org.north_manager)
    assert client.post(url).status_code == 404
