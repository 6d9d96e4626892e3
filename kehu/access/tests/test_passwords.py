"""Passwords (issue 9): change one's own (current password required, the password policy applies), and
an administrator's reset to a temporary password that must be changed at the next login; both audited."""

from __future__ import annotations

import pytest

from kehu.access.models import ApiToken
from kehu.access.services import password_change, password_reset, token_create
from kehu.audit.models import AuditEntry
from kehu.errors import Forbidden, Invalid, NotFound

NEW = "Hangzhou#West2027"


def test_changing_ones_password_needs_the_current_one_and_is_audited(org):
    with pytest.raises(Invalid) as exc:
        password_change(actor=org.rep, old_password="wrong-one", new_password=NEW)
    assert "old_password" in exc.value.fields
    password_change(actor=org.rep, old_password=org.password, new_password=NEW)
    org.rep.refresh_from_db()
    assert org.rep.check_password(NEW) and not org.rep.check_password(org.password)
    entry = AuditEntry.objects.get(action="user.password_change")
    assert entry.actor_id == org.rep.pk and NEW not in str(entry.changes)


@pytest.mark.parametrize("weak", ["short1", "12345678901", "password123", "Kehu#Test2026"])
def test_the_password_policy_applies_to_a_new_password(org, weak):
    with pytest.raises(Invalid) as exc:
        password_change(actor=org.rep, old_password=org.password, new_password=weak)
    assert "new_password" in exc.value.fields
    assert not AuditEntry.objects.filter(action="user.password_change").exists()


def test_an_administrator_resets_to_a_temporary_password_that_must_be_changed(org):
    _token, _key = token_create(actor=org.rep, name="script")
    user, temporary = password_reset(actor=org.admin, user_id=org.rep.pk)
    assert user.must_change_password and user.check_password(temporary) and len(temporary) >= 12
    assert not ApiToken.objects.filter(user=org.rep, revoked_at__isnull=True).exists()
    entry = AuditEntry.objects.get(action="user.password_reset")
    assert entry.actor_id == org.admin.pk and temporary not in str(entry.changes)
    with pytest.raises(Forbidden):
        token_create(actor=user, name="again")  # not before the temporary password is replaced
    password_change(actor=user, old_password=temporary, new_password=NEW)
    user.refresh_from_db()
    assert not user.must_change_password


def test_only_user_managers_reset_passwords(org):
    for actor in (org.manager, org.executive, org.auditor):
        with pytest.raises(Forbidden):
            password_reset(actor=actor, user_id=org.rep.pk)
    with pytest.raises(NotFound):
        password_reset(actor=org.admin, user_id=999999)
    with pytest.raises(Invalid):
        password_reset(actor=org.admin, user_id=org.rep.pk, temporary_password="123")


def test_after_a_reset_every_page_asks_for_a_new_password_first(client, org):
    _user, temporary = password_reset(actor=org.admin, user_id=org.rep.pk)
    r = client.post("/login/", {"username": "rep", "password": temporary})
    assert r.status_code == 302
    r = client.get("/approvals/")
    assert r.status_code == 302 and r["Location"] == "/account/password/"
    r = client.get("/approvals/", HTTP_HX_REQUEST="true")
    assert r["HX-Redirect"] == "/account/password/"
    r = client.get("/api/v1/customers")
    assert r.status_code == 403 and r.json()["error"]["code"] == "password_change_required"
    page = client.get("/account/password/")
    assert page.status_code == 200 and b'data-testid="password-change-required"' in page.content
    r = client.post("/account/password/", {"old_password": temporary, "new_password": NEW,
                                           "new_password2": NEW + "x"})
    assert r.status_code == 400
    r = client.post("/account/password/", {"old_password": temporary, "new_password": NEW, "new_password2": NEW})
    assert r.status_code == 302
    assert client.get("/approvals/").status_code == 200  # still logged in, no longer redirected


def test_the_users_page_and_reset_are_for_administrators(client, org):
    client.force_login(org.manager)
    assert client.get("/users/").status_code == 403
    assert client.post(f"/users/{org.rep.pk}/password-reset/").status_code == 403
    client.force_login(org.admin)
    page = client.get("/users/", {"q": "张"}).content.decode()
    assert "张伟" in page and "李经理" not in page
    r = client.post(f"/users/{org.rep.pk}/password-reset/")
    assert r.status_code == 200 and b'data-testid="temporary-password"' in r.content
    org.rep.refresh_from_db()
    assert org.rep.must_change_password
    client.logout()
    assert client.get("/users/").status_code == 302  # anonymous: to the login page


def test_the_user_menu_offers_a_password_change_to_everyone_and_the_users_page_to_administrators(client, org):
    client.force_login(org.rep)
    page = client.get("/approvals/").content.decode()
    assert 'data-testid="menu-password"' in page and 'data-testid="menu-users"' not in page
    client.force_login(org.admin)
    page = client.get("/approvals/").content.decode()
    assert 'data-testid="menu-password"' in page and 'data-testid="menu-users"' in page


def test_password_api(api_client, org):
    assert api_client.as_user(None).post("/auth/password", {"old_password": "x", "new_password": NEW}) \
        .status_code == 401
    r = api_client.as_user(org.rep).post("/auth/password", {"old_password": "wrong", "new_password": NEW})
    assert r.status_code == 422 and "old_password" in r.json()["error"]["fields"]
    r = api_client.as_user(org.rep).post("/auth/password", {"old_password": org.password, "new_password": NEW})
    assert r.status_code == 204
    path = f"/users/{org.rep2.pk}/password-reset"
    assert api_client.as_user(None).post(path, {}).status_code == 401
    assert api_client.as_user(org.manager).post(path, {}).status_code == 403
    r = api_client.as_user(org.admin).post(path, {})
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    org.rep2.refresh_from_db()
    assert org.rep2.check_password(r.json()["temporary_password"])


def test_a_too_short_password_is_refused_in_chinese_in_the_chinese_ui(org):
    """The policy's minimum length is explained in Chinese, not in Django's untranslated English wording."""
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(Invalid) as exc:
        password_change(actor=org.rep, old_password=org.password, new_password="短1a")
    with translation.override("zh-hans"):
        text = " ".join(str(m) for msgs in exc.value.fields.values() for m in msgs)
    assert "too short" not in text and "8 个字符" in text
