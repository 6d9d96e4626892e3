"""Shared builders for the service-request tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kehu.customers.tests.factories import org_customer
from kehu.service_desk.tickets import services

SH = ZoneInfo("Asia/Shanghai")


def customers(org) -> dict:
    """华星 (rep, 华东区), 东方 (rep2, 华东区), 燕山 (north_rep, 华北区)."""
    return {
        "huaxing": org_customer(org.rep, "浙江华星石化有限公司", serial=1),
        "dongfang": org_customer(org.rep2, "上海东方贸易有限公司", serial=2),
        "yanshan": org_customer(org.north_rep, "北京燕山机械有限公司", serial=3),
    }


def record(actor, customer, kind="repair", **kw):
    data = {"customer": customer.pk, "kind": kind, "channel": "phone", "subject": "空压机异响",
            "description": "二号车间空压机运行时异响，请派工程师上门检修。", "contact_name": "王工"}
    data.update(kw)
    return services.ticket_record(actor=actor, data=data)


def walk(actor, t, *actions, **data):
    for action in actions:
        t = services.ticket_act(actor=actor, ticket_id=t.pk, action=action, data=data)
    return t


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)
