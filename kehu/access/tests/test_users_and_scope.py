"""Users, departments and data scope; the `kehu user create` command; production start-up guard."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kehu.access import services
from kehu.access.models import Department, User
from kehu.access.roles import ROLES, Level, Perm, Scope
from kehu.access.scopes import in_scope, scope_q
from kehu.audit.models import AuditEntry
from kehu.customers import selectors
from kehu.customers.tests.factories import org_customer
from kehu.errors import Forbidden, Invalid

ROOT = Path(__file__).resolve().parents[3]


# ---------------------------------------------------------------- the role table (policy)

def test_role_table_matches_the_policy():
    """Eight roles with the policy's scope and sensitivity level."""
    assert {r: (s.scope, s.level) for r, s in ROLES.items()} == {
        "admin": (Scope.ALL, Level.SECRET),
        "executive": (Scope.ALL, Level.CONFIDENTIAL),
        "manager": (Scope.SUBTREE, Level.CONFIDENTIAL),
        "account_manager": (Scope.OWN, Level.CONFIDENTIAL),
        "service_agent": (Scope.ALL, Level.INTERNAL),
        "finance": (Scope.ALL, Level.INTERNAL),
        "analyst": (Scope.ALL, Level.INTERNAL),
        "auditor": (Scope.ALL, Level.INTERNAL),
    }


def test_audit_and_privacy_permissions_belong_to_auditor_and_admin_only():
    """Reading the audit log and answering data-subject requests are for the auditor and admin."""
    for perm in (Perm.AUDIT_READ, Perm.PRIVACY):
        assert {r for r, s in ROLES.items() if perm in s.perms} == {"admin", "auditor"}
    assert {r for r, s in ROLES.items() if Perm.CUSTOMER_WRITE in s.perms} == {
        "admin", "executive", "manager", "account_manager"}


# ---------------------------------------------------------------- kehu user create

@pytest.mark.django_db
def test_user_create_command_creates_user_in_department_path(capsys):
    """`kehu user create` creates the missing departments of the path and an Argon2-hashed user."""
    call_command("user_create", "--username", "zhangwei", "--password", "Kehu#2026-hz", "--role", "account_manager",
                 "--department", "总部/销售部/华东区", "--display-name", "张伟")
    user = User.objects.get(username="zhangwei")
    assert user.role == "account_manager" and user.display_name == "张伟"
    assert user.department.full_name() == "总部/销售部/华东区"
    assert user.password.startswith("argon2$") and user.check_password("Kehu#2026-hz")
    assert "总部/销售部/华东区" in capsys.readouterr().out
    assert AuditEntry.objects.filter(action="user.create", object_id=str(user.pk), actor=None).exists()
    assert AuditEntry.objects.filter(action="department.create").count() == 3
    # A second user in the same place reuses the departments.
    call_command("user_create", "--username", "liuyang", "--password", "Kehu#2026-hz", "--role", "manager",
                 "--department", "总部 / 销售部 / 华东区")
    assert Department.objects.count() == 3
    assert User.objects.get(username="liuyang").department == user.department


def test_kehu_console_script_maps_user_create_and_audit_verify(monkeypatch):
    """`kehu user create …` and `kehu audit verify` run the user_create and audit_verify commands."""
    import django.core.management

    from kehu.__main__ import main

    seen = []
    monkeypatch.setattr(django.core.management, "execute_from_command_line", seen.append)
    for argv in (["kehu", "user", "create", "--username", "zhangwei"], ["kehu", "audit", "verify"]):
        monkeypatch.setattr(sys, "argv", argv)
        main()
    assert seen == [["kehu", "user_create", "--username", "zhangwei"], ["kehu", "audit_verify"]]


@pytest.mark.django_db
@pytest.mark.parametrize("args,message", [
    (["--role", "account_manager", "--password", "12345678"], "password"),
    (["--role", "account_manager", "--password", "short"], "password"),
    (["--role", "account_manager", "--password", "Kehu#2026-hz", "--department", " / "], "department"),
])
def test_user_create_command_refuses_bad_input(args, message):
    """A weak password or an empty department path is refused with a clear error."""
    argv = ["--username", "zhangwei", "--department", "总部/销售部/华东区", *args]
    with pytest.raises(CommandError) as exc:
        call_command("user_create", *argv)
    assert message in str(exc.value)
    assert not User.objects.filter(username="zhangwei").exists()


@pytest.mark.django_db
def test_user_create_command_refuses_unknown_role_and_taken_username():
    """An unknown role or a username already taken is refused."""
    with pytest.raises(CommandError):
        call_command("user_create", "--username", "zhangwei", "--password", "Kehu#2026-hz", "--role", "boss",
                     "--department", "总部")
    call_command("user_create", "--username", "zhangwei", "--password", "Kehu#2026-hz", "--role", "analyst",
                 "--department", "总部")
    with pytest.raises(CommandError):
        call_command("user_create", "--username", "zhangwei", "--password", "Kehu#2026-hz", "--role", "analyst",
                     "--department", "总部")


