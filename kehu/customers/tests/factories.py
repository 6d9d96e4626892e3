"""Realistic test data for the customer archive: valid identifiers and customers built through the
services (so every row has its search keys, history and audit entry, as in production)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import transaction
from stdnum.cn import ric, uscc

from kehu.customers import services

# 11 mainland mobiles, one per person in the fixtures; the clear values must never appear in a
# list/detail response.
MOBILE_WANG = "13812345678"
MOBILE_LI = "13987654321"
MOBILE_CHEN = "15900001111"
ID_LI = "11010519491231002X"
BIRTHDAY_WANG = "1978-05-12"
TRAITS_WANG = "喜欢打高尔夫，重视长期合作"


def make_uscc(serial: int, region: str = "330106") -> str:
    """A valid 18-character USCC (GB 32100-2015) for a company registered in ``region``."""
    body = f"91{region}{serial:09d}"
    return body + uscc.calc_check_digit(body)


def make_id_number(region: str = "330106", birth: str = "19850312", seq: str = "123") -> str:
    """A valid resident ID number (region, birth date and check digit)."""
    body = f"{region}{birth}{seq}"
    return body + ric.calc_check_digit(body + "0")


# What the fixtures' people are on record for (PIPL 13): a contract, and the separate consent an ID needs.
BASIS = {"basis": "contract", "purpose": "合同履行与客户服务", "channel": "合同"}
ID_CONSENT = {"purpose": "开户实名核验", "channel": "纸质同意书", "evidence": "本人签字"}


def org_customer(actor, name: str, *, serial: int | None = None, admitted: bool = True, **extra):
    """An organisation; registered although its name may match another's (the fixtures build duplicates on
    purpose; the check at entry is tested in test_duplicates_at_entry with confirm_duplicate off). Admitted
    (account opening approved) unless ``admitted=False``: it starts pending (kehu.qualification)."""
    data = {"name": name, "kind": "organization", "industry": "石化", "province": "浙江省", "city": "杭州市",
            "confirm_duplicate": True}
    if serial is not None:
        data["uscc"] = make_uscc(serial)
    data.update(extra)
    customer = services.customer_create(actor=actor, data=data)
    if admitted:
        from kehu.qualification.testing import admit

        admit(customer)
    return customer


def person_customer(actor, name: str, *, mobile: str | None = None, id_number: str | None = None, **extra):
    data = {"name": name, "kind": "person", "mobile": mobile, "id_number": id_number, "city": "杭州市",
            "basis": BASIS, "id_number_consent": ID_CONSENT if id_number else None}
    data.update(extra)
    return services.customer_create(actor=actor, data=data)


def contact(actor, customer, name: str, **extra):
    return services.contact_create(actor=actor, customer_id=customer.pk, data={"name": name, "basis": BASIS, **extra})


def build_org():
    """The organisation of conftest's ``org`` fixture, for module-scoped data (same users, same
    departments, same password)."""
    from kehu.access.services import department_ensure_path, user_create

    paths = {"hq": "总部", "east": "总部/销售部/华东区", "north": "总部/销售部/华北区", "sales": "总部/销售部",
             "service": "总部/客服部", "finance": "总部/财务部"}
    depts = {k: department_ensure_path(actor=None, path=p) for k, p in paths.items()}
    spec = {
        "admin": ("admin", "hq", "系统管理员"),
        "executive": ("executive", "hq", "王总"),
        "manager": ("manager", "east", "李经理"),
        "north_manager": ("manager", "north", "赵经理"),
        "rep": ("account_manager", "east", "张伟"),
        "rep2": ("account_manager", "east", "刘洋"),
        "north_rep": ("account_manager", "north", "陈静"),
        "agent": ("service_agent", "service", "周敏"),
        "finance": ("finance", "finance", "吴会计"),
        "analyst": ("analyst", "hq", "孙分析"),
        "auditor": ("auditor", "hq", "郑审计"),
    }
    org = SimpleNamespace(depts=depts, password="Kehu#Test2026", users={})
    for key, (role, dept, name) in spec.items():
        org.users[key] = user_create(actor=None, username=key, password=org.password, role=role,
                                     department=depts[dept], display_name=name)
        setattr(org, key, org.users[key])
    return org


def module_data(name: str, build):
    """A module-scoped fixture ``name`` whose rows ``build()`` writes once. They live in a transaction
    wrapped around the module's tests and rolled back after them; each test (which must also use
    ``db``) runs in its own savepoint inside it, so tests stay isolated from each other and the
    expensive set-up is paid once per module instead of once per test."""

    @pytest.fixture(scope="module", name=name)
    def _fixture(django_db_setup, django_db_blocker):
        with django_db_blocker.unblock():
            outer = transaction.atomic()
            outer.__enter__()
            try:
                data = build()
            except BaseException:
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)
                raise
        yield data
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)

    return _fixture
