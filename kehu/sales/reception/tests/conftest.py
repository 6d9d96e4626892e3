"""Reception fixtures: 华东区's sales office — 张伟 (rep), 刘洋 (rep2) and a third rep 王芳 (rep3) on duty in
that order; the desk is run by 张伟's colleague at the counter (any rep of the department may register).
陈静 (north_rep) is in 华北区, outside 华东区's desk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.customers.tests.factories import module_data

DAY = dt.date(2026, 3, 2)  # a Monday


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, minute))


def build_office(org=None):
    from kehu.access.services import user_create
    from kehu.customers.tests.factories import build_org
    from kehu.sales.reception import services
    from kehu.sales.reception.models import SourceChannel

    org = org or build_org()
    org.rep3 = user_create(actor=None, username="rep3", password=org.password, role="account_manager",
                           department=org.depts["east"], display_name="王芳")
    org.users["rep3"] = org.rep3
    if not SourceChannel.objects.exists():  # a transactional test starts from an emptied database
        SourceChannel.objects.create(code="passing_by", name="路过")
    org.sources = {s.code: s for s in SourceChannel.objects.all()}
    org.duty = services.roster_set(actor=org.manager, day=DAY, reps=[org.rep.pk, org.rep2.pk, org.rep3.pk])
    return org


_office = module_data("_office", build_office)


@pytest.fixture
def office(_office, db):
    """The module's office (built once); each test runs in its own savepoint."""
    for u in _office.users.values():
        u.refresh_from_db()
    return _office


def walk_in(org, actor=None, *, hour=10, minute=0, day=DAY, **data):
    from kehu.sales.reception import services

    payload = {"kind": "walk_in", "source": org.sources["passing_by"].pk, "visitor_name": "王先生",
               "intention": "三居室，预算300万"}
    payload.update(data)
    return services.entry_create(actor=actor or org.rep, data=payload, now=at(hour, minute, day))
