"""The complaint pages through Django's test client: board, list, record, the steps of the procedure,
the public form and tracking page, and the complaints section of the customer's 360° page."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from kehu.service_desk import services, workflow
from kehu.service_desk.models import Complaint

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


def record(actor, **kw):
    data = {"complainant_name": "王先生", "complainant_phone": PHONE, "channel": "phone",
            "subject": "发货延迟", "description": "订单已延迟五天未发货。"}
    data.update(kw)
    return services.complaint_record(actor=actor, data=data)


def logged_in(client, user):
    client.force_login(user)
    return client


def set_due(c, delta: dt.timedelta, breached=False):
    now = timezone.now()
    Complaint.objects.filter(pk=c.pk).update(due_at=now + delta, breached_at=now if breached else None,
                                             escalation_level=1 if breached else 0)


def card_tone(html: str, tracking_no: str) -> str:
    card = re.search(rf'data-tracking="{tracking_no}".*?data-tone="(\w+)"', html, re.S)
    assert card, f"no card for {tracking_no}"
    return card.group(1)


def post_step(client, c, action, **data):
    c.refresh_from_db()
    return client.post(f"/complaints/{c.pk}/act/", {"action": action, "expected_version": c.version, **data})


# ---------------------------------------------------------------- board and list

def test_board_shows_a_column_per_open_state_and_colours_due_dates_by_time_left(org, client):
    """Red: breached or under 2 h left; orange: under 24 h; green otherwise."""
    breached, soon, today, later = (record(org.agent, subject=s) for s in ("已逾期", "两小时内", "今天", "下周"))
    set_due(breached, dt.timedelta(hours=5), breached=True)
    set_due(soon, dt.timedelta(minutes=90))
    set_due(today, dt.timedelta(hours=10))
    set_due(later, dt.timedelta(days=3))
    html = logged_in(client, org.agent).get("/complaints/").content.decode()
    for state in workflow.OPEN_STATES:
        assert f'data-testid="column-{state}"' in html
    assert 'data-testid="column-closed"' not in html
    assert card_tone(html, breached.tracking_no) == "red"
    assert card_tone(html, soon.tracking_no) == "red"
    assert card_tone(html, today.tracking_no) == "orange"
    assert card_tone(html, later.tracking_no) == "green"
    assert 'data-testid="escalated"' in html  # the breached one carries its escalation badge
    assert "周敏" in html  # the accountable person


def test_board_query_count_is_bounded(org, client, django_assert_max_num_queries):
    for i in range(5):
        record(org.agent, subject=f"投诉{i}")
    logged_in(client, org.agent).get("/complaints/")
    with django_assert_max_num_queries(16):
        assert client.get("/complaints/").status_code == 200


def test_a_rep_sees_only_own_complaints(org, client):
    mine = record(org.rep, subject="我的投诉")
    other = record(org.rep2, subject="同事的投诉")
    for path in ("/complaints/", "/complaints/list/"):
        html = logged_in(client, org.rep).get(path).content.decode()
        assert mine.tracking_no in html and other.tracking_no not in html


def test_list_filters_by_state_severity_and_breached(org, client):
    judged = record(org.agent, subject="已定性")
    services.complaint_act(actor=org.agent, complaint_id=judged.pk, action="judge", data={"severity": "major"})
    fresh = record(org.agent, subject="新投诉")
    set_due(fresh, dt.timedelta(hours=1), breached=True)
    logged_in(client, org.agent)
    html = client.get("/complaints/list/", {"state": "judged"}).content.decode()
    assert judged.tracking_no in html and fresh.tracking_no not in html
    html = client.get("/complaints/list/", {"severity": "major"}).content.decode()
    assert judged.tracking_no in html and fresh.tracking_no not in html
    html = client.get("/complaints/list/", {"breached": "yes"}).content.decode()
    assert fresh.tracking_no in html and judged.tracking_no not in html
    fragment = client.get("/complaints/list/", {"breached": "no"}, HTTP_HX_REQUEST="true").content.decode()
    assert judged.tracking_no in fragment and "<html" not in fragment


def test_list_pages_with_a_cursor(org, client, monkeypatch):
    from kehu.service_desk import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = [record(org.agent, subject=f"投诉{i}") for i in range(3)]
    logged_in(client, org.agent)
    first = client.get("/complaints/list/").content.decode()
    cursor = re.search(r'href="\?cursor=([^"]+)"', first).group(1)
    second = client.get(f"/complaints/list/?cursor={cursor}").content.decode()
    shown = [c.tracking_no for c in made if c.tracking_no in first] + [
        c.tracking_no for c in made if c.tracking_no in second]
    assert sorted(shown) == sorted(c.tracking_no for c in made)


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    for path in ("/complaints/", "/complaints/list/", "/complaints/new/", "/complaints/1/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_role_without_complaint_handling_is_refused(org, client):
    assert logged_in(client, org.finance).get("/complaints/").status_code == 403


# ---------------------------------------------------------------- record and detail

def test_record_form_makes_the_agent_accountable(org, client):
    response = logged_in(client, org.agent).post("/complaints/new/", {
        "complainant_name": "李女士", "complainant_phone": "13912345678", "channel": "letter",
        "subject": "产品质量问题", "description": "收到的货物有破损。"})
    c = Complaint.objects.get(subject="产品质量问题")
    assert response.status_code == 302 and response["Location"] == f"/complaints/{c.pk}/"
    assert c.accountable == org.agent and c.channel == "letter"


def test_record_form_from_the_360_page_links_the_customer(org, client):
    from kehu.customers.services import customer_create

    customer = customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"})
    logged_in(client, org.rep)
    assert "浙江华星石化有限公司" in client.get(f"/complaints/new/?customer={customer.pk}").content.decode()
    client.post("/complaints/new/", {"customer": customer.pk, "complainant_name": "王强", "channel": "phone",
                                     "subject": "交期延误", "description": "交期延误两周。"})
    assert Complaint.objects.get(subject="交期延误").customer == customer


def test_record_form_shows_an_invalid_phone_on_the_field(org, client):
    response = logged_in(client, org.agent).post("/complaints/new/", {
        "complainant_name": "李女士", "complainant_phone": "123", "channel": "phone",
        "subject": "产品质量问题", "description": "破损。"})
    assert response.status_code == 422 and "is-invalid" in response.content.decode()
    assert not Complaint.objects.exists()


def test_detail_shows_the_fields_with_the_phone_masked_and_the_history(org, client):
    c = record(org.agent)
    html = logged_in(client, org.agent).get(f"/complaints/{c.pk}/").content.decode()
    assert c.tracking_no in html and "138****8000" in html and PHONE not in html
    assert 'data-testid="step-form-judge"' in html and 'data-testid="complaint-history"' in html


def test_a_complaint_outside_the_scope_is_not_found(org, client):
    c = record(org.rep2)
    logged_in(client, org.rep)
    assert client.get(f"/complaints/{c.pk}/").status_code == 404
    assert post_step(client, c, "judge", severity="general").status_code == 404


# ---------------------------------------------------------------- the steps

def test_each_step_form_moves_the_complaint_to_closure(org, client, monkeypatch):
    """judge → investigate → assign → propose → (approval) → answer → return visit → evaluate → close."""
    monkeypatch.setattr(services, "_ask_approval", lambda *a, **k: None)
    c = record(org.agent)
    logged_in(client, org.agent)
    steps = [("judge", {"severity": "general", "category": "物流"}, workflow.JUDGED),
             ("investigate", {"cause": "仓库漏发"}, workflow.INVESTIGATING),
             ("assign", {"responsible": org.rep.pk}, workflow.ASSIGNED),
             ("propose", {"solution": "补发并赔偿运费"}, workflow.SOLUTION_PROPOSED)]
    for action, data, state in steps:
        response = post_step(client, c, action, **data)
        assert response.status_code == 302, response.content.decode()[:2000]
        c.refresh_from_db()
        assert c.state == state
    html = client.get(f"/complaints/{c.pk}/").content.decode()
    assert 'data-testid="awaiting-approval"' in html and 'data-testid="next-step"' not in html

    request = type("R", (), {"object_id": c.pk, "chain": type("C", (), {"code": "complaint.solution.general"})})
    services.on_approval_outcome(request, "approved")
    for action, data, state in [("answer", {"reply": "已补发，运费已退。"}, workflow.ANSWERED),
                                ("return_visit", {"return_visit_note": "客户表示满意", "satisfied": "true"},
                                 workflow.RETURN_VISITED),
                                ("evaluate", {"evaluation": "仓库复核流程已改进"}, workflow.EVALUATED),
                                ("close", {}, workflow.CLOSED)]:
        assert post_step(client, c, action, **data).status_code == 302
        c.refresh_from_db()
        assert c.state == state
    assert c.satisfied is True and c.category == "物流" and c.responsible == org.rep


def test_a_step_missing_what_it_needs_stays_with_its_errors(org, client):
    c = record(org.agent)
    response = post_step(logged_in(client, org.agent), c, "judge", severity="")
    assert response.status_code == 400 and "is-invalid" in response.content.decode()
    c.refresh_from_db()
    assert c.state == workflow.RECORDED


def test_serious_solution_is_decided_in_the_managers_meeting_not_by_minutes_typed_at_proposal(org, client):
    c = record(org.agent)
    logged_in(client, org.agent)
    post_step(client, c, "judge", severity="serious")
    post_step(client, c, "investigate", cause="批次质量问题")
    post_step(client, c, "assign", responsible=org.rep.pk)
    page = client.get(f"/complaints/{c.pk}/").content.decode()
    assert 'name="meeting_minutes"' not in page
    assert post_step(client, c, "propose", solution="召回整批").status_code == 302
    from kehu.approvals.models import ApprovalRequest

    req = ApprovalRequest.objects.get(object_id=str(c.pk))
    assert req.chain.code == "complaint.solution.serious"
    assert req.chain.steps.get(order=1).kind == "meeting"


def test_an_illegal_step_is_a_409_shown_as_an_alert(org, client):
    c = record(org.agent)
    response = post_step(logged_in(client, org.agent), c, "answer", reply="已处理")
    assert response.status_code == 409
    assert 'data-testid="conflict"' in response.content.decode()
    c.refresh_from_db()
    assert c.state == workflow.RECORDED and c.reply == ""


def test_a_step_on_a_stale_version_is_a_409(org, client):
    """Two agents saw version 0: the second one's judgement is refused and the page is fresh."""
    c = record(org.agent)
    services.complaint_act(actor=org.executive, complaint_id=c.pk, action="judge", data={"severity": "major"})
    response = logged_in(client, org.agent).post(f"/complaints/{c.pk}/act/", {
        "action": "judge", "expected_version": 0, "severity": "general"})
    assert response.status_code == 409 and 'data-testid="conflict"' in response.content.decode()
    c.refresh_from_db()
    assert c.severity == "major"


