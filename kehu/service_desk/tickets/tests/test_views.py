"""The service-request pages through Django's test client: board coloured by time left, list,
record form (with the emergency option), detail with step forms, assign and the on-duty roster."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from kehu.notifications.models import Notification
from kehu.service_desk.tickets.models import OnDutyRoster, ServiceTicket
from kehu.service_desk.tickets.tests.helpers import customers, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def cust(org):
    return customers(org)


def logged_in(client, user):
    client.force_login(user)
    return client


def set_due(t, delta: dt.timedelta, breached=False):
    now = timezone.now()
    ServiceTicket.objects.filter(pk=t.pk).update(due_at=now + delta, breached_at=now if breached else None,
                                                 escalation_level=1 if breached else 0)


def card_tone(html: str, number: str) -> str:
    card = re.search(rf'data-number="{number}".*?data-tone="(\w+)"', html, re.S)
    assert card, f"no card for {number}"
    return card.group(1)


def post_step(client, t, action, **data):
    t.refresh_from_db()
    return client.post(f"/service/{t.pk}/act/", {"action": action, "expected_version": t.version, **data})


def test_board_has_a_column_per_active_state_coloured_by_time_left(org, cust, client):
    breached, soon, today, later = (record(org.agent, cust["huaxing"], subject=s) for s in ("逾期", "两小时内", "今天", "下周"))
    set_due(breached, dt.timedelta(hours=5), breached=True)
    set_due(soon, dt.timedelta(minutes=90))
    set_due(today, dt.timedelta(hours=10))
    set_due(later, dt.timedelta(days=3))
    emergency = record(org.agent, cust["huaxing"], kind="emergency", subject="机房断电")
    html = logged_in(client, org.agent).get("/service/").content.decode()
    for state in ("open", "accepted", "in_progress", "resolved"):
        assert f'data-testid="column-{state}"' in html
    assert 'data-testid="column-closed"' not in html
    assert card_tone(html, breached.number) == "red"
    assert card_tone(html, soon.number) == "red"
    assert card_tone(html, today.number) == "orange"
    assert card_tone(html, later.number) == "green"
    assert card_tone(html, emergency.number) == "orange"  # two hours to the first response
    assert html.index(emergency.number) < html.index(breached.number)  # emergencies first
    assert 'data-testid="emergency-banner"' in html and 'data-testid="escalated"' in html
    only = logged_in(client, org.agent).get("/service/?kind=emergency").content.decode()
    assert emergency.number in only and later.number not in only


def test_board_and_list_query_counts_are_bounded(org, cust, client, django_assert_max_num_queries):
    for i in range(6):
        record(org.agent, cust["huaxing"], subject=f"报修{i}", kind=["repair", "consultation", "emergency"][i % 3])
    c = logged_in(client, org.manager)
    c.get("/service/")
    with django_assert_max_num_queries(14):
        assert c.get("/service/").status_code == 200
    with django_assert_max_num_queries(10):
        assert c.get("/service/list/").status_code == 200
    tid = ServiceTicket.objects.first().pk
    with django_assert_max_num_queries(14):
        assert c.get(f"/service/{tid}/").status_code == 200


def test_list_filters_and_scope(org, cust, client):
    a = record(org.agent, cust["huaxing"], kind="consultation", subject="系统登录咨询")
    b = record(org.agent, cust["dongfang"], kind="repair", subject="空调报修")
    html = logged_in(client, org.rep).get("/service/list/").content.decode()
    assert a.number in html and b.number not in html  # a rep sees their own customers' requests
    html = logged_in(client, org.agent).get("/service/list/?kind=repair").content.decode()
    assert b.number in html and a.number not in html
    html = logged_in(client, org.agent).get(f"/service/list/?customer={cust['dongfang'].pk}").content.decode()
    assert b.number in html and a.number not in html and f'value="{cust["dongfang"].pk}"' in html
    r = logged_in(client, org.agent).get("/service/list/?state=closed", HTTP_HX_REQUEST="true")
    assert 'data-testid="empty-state"' in r.content.decode() and "<html" not in r.content.decode()


def test_anonymous_is_sent_to_login_and_roles_without_the_permission_are_refused(org, cust, client):
    t = record(org.rep, cust["huaxing"])
    for path in ("/service/", "/service/list/", "/service/new/", f"/service/{t.pk}/", "/service/on-duty/"):
        r = client.get(path)
        assert r.status_code == 302 and "/login/" in r["Location"], path
    c = logged_in(client, org.finance)
    for path in ("/service/", "/service/list/", "/service/new/", f"/service/{t.pk}/", "/service/on-duty/"):
        assert c.get(path).status_code == 403, path
    assert logged_in(client, org.rep2).get(f"/service/{t.pk}/").status_code == 404
    assert logged_in(client, org.rep2).post(f"/service/{t.pk}/act/", {"action": "accept"}).status_code == 404


def test_record_form_with_the_customer_preset_and_the_emergency_option(org, cust, client):
    c = logged_in(client, org.agent)
    html = c.get(f"/service/new/?customer={cust['huaxing'].pk}&kind=emergency").content.decode()
    assert "浙江华星石化有限公司" in html and 'data-testid="kind-emergency"' in html
    assert re.search(r'value="emergency"[^>]*checked', html)
    OnDutyRoster.objects.create(user=org.agent, start_date=dt.date(2020, 1, 1), end_date=dt.date(2099, 1, 1),
                                start_time=dt.time(0), end_time=dt.time(0))
    r = c.post("/service/new/", {"customer": cust["huaxing"].pk, "kind": "emergency", "channel": "phone",
                                 "priority": "normal", "subject": "生产线停机", "description": "主控系统宕机"})
    t = ServiceTicket.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/service/{t.pk}/"
    assert t.kind == "emergency" and t.priority == "urgent" and t.accountable == org.agent
    r = c.post("/service/new/", {"kind": "repair", "channel": "phone", "priority": "normal", "subject": "x",
                                 "description": "y"})
    assert r.status_code == 400 and ServiceTicket.objects.count() == 1


def test_customer_search_offers_customers_in_scope_only(org, cust, client):
    html = logged_in(client, org.rep).get("/service/new/customers/", {"customer_q": "燕山"}).content.decode()
    assert "北京燕山机械" not in html
    html = logged_in(client, org.agent).get("/service/new/customers/", {"customer_q": "燕山"}).content.decode()
    assert "北京燕山机械" in html and 'data-testid="customer-choice"' in html


def test_each_step_form_moves_an_emergency_to_closure_after_the_customer_is_told(org, cust, client):
    t = record(org.agent, cust["huaxing"], kind="emergency", subject="机房断电")
    c = logged_in(client, org.agent)
    html = c.get(f"/service/{t.pk}/").content.decode()
    assert 'data-testid="emergency-alert"' in html and 'data-testid="step-form-accept"' in html
    assert post_step(c, t, "accept").status_code == 302
    assert post_step(c, t, "start").status_code == 302
    r = post_step(c, t, "resolve")
    assert r.status_code == 400 and 'data-testid="step-form-resolve"' in r.content.decode()
    assert post_step(c, t, "resolve", resolution="启用备用电源").status_code == 302
    html = c.get(f"/service/{t.pk}/").content.decode()
    assert html.index('step-form-inform') < html.index('step-form-close')  # telling the customer comes first
    r = post_step(c, t, "close", confirmation="客户确认")
    assert r.status_code == 409 and 'data-testid="conflict"' in r.content.decode()
    assert post_step(c, t, "inform", informed_via="phone", informed_note="电话告知已恢复").status_code == 302
    assert post_step(c, t, "close", confirmation="客户确认生产恢复").status_code == 302
    t.refresh_from_db()
    assert t.state == "closed" and t.customer_informed_via == "phone"
    html = c.get(f"/service/{t.pk}/").content.decode()
    assert 'data-testid="next-step"' not in html and 'data-action="close"' in html


def test_a_step_on_a_stale_version_is_a_409(org, cust, client):
    t = record(org.agent, cust["huaxing"])
    r = logged_in(client, org.agent).post(f"/service/{t.pk}/act/", {"action": "accept", "expected_version": 7})
    assert r.status_code == 409


def test_assign_from_the_detail_page(org, cust, client, django_capture_on_commit_callbacks):
    t = record(org.agent, cust["huaxing"])
    c = logged_in(client, org.agent)
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(f"/service/{t.pk}/assign/", {"user": org.rep.pk, "expected_version": 0})
    assert r.status_code == 302
    assert ServiceTicket.objects.get(pk=t.pk).assignee == org.rep
    assert Notification.objects.filter(user=org.rep).exists()
    assert c.post(f"/service/{t.pk}/assign/", {"user": org.rep.pk, "expected_version": 0}).status_code == 409


def test_on_duty_roster_page_add_list_and_remove(org, client):
    c = logged_in(client, org.manager)
    html = c.get("/service/on-duty/").content.decode()
    assert 'data-testid="duty-form"' in html and 'data-testid="empty-state"' in html
    today = timezone.localdate()
    r = c.post("/service/on-duty/", {"user": org.rep.pk, "department": org.depts["east"].pk,
                                     "start_date": today.isoformat(), "end_date": today.isoformat(),
                                     "start_time": "00:00", "end_time": "00:00", "note": "节假日值班"})
    assert r.status_code == 302, r.content.decode()[:2000]
    html = c.get("/service/on-duty/").content.decode()
    assert 'data-testid="on-now"' in html and "张伟" in html
    # for every department is beyond a manager's scope
    r = c.post("/service/on-duty/", {"user": org.rep.pk, "start_date": today.isoformat(),
                                     "end_date": today.isoformat(), "start_time": "08:00", "end_time": "18:00"})
    assert r.status_code == 422
    shift = OnDutyRoster.objects.get()
    agent = logged_in(client, org.agent)
    html = agent.get("/service/on-duty/").content.decode()
    assert 'data-testid="duty-form"' not in html and "张伟" in html  # agents see every shift
    assert agent.post(f"/service/on-duty/{shift.pk}/delete/").status_code == 403
    assert agent.post("/service/on-duty/", {"user": org.agent.pk}).status_code == 403
    assert logged_in(client, org.north_manager).post(f"/service/on-duty/{shift.pk}/delete/").status_code == 404
    assert logged_in(client, org.manager).post(f"/service/on-duty/{shift.pk}/delete/").status_code == 302
    assert not OnDutyRoster.objects.exists()
