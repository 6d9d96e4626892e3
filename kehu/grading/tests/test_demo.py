"""The grading demo grades the demo company after the orders demo."""

from __future__ import annotations

import datetime as dt
import random

from kehu.grading import demo
from kehu.grading.models import CustomerGrade, GradingRun, ServicePolicy
from kehu.grading.tests.test_runs import book  # noqa: F401 (fixture)


def test_demo_grades_the_customers_and_sets_service_policies(org, book):  # noqa: F811
    message = demo.demo_load(users={"admin": org.admin}, rng=random.Random(1), today=dt.date(2026, 7, 15))
    assert "3 customers" in message
    assert GradingRun.objects.filter(status="done").count() == 2
    assert dict(CustomerGrade.objects.filter(policy_name=demo.POLYOLEFIN).values_list("customer__name", "grade")) \
        == {"华东塑业": "普通", "宁波化纤": "一星", "苏州包装": "三星"}
    assert ServicePolicy.objects.get(policy_name=demo.POLYOLEFIN, grade="三星").dedicated_manager
    assert demo.demo_load(users={"admin": org.admin}, rng=random.Random(1)) == "grading demo already loaded"
