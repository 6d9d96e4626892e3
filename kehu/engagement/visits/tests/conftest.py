"""Visit plans' fixtures: 张伟 (rep, 华东区) with three customers — 浙江华星 graded A (visit every 30 days: 12 a
year, a key account), 上海东方 ungraded (the default 4 a year), 杭州平常 graded C (no "visit every" in its
service policy: the settings' 4 for C) —, 刘洋 (rep2, 华东区) and 陈静 (north_rep, 华北区) one each."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.customers.tests.factories import contact, org_customer
from kehu.service_desk.tests.grading import grade, service

YEAR = 2026
START = dt.date(2026, 1, 1)


@pytest.fixture
def book(org):
    c = {"huaxing": org_customer(org.rep, "浙江华星石化有限公司", serial=1, address="杭州市滨江区江南大道88号"),
         "dongfang": org_customer(org.rep, "上海东方贸易有限公司", serial=2),
         "plain": org_customer(org.rep, "杭州平常化工有限公司", serial=3),
         "liu": org_customer(org.rep2, "宁波甬兴塑料有限公司", serial=4),
         "north": org_customer(org.north_rep, "北京燕山机械有限公司", serial=5)}
    service("A", visit_every_days=30, dedicated_manager=True, response_priority=1)
    service("C", visit_every_days=None, response_priority=3)
    grade(c["huaxing"], "A")
    grade(c["plain"], "C")
    c["huaxing_contact"] = contact(org.rep, c["huaxing"], "王建国", title="总经理")
    return c


@pytest.fixture
def plan(org, book):
    from kehu.engagement.visits import services

    return services.plan_generate(actor=org.rep, year=YEAR, start=START)


def scale_ids():
    from kehu.engagement.visits.models import ScaleItem

    return {(i.scale, i.label): i.pk for i in ScaleItem.objects.filter(active=True)}


def report_data(**extra):
    ids = scale_ids()
    data = {"quality": ids[("quality", "优良")], "service": ids[("service", "良好")],
            "reputation": ids[("reputation", "知名度高")], "visited_on": "2026-03-02",
            "market_info": "竞品降价约5%，华东市场需求平稳", "needs": "希望缩短交货期至7天",
            "signatory_name": "王建国", "principal_name": "王建国", "principal_title": "总经理"}
    data.update(extra)
    return data
