"""Fixtures of the inspection tests: customers of two regions, a checklist, a plan."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.customers.tests.factories import org_customer
from kehu.service_desk.inspections import services

ITEMS = ["设备运行状态", "系统稳定性", "安全隐患", "备件库存", "操作人员培训"]


@pytest.fixture
def east_customer(org):
    return org_customer(org.rep, "杭州华星化工有限公司")


@pytest.fixture
def north_customer(org):
    return org_customer(org.north_rep, "天津滨海机械制造有限公司", city="天津市", province="天津市")


@pytest.fixture
def checklist(org):
    return services.checklist_create(actor=org.admin, data={"name": "设备巡检", "items": ITEMS})


@pytest.fixture
def plan(org, east_customer, checklist):
    """A key customer of 张伟 (华东区), inspected by 张伟 himself, next inspection in 5 days."""
    return services.plan_create(actor=org.manager, data={
        "customer": east_customer.pk, "checklist": checklist.pk, "importance": "key", "inspector": org.rep.pk,
        "next_due": timezone.localdate() + dt.timedelta(days=5)})


@pytest.fixture
def visit(plan):
    from kehu.service_desk.inspections.models import InspectionVisit

    services.visits_generate()
    return InspectionVisit.objects.get(plan=plan)


def answers(checklist, *, answer="ok", skip=0, note=""):
    return [{"item": i.pk, "answer": answer, "note": note} for i in checklist.items.order_by("position")[skip:]]