def test_reassign_by_a_manager_and_refused_to_an_agent(org, client):
    c = record(org.rep)
    response = logged_in(client, org.manager).post(f"/complaints/{c.pk}/reassign/",
                                                   {"user": org.rep2.pk, "reason": "张伟休假"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.accountable == org.rep2
    html = logged_in(client, org.agent).get(f"/complaints/{c.pk}/").content.decode()
    assert 'data-testid="reassign-form"' not in html


def test_extension_offers_only_new_due_dates_up_to_the_policy_maximum(org, client):
    c = record(org.agent)
    response = logged_in(client, org.agent).post(f"/complaints/{c.pk}/extension/", {"days": 9, "reason": "需检测"})
    assert response.status_code == 400
    html = logged_in(client, org.agent).get(f"/complaints/{c.pk}/").content.decode()
    assert 'value="7"' in html and 'value="8"' not in html  # the policy's maximum (7 working days)


# ---------------------------------------------------------------- public pages

PUBLIC = {"complainant_name": "陈先生", "complainant_phone": "13700137000", "company": "杭州某公司",
          "subject": "客服电话打不通", "description": "连续三天拨打客服电话无人接听。", "website": ""}


def test_public_form_files_a_complaint_and_shows_the_tracking_number(org, client):
    assert client.get("/complaints/public/").status_code == 200
    response = client.post("/complaints/public/", PUBLIC, REMOTE_ADDR="203.0.113.9")
    c = Complaint.objects.get()
    html = response.content.decode()
    assert response.status_code == 200 and c.tracking_no in html
    assert f"/complaints/track/?no={c.tracking_no}" in html
    assert c.accountable == org.agent and c.channel == "online_form"


def test_public_form_refuses_a_filled_honeypot(org, client):
    response = client.post("/complaints/public/", {**PUBLIC, "website": "http://spam.example"})
    assert response.status_code == 422 and not Complaint.objects.exists()


def test_tracking_shows_the_state_and_the_reply_only_with_the_right_phone(org, client):
    c = services.complaint_public_submit(data=dict(PUBLIC), ip="203.0.113.10")
    html = client.post("/complaints/track/", {"tracking_no": c.tracking_no, "phone": "13700137000"}).content.decode()
    assert 'data-testid="track-state"' in html and c.get_state_display() in html
    assert 'data-testid="track-reply"' not in html
    response = client.post("/complaints/track/", {"tracking_no": c.tracking_no, "phone": "13700137001"})
    assert response.status_code == 404 and 'data-testid="track-not-found"' in response.content.decode()
    assert client.post("/complaints/track/", {"tracking_no": "TS00000000-XXXXXX",
                                              "phone": "13700137000"}).status_code == 404


# ---------------------------------------------------------------- the customer's 360° page

def test_customer_360_page_lists_its_complaints(org, client):
    from kehu.customers.services import customer_create

    customer = customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"})
    c = record(org.rep, customer=customer.pk, subject="交期延误")
    html = logged_in(client, org.rep).get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="customer-complaints"' in html and c.tracking_no in html
    assert f"/complaints/new/?customer={customer.pk}" in html


def test_nav_shows_complaints_to_handlers_only(org, client):
    assert 'data-testid="nav-complaints"' in logged_in(client, org.agent).get("/").content.decode()
    assert 'data-testid="nav-complaints"' not in logged_in(client, org.finance).get("/").content.decode()
