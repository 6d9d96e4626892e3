"""Assigned-worker access (issue 8): the agent accountable for an open complaint or service request
is among those assigned to its customer (kehu.customers.assignments.assigned_q), while it is open."""

import pytest

from kehu.customers.assignments import assigned_q
from kehu.customers.models import Customer
from kehu.customers.tests.factories import org_customer
from kehu.service_desk import services
from kehu.service_desk.models import Complaint
from kehu.service_desk.tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def _assigned(user) -> set[int]:
    return set(Customer.objects.filter(assigned_q(user)).values_list("pk", flat=True))


def test_accountable_agent_of_an_open_complaint_is_assigned_to_its_customer(org):
    customer = org_customer(org.north_rep, "北京燕山机械有限公司", serial=3)
    c = services.complaint_record(actor=org.rep, data={
        "complainant_name": "王先生", "complainant_phone": "13800138000", "channel": "phone",
        "subject": "发货延迟", "description": "订单已延迟五天未发货。", "customer": None})
    Complaint.objects.filter(pk=c.pk).update(customer=customer)
    assert customer.pk in _assigned(org.rep)
    assert customer.pk not in _assigned(org.rep2)
    Complaint.objects.filter(pk=c.pk).update(state="closed")
    assert customer.pk not in _assigned(org.rep)  # only while the complaint is open


def test_accountable_and_assigned_agents_of_an_open_service_request_are_assigned_to_its_customer(org):
    customer = org_customer(org.north_rep, "北京燕山机械有限公司", serial=3)
    t = ticket_services.ticket_record(actor=org.agent, data={
        "customer": customer.pk, "kind": "repair", "channel": "phone", "subject": "空压机异响",
        "description": "二号车间空压机异响。", "contact_name": "王工"})
    ticket_services.ticket_assign(actor=org.agent, ticket_id=t.pk, user_id=org.rep.pk)
    assert customer.pk in _assigned(org.agent) and customer.pk in _assigned(org.rep)
    assert customer.pk not in _assigned(org.rep2)
    ticket_services.ticket_act(actor=org.agent, ticket_id=t.pk, action="cancel", data={"reason": "重复登记"})
    assert customer.pk not in _assigned(org.agent)
