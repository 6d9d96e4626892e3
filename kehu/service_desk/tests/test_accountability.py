"""谁受理、谁跟进、谁回复 (issue 8): only the accountable person (首问) or a manager above them in the
department line acts on a complaint (a service request: also its assignee); anyone else gets 403 with a
clear message. Reassignment keeps its reason; people are shown by name."""

import pytest

from kehu.access.services import user_create
from kehu.audit.models import AuditEntry
from kehu.customers.tests.factories import org_customer
from kehu.errors import Forbidden
from kehu.service_desk import services
from kehu.service_desk.tickets import services as ticket_services

pytestmark = pytest.mark.django_db
BODY = {"complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。"}


@pytest.fixture
def agent2(org):
    return user_create(actor=None, username="agent2", password="Kehu#Test2026", role="service_agent",
                       department=org.depts["service"], display_name="黄丽")


def test_only_the_accountable_person_may_act_another_agent_gets_403_with_a_clear_message(org, agent2, api_client):
    c = services.complaint_record(actor=org.agent, data=BODY)
    with pytest.raises(Forbidden) as exc:
        services.complaint_act(actor=agent2, complaint_id=c.pk, action="judge", data={"severity": "general"})
    assert exc.value.code == "not_accountable"
    r = api_client.as_user(agent2).post(f"/complaints/{c.pk}/actions", {"action": "judge", "severity": "general"})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "只有首问责任人或其上级主管可以处理此投诉"
    # the accountable person acts
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge", data={"severity": "general"})


def test_the_responsible_person_does_not_act_in_place_of_the_accountable_one(org):
    c = services.complaint_record(actor=org.agent, data=BODY)
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="judge", data={"severity": "general"})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="investigate", data={"cause": "仓库漏发"})
    services.complaint_act(actor=org.agent, complaint_id=c.pk, action="assign", data={"responsible": org.rep.pk})
    with pytest.raises(Forbidden):
        services.complaint_act(actor=org.rep, complaint_id=c.pk, action="propose", data={"solution": "补发"})


def test_a_manager_above_the_accountable_person_may_act(org, agent2):
    c = services.complaint_record(actor=org.rep, data=BODY)  # 华东区
    services.complaint_act(actor=org.manager, complaint_id=c.pk, action="judge", data={"severity": "general"})
    services.complaint_act(actor=org.executive, complaint_id=c.pk, action="investigate", data={"cause": "漏发"})
    # a service agent sees every complaint but is nobody's manager
    with pytest.raises(Forbidden):
        services.complaint_act(actor=org.agent, complaint_id=c.pk, action="assign", data={"responsible": org.rep.pk})
    with pytest.raises(Forbidden):
        services.complaint_request_extension(actor=agent2, complaint_id=c.pk, days=3, reason="需要调查")


def test_complaint_page_tells_others_who_may_act_and_refuses_their_step(org, agent2, client):
    c = services.complaint_record(actor=org.agent, data=BODY)
    client.force_login(agent2)
    html = client.get(f"/complaints/{c.pk}/").content.decode()
    assert 'data-testid="not-accountable"' in html and 'data-testid="next-step"' not in html
    assert "周敏" in html
    r = client.post(f"/complaints/{c.pk}/act/", {"action": "judge", "severity": "general", "expected_version": 0})
    assert r.status_code == 403
    client.force_login(org.agent)
    assert 'data-testid="next-step"' in client.get(f"/complaints/{c.pk}/").content.decode()


def test_reassignment_keeps_its_reason_with_peoples_names(org, agent2):
    c = services.complaint_record(actor=org.agent, data=BODY)
    services.complaint_reassign(actor=org.executive, complaint_id=c.pk, user_id=agent2.pk, reason="周敏休假")
    event = c.events.get(action="reassign")
    assert event.note == "周敏 → 黄丽: 周敏休假" and event.actor_name == "王总"
    assert AuditEntry.objects.get(action="complaint.reassign", object_id=str(c.pk)).changes["reason"] == "周敏休假"
    # the new accountable person acts; the former one no longer does
    services.complaint_act(actor=agent2, complaint_id=c.pk, action="judge", data={"severity": "general"})
    with pytest.raises(Forbidden):
        services.complaint_act(actor=org.agent, complaint_id=c.pk, action="investigate", data={"cause": "x"})


def test_only_the_accountable_person_the_assignee_or_a_manager_above_act_on_a_service_request(org, agent2, api_client):
    customer = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    t = ticket_services.ticket_record(actor=org.agent, data={
        "customer": customer.pk, "kind": "repair", "channel": "phone", "subject": "空压机异响",
        "description": "二号车间空压机异响。", "contact_name": "王工"})
    r = api_client.as_user(agent2).post(f"/service-requests/{t.pk}/actions", {"action": "accept"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_accountable"
    ticket_services.ticket_assign(actor=org.agent, ticket_id=t.pk, user_id=agent2.pk)
    ticket_services.ticket_act(actor=agent2, ticket_id=t.pk, action="accept")  # the assignee works it
    ticket_services.ticket_act(actor=org.executive, ticket_id=t.pk, action="start")


def test_whoever_is_on_duty_may_act_on_an_emergency_another_agent_may_not(org, agent2):
    import datetime as dt

    from django.utils import timezone

    customer = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    today = timezone.localdate()
    ticket_services.duty_create(actor=org.admin, data={
        "user": org.agent.pk, "department": None, "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "start_time": dt.time(0, 0), "end_time": dt.time(0, 0), "start_date": today - dt.timedelta(days=1),
        "end_date": today + dt.timedelta(days=1)})
    t = ticket_services.ticket_record(actor=org.rep, data={
        "customer": customer.pk, "kind": "emergency", "channel": "phone", "subject": "主控系统宕机",
        "description": "三条生产线全部停机。", "contact_name": "王工"})
    with pytest.raises(Forbidden):
        ticket_services.ticket_act(actor=agent2, ticket_id=t.pk, action="accept")
    t = ticket_services.ticket_act(actor=org.agent, ticket_id=t.pk, action="accept")
    assert t.assignee == org.agent
