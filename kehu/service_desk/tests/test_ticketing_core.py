"""One SLA-ticket core for complaints and service requests (issue 8): one event model, one way a step
is written and shown (people's names, not login names), one SLA-clock module both sweeps use."""

import pytest

from kehu.customers.tests.factories import org_customer
from kehu.service_desk import services as complaint_services
from kehu.service_desk import sla
from kehu.service_desk.models import ComplaintEvent
from kehu.service_desk.ticketing import SlaEvent
from kehu.service_desk.tickets import services as ticket_services
from kehu.service_desk.tickets.models import ServiceTicket, TicketEvent

pytestmark = pytest.mark.django_db


def _complaint(actor):
    return complaint_services.complaint_record(actor=actor, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。"})


def _ticket(actor, customer):
    return ticket_services.ticket_record(actor=actor, data={
        "customer": customer.pk, "kind": "repair", "channel": "phone", "subject": "空压机异响",
        "description": "二号车间空压机运行时异响。", "contact_name": "王工"})


def test_complaint_and_service_request_histories_share_one_event_model():
    assert issubclass(ComplaintEvent, SlaEvent) and issubclass(TicketEvent, SlaEvent)
    shared = {f.name for f in SlaEvent._meta.get_fields()}
    assert shared <= {f.name for f in ComplaintEvent._meta.get_fields()}
    assert shared <= {f.name for f in TicketEvent._meta.get_fields()}


def test_timelines_show_peoples_names_not_login_names(org, client):
    c = _complaint(org.agent)
    t = _ticket(org.agent, org_customer(org.rep, "浙江华星石化有限公司", serial=1))
    assert c.events.get().actor_name == "周敏" and t.events.get().actor_name == "周敏"
    client.force_login(org.agent)
    for url in (f"/complaints/{c.pk}/", f"/service/{t.pk}/"):
        html = client.get(url).content.decode()
        assert '<span data-testid="event-actor">周敏</span>' in html, url
        assert '<span data-testid="event-actor">agent</span>' not in html


def test_old_events_written_with_a_login_name_show_the_persons_current_name(org, client):
    c = _complaint(org.agent)
    c.events.update(actor_name="agent")
    client.force_login(org.agent)
    assert '<span data-testid="event-actor">周敏</span>' in client.get(f"/complaints/{c.pk}/").content.decode()


def test_both_clocks_stop_when_the_customer_is_told(org):
    customer = org_customer(org.rep, "浙江华星石化有限公司", serial=1)
    t = _ticket(org.agent, customer)
    for action, data in (("accept", {}), ("start", {}), ("resolve", {"resolution": "已更换轴承"})):
        t = ticket_services.ticket_act(actor=org.agent, ticket_id=t.pk, action=action, data=data)
    assert sla.ticket_on_clock(t)
    assert ServiceTicket.objects.filter(sla.ticket_clock_q(), pk=t.pk).exists()
    t = ticket_services.ticket_act(actor=org.agent, ticket_id=t.pk, action="inform",
                                   data={"informed_via": "phone", "informed_note": "电话告知已修复"})
    assert not sla.ticket_on_clock(t)
    assert not ServiceTicket.objects.filter(sla.ticket_clock_q(), pk=t.pk).exists()
