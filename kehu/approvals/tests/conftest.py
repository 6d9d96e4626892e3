from __future__ import annotations

import pytest


@pytest.fixture
def huaxing(org):
    """Something to approve: a customer of the 华东区 rep."""
    from kehu.customers import services

    return services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司"})


@pytest.fixture
def line(org):
    """More of the department line: a manager at 销售部 level (above 华东区), a team 杭州组 under
    华东区 with its own rep, and 华南区 with a rep and no manager."""
    from kehu.access.services import department_ensure_path, user_create

    hangzhou = department_ensure_path(actor=None, path="总部/销售部/华东区/杭州组")
    south = department_ensure_path(actor=None, path="总部/销售部/华南区")
    make = lambda username, role, dept, name: user_create(  # noqa: E731
        actor=None, username=username, password=org.password, role=role, department=dept, display_name=name)

    class Line:
        director = make("director", "manager", org.depts["sales"], "钱总监")
        hz_rep = make("hz_rep", "account_manager", hangzhou, "杭州小王")
        south_rep = make("south_rep", "account_manager", south, "黄强")

    return Line


def define(org, code, steps, name="测试审批"):
    from kehu.approvals.services import approval_chain_define

    return approval_chain_define(actor=org.admin, code=code, name=name, steps=steps)
