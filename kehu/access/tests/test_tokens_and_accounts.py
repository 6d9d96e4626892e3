"""Tokens and accounts (issue 16): tokens expire, are listed and revoked (own, or anyone's by an
administrator), logging in again does not mint tokens without end, deactivation from the UI, API and
command line ends sessions and tokens at once, and sessions have an absolute lifetime."""

import datetime as dt
import time

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from kehu.access import services
from kehu.access.middleware import LOGIN_AT
from kehu.access.models import ApiToken
from kehu.audit.models import AuditEntry
from kehu.errors import Conflict

pytestmark = pytest.mark.django_db


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


# ---------------------------------------------------------------- expiry

def test_token_expires_after_the_configured_days(org, client, monkeypatch):
    """A token is issued for KEHU_TOKEN_TTL_DAYS (30); once past, the API answers 401 (also when its look-up
    was cached: the cached entry carries the expiry)."""
    token, key = services.token_create(actor=org.rep, name="ERP 同步")
    assert dt.timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    assert client.get("/api/v1/auth/tokens", **bearer(key)).status_code == 200
    later = token.expires_at + dt.timedelta(seconds=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    r = client.get("/api/v1/auth/tokens", **bearer(key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


@override_settings(KEHU_TOKEN_TTL_DAYS=7)
def test_token_lifetime_is_a_setting(org, client):
    """KEHU_TOKEN_TTL_DAYS sets the lifetime; the token endpoint says when the token expires."""
    r = client.post("/api/v1/auth/token", {"username": "rep", "password": org.password, "name": "手机"},
                    content_type="application/json")
    assert r.status_code == 201
    expires = dt.datetime.fromisoformat(r.json()["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - timezone.now() <= dt.timedelta(days=7)


# ---------------------------------------------------------------- not minted without end

def test_logging_in_again_with_the_same_token_name_replaces_the_token(org, client):
    """A script that logs in 20 times through POST /auth/token keeps one live token: each new one
    replaces (revokes) the live token of the same name."""
    keys = []
    for _i in range(20):
        r = client.post("/api/v1/auth/token", {"username": "rep", "password": org.password, "name": "ERP"},
                        content_type="application/json")
        assert r.status_code == 201
        keys.append(r.json()["token"])
    live = ApiToken.objects.filter(user=org.rep, revoked_at__isnull=True)
    assert live.count() == 1
    assert client.get("/api/v1/auth/tokens", **bearer(keys[-1])).status_code == 200
    assert client.get("/api/v1/auth/tokens", **bearer(keys[0])).status_code == 401


@override_settings(KEHU_TOKEN_MAX_PER_USER=3)
def test_live_tokens_are_capped_per_user(org, client):
    """Beyond KEHU_TOKEN_MAX_PER_USER live tokens a new name is refused (409), nothing is written;
    revoking one makes room."""
    tokens = [services.token_create(actor=org.rep, name=f"脚本{i}")[0] for i in range(3)]
    before = ApiToken.objects.count()
    with pytest.raises(Conflict):
        services.token_create(actor=org.rep, name="第四个")
    r = client.post("/api/v1/auth/token", {"username": "rep", "password": org.password, "name": "第四个"},
                    content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_tokens"
    assert ApiToken.objects.count() == before
    services.token_revoke(actor=org.rep, token_id=tokens[0].pk)
    services.token_create(actor=org.rep, name="第四个")


# ---------------------------------------------------------------- listing and revoking

def test_my_tokens_list_shows_expiry_and_the_admin_lists_anyones(org, api_client):
    """GET /auth/tokens lists my own tokens with their expiry; GET /users/{id}/tokens is for
    administrators, who may revoke any token; others get 403."""
    token, _key = services.token_create(actor=org.rep, name="ERP 同步")
    services.token_create(actor=org.rep2, name="报表")
    api = api_client.as_user(org.rep)
    r = api.get("/auth/tokens")
    mine = {t["name"]: t for t in r.json()}  # the api_client's own token ("test") is listed too
    assert "ERP 同步" in mine and "报表" not in mine and mine["ERP 同步"]["expires_at"]
    assert {t["user"] for t in r.json()} == {org.rep.pk}
    assert api.get(f"/users/{org.rep.pk}/tokens").status_code == 403
    admin = api_client.as_user(org.admin)
    r = admin.get(f"/users/{org.rep.pk}/tokens")
    assert r.status_code == 200 and "ERP 同步" in [t["name"] for t in r.json()]
    assert {t["user"] for t in r.json()} == {org.rep.pk}
    assert admin.get("/users/999999/tokens").status_code == 404
    assert admin.delete(f"/auth/tokens/{token.pk}").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_token_page_lists_and_revokes_a_users_tokens(org, client):
    """The administrators' page of a user's tokens lists them and revokes one; others get 403."""
    token, _key = services.token_create(actor=org.rep, name="ERP 同步")
    client.force_login(org.manager)
    assert client.get(f"/users/{org.rep.pk}/tokens/").status_code == 403
    assert client.post(f"/users/{org.rep.pk}/tokens/{token.pk}/revoke/").status_code == 403
    client.force_login(org.admin)
    r = client.get(f"/users/{org.rep.pk}/tokens/")
    assert r.status_code == 200 and token.prefix.encode() in r.content
    assert client.post(f"/users/{org.rep2.pk}/tokens/{token.pk}/revoke/").status_code == 404  # not rep2's
    r = client.post(f"/users/{org.rep.pk}/tokens/{token.pk}/revoke/")
    assert r.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


# ---------------------------------------------------------------- deactivation

def _live_session_and_token(client, user):
    _token, key = services.token_create(actor=user, name="ERP 同步")
    client.force_login(user)
    assert client.get("/api/v1/auth/tokens").status_code == 200
    assert client.get("/api/v1/auth/tokens", **bearer(key)).status_code == 200
    return key


def _assert_cut_off(client, key, user):
    from django.test import Client

    assert Client().get("/api/v1/auth/tokens", **bearer(key)).status_code == 401
    r = client.get("/api/v1/auth/tokens")  # the session held before the deactivation
    assert r.status_code == 401
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action="user.deactivate", object_id=str(user.pk)).count() == 1


def test_deactivating_through_the_api_ends_the_users_tokens_and_sessions_at_once(org, client, api_client):
    """POST /users/{id}/deactivate (administrators): a live token gets 401 right after, and so does
    the user's session; reactivating does not bring either back."""
    from django.test import Client

    rep_client = Client()
    key = _live_session_and_token(rep_client, org.rep)
    assert api_client.as_user(org.manager).post(f"/users/{org.rep.pk}/deactivate").status_code == 403
    r = api_client.as_user(org.admin).post(f"/users/{org.rep.pk}/deactivate")
    assert r.status_code == 200 and r.json()["is_active"] is False
    _assert_cut_off(rep_client, key, org.rep)
    assert api_client.as_user(org.admin).post(f"/users/{org.rep.pk}/reactivate").status_code == 200
    assert rep_client.get("/api/v1/auth/tokens").status_code == 401
    assert Client().get("/api/v1/auth/tokens", **bearer(key)).status_code == 401


def test_deactivating_from_the_users_page(org, client):
    """The administrators' users page deactivates a user; their session and token end."""
    from django.test import Client

    rep_client = Client()
    key = _live_session_and_token(rep_client, org.rep)
    client.force_login(org.manager)
    assert client.post(f"/users/{org.rep.pk}/deactivate/").status_code == 403
    client.force_login(org.admin)
    assert client.post(f"/users/{org.rep.pk}/deactivate/").status_code == 302
    _assert_cut_off(rep_client, key, org.rep)
    assert rep_client.get("/workbench/").status_code == 302  # back to the login page


def test_deactivating_from_the_command_line(org, client):
    """`kehu user deactivate <username>` ends the user's session and tokens at once."""
    key = _live_session_and_token(client, org.rep)
    call_command("user_deactivate", "rep")
    _assert_cut_off(client, key, org.rep)


def test_an_administrator_cannot_deactivate_themself(org, api_client):
    """Deactivating oneself is refused (422), nothing changes."""
    r = api_client.as_user(org.admin).post(f"/users/{org.admin.pk}/deactivate")
    assert r.status_code == 422
    org.admin.refresh_from_db()
    assert org.admin.is_active


# ---------------------------------------------------------------- absolute session lifetime

@override_settings(KEHU_SESSION_MAX_HOURS=12)
def test_a_session_ends_twelve_hours_after_login_however_active(org, client):
    """Besides the idle timeout, a session ends KEHU_SESSION_MAX_HOURS after its login."""
    r = client.post("/login/", {"username": "rep", "password": org.password})
    assert r.status_code == 302
    assert client.get("/api/v1/auth/tokens").status_code == 200
    session = client.session
    session[LOGIN_AT] = int(time.time()) - 12 * 3600 - 1
    session.save()
    r = client.get("/api/v1/auth/tokens")
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"
    assert client.get("/workbench/").status_code == 302


def test_a_page_after_the_absolute_lifetime_goes_to_the_login_page(org, client):
    """A page request past the lifetime logs out and redirects to the login page."""
    client.force_login(org.rep)
    session = client.session
    session[LOGIN_AT] = int(time.time()) - 13 * 3600
    session.save()
    r = client.get("/workbench/")
    assert r.status_code == 302 and "/login/" in r["Location"]


@pytest.mark.parametrize("path", ["/users/{rep}/tokens/", "/account/tokens/"])
def test_token_pages_send_anonymous_visitors_to_the_login_page(org, client, path):
    """Anonymous: the token pages redirect to the login page (the API answers 401)."""
    r = client.get(path.format(rep=org.rep.pk))
    assert r.status_code == 302 and "/login/" in r["Location"]


@pytest.mark.parametrize("path", ["/users/{rep}/deactivate/", "/users/{rep}/reactivate/",
                                  "/users/{rep}/tokens/1/revoke/"])
def test_account_actions_are_for_administrators_only(org, client, path):
    """Deactivate, reactivate and revoking others' tokens: 403 for every role without user.manage,
    and nothing changes."""
    from kehu.access.roles import ROLES, Perm

    for role_user in (org.executive, org.manager, org.rep2, org.agent, org.finance, org.analyst, org.auditor):
        assert Perm.USER_MANAGE not in ROLES[role_user.role].perms
        client.force_login(role_user)
        assert client.post(path.format(rep=org.rep.pk)).status_code == 403, role_user.role
    org.rep.refresh_from_db()
    assert org.rep.is_active
