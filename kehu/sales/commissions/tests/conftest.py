"""Commission fixtures: conftest's organisation plus 王芳 (an administration clerk who refers customers),
four customers of 张伟 / 刘洋 / 陈静 and a facts provider the tests fill per deal (the ownership and
reception apps fill DealFacts on their branches)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kehu.customers.tests.factories import build_org, module_data, person_customer
from kehu.sales import facts as facts_module

SIGNED = dt.date(2026, 11, 12)
FACTS: dict[int, dict] = {}


def provide_test_facts(deal, facts):
    for key, value in FACTS.get(deal.pk, {}).items():
        setattr(facts, key, value)


@pytest.fixture(autouse=True)
def _facts_provider():
    facts_module.register_facts_provider(provide_test_facts)
    yield
    FACTS.clear()
    if provide_test_facts in facts_module._providers:
        facts_module._providers.remove(provide_test_facts)


def build_world():
    from kehu.access.services import department_ensure_path, user_create

    org = build_org()
    admin_dept = department_ensure_path(actor=None, path="总部/行政部")
    org.referrer = user_create(actor=None, username="wangfang", password=org.password, role="service_agent",
                               department=admin_dept, display_name="王芳")
    org.customers = {
        "li": person_customer(org.rep, "李娜", mobile="13900001111"),
        "zhao": person_customer(org.rep, "赵强", mobile="13900002222"),
        "liu_c": person_customer(org.rep2, "孙丽", mobile="13900003333"),
        "north": person_customer(org.north_rep, "周杰", mobile="13900004444"),
    }
    return org


world = module_data("world", build_world)


def make_deal(org, rep, customer, *, amount="2000000.00", object_code="A-1-1201", title=None):
    from kehu.sales.models import Deal

    return Deal.objects.create(customer=customer, title=title or f"{customer.name} · {object_code}",
                               object_code=object_code, amount=Decimal(amount), rep=rep,
                               department_id=rep.department_id, created_by=rep)


def sign(deal, *, actor=None, on=SIGNED, **facts):
    """Sign the deal the way the pipeline does: stage, date, then kehu.sales.hooks.deal_won in one
    transaction."""
    from django.db import transaction

    from kehu.sales.hooks import deal_won
    from kehu.sales.models import DealStage

    if facts:
        FACTS[deal.pk] = facts
    with transaction.atomic():
        deal.stage, deal.signed_on = DealStage.SIGNED, on
        deal.save()
        deal_won(deal, actor=actor or deal.rep)
    return deal
