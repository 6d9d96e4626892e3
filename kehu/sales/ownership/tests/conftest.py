"""Ownership fixtures: 华东区 with 张伟 (rep) and 刘洋 (rep2), 华北区 with 陈静 (north_rep); customers entered by
张伟 (浙江华星, 上海东方) and by 刘洋 (宁波甬兴), none registered yet."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kehu.customers.tests.factories import org_customer

SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0, ss=0) -> dt.datetime:
    """An aware Asia/Shanghai moment."""
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=SH)


@pytest.fixture
def book(org):
    return {"huaxing": org_customer(org.rep, "浙江华星石化有限公司", serial=1),
            "dongfang": org_customer(org.rep, "上海东方贸易有限公司", serial=2),
            "yongxing": org_customer(org.rep2, "宁波甬兴塑料有限公司", serial=3),
            "yanshan": org_customer(org.north_rep, "北京燕山机械有限公司", serial=4)}


@pytest.fixture
def policy(settings):
    """The policy's figures, set explicitly so a changed default does not change what the tests mean."""
    settings.KEHU_OWNERSHIP = {**settings.KEHU_OWNERSHIP, "valid_months": 1, "renew_on_followup": True,
                               "idle_days": 30, "idle_stages": ("prospect", "intent"), "daily_claim_limit": 2,
                               "max_held": 50, "dispute_level_hours": 48}
    return settings.KEHU_OWNERSHIP