@pytest.mark.django_db
def test_only_administrators_create_users(org):
    """user_create by anyone but an administrator is refused."""
    with pytest.raises(Forbidden):
        services.user_create(actor=org.manager, username="newbie", password="Kehu#2026-hz", role="account_manager",
                             department_path="总部/销售部/华东区")
    user = services.user_create(actor=org.admin, username="newbie", password="Kehu#2026-hz", role="account_manager",
                                department_path="总部/销售部/华南区")
    assert user.department.full_name() == "总部/销售部/华南区"
    assert AuditEntry.objects.filter(action="user.create", actor=org.admin, object_id=str(user.pk)).exists()
    with pytest.raises(Invalid):
        services.user_create(actor=org.admin, username="newbie2", password="Kehu#2026-hz", role="boss",
                             department_path="总部")


# ---------------------------------------------------------------- department subtree scope

@pytest.mark.django_db
def test_department_paths_are_materialised_prefixes(org):
    """Each department's path extends its parent's, so a subtree is one prefix query."""
    sales = org.depts["sales"]
    assert org.depts["east"].path.startswith(sales.path) and org.depts["north"].path.startswith(sales.path)
    assert not org.depts["service"].path.startswith(sales.path)
    assert set(org.manager.department_subtree_ids()) == {org.depts["east"].pk}


@pytest.mark.django_db
def test_manager_of_a_parent_department_sees_every_region_below(org):
    """The manager of 销售部 sees 华东区 and 华北区 customers; the manager of 华东区 only 华东区."""
    head = services.user_create(actor=None, username="sales_head", password="Kehu#2026-hz", role="manager",
                                department=org.depts["sales"], display_name="钱总监")
    east = org_customer(org.rep, "浙江华星石化有限公司")
    north = org_customer(org.north_rep, "北京燕山机械有限公司")
    hq_own = org_customer(org.executive, "总部直管客户")
    assert {c.pk for c in selectors.customer_list(actor=head).items} == {east.pk, north.pk}
    assert {c.pk for c in selectors.customer_list(actor=org.manager).items} == {east.pk}
    assert {c.pk for c in selectors.customer_list(actor=org.north_manager).items} == {north.pk}
    assert hq_own.department_id == org.depts["hq"].pk


@pytest.mark.django_db
def test_department_created_later_under_a_region_is_in_its_managers_scope(org):
    """A new team under 华东区 (华东区/杭州组) is part of the 华东区 manager's subtree."""
    team = services.department_ensure_path(actor=org.admin, path="总部/销售部/华东区/杭州组")
    rep = services.user_create(actor=None, username="hz_rep", password="Kehu#2026-hz", role="account_manager",
                               department=team)
    c = org_customer(rep, "杭州西湖龙井茶业有限公司")
    manager = User.objects.get(pk=org.manager.pk)  # fresh: the subtree is cached per instance
    assert c.pk in {x.pk for x in selectors.customer_list(actor=manager).items}
    assert c.pk not in {x.pk for x in selectors.customer_list(actor=org.north_manager).items}


@pytest.mark.django_db
def test_manager_scope_is_exactly_the_department_subtree(org):
    """A manager's data scope is their department and below (a record's department follows its
    owner's): a record filed under another department is outside it, even one the manager owns."""
    from kehu.customers.models import Customer

    c = org_customer(org.manager, "宁波港务物流有限公司")
    assert c.department == org.depts["east"]
    assert c.pk in {x.pk for x in selectors.customer_list(actor=org.manager).items}
    Customer.objects.filter(pk=c.pk).update(department=org.depts["north"])
    assert not in_scope(org.manager, owner_id=org.manager.pk, department_id=org.depts["north"].pk)
    assert c.pk not in {x.pk for x in selectors.customer_list(actor=org.manager).items}


@pytest.mark.django_db
def test_scope_q_and_in_scope_agree(org):
    """The queryset filter and the single-row check give the same answer for every role and row."""
    from kehu.customers.models import Customer

    rows = [org_customer(u, f"{u.display_name}的客户") for u in (org.rep, org.rep2, org.north_rep, org.manager)]
    for user in org.users.values():
        visible = set(Customer.objects.filter(scope_q(user)).values_list("pk", flat=True))
        for c in rows:
            assert (c.pk in visible) == in_scope(user, owner_id=c.owner_id, department_id=c.department_id), (
                user.username, c.name)


def test_anonymous_scope_is_empty():
    """No actor, no rows."""
    from django.contrib.auth.models import AnonymousUser

    assert not in_scope(AnonymousUser(), owner_id=1, department_id=1)
    assert not in_scope(None, owner_id=1, department_id=1)
    assert scope_q(None) is not None


# ---------------------------------------------------------------- production start-up guard

def _import_settings(extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KEHU_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(extra)
    return subprocess.run([sys.executable, "-c", "import kehu.settings"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_production_mode_without_secret_key_refuses_to_start():
    """Without KEHU_DEBUG/KEHU_TESTING, importing the settings with no KEHU_SECRET_KEY fails loudly."""
    result = _import_settings({})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "KEHU_SECRET_KEY" in result.stderr


def test_production_mode_without_field_keys_refuses_to_start():
    """A secret alone is not enough: personal data needs KEHU_FIELD_KEYS to be encrypted at rest."""
    result = _import_settings({"KEHU_SECRET_KEY": "x" * 50})
    assert result.returncode != 0 and "KEHU_FIELD_KEYS" in result.stderr


def test_production_mode_starts_with_secret_and_field_keys():
    """With a secret and field keys the production settings load."""
    from cryptography.fernet import Fernet

    result = _import_settings({"KEHU_SECRET_KEY": "x" * 50, "KEHU_FIELD_KEYS": Fernet.generate_key().decode()})
    assert result.returncode == 0, result.stderr
