"""Logging in: Argon2 hashes, lockout after repeated failures, idle session timeout, API tokens."""

import datetime as dt
import hashlib

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone

from kehu.access import services
from kehu.access.models import ApiToken, LoginAttempt, LoginThrottle
from kehu.audit.models import AuditEntry
from kehu.errors import Locked, NotAuthenticated, NotFound

pytestmark = pytest.mark.django_db


def login(username, password):
    request = RequestFactory().post("/login/", REMOTE_ADDR="203.0.113.7")
    return services.login_check(request=request, username=username, password=password)


# ---------------------------------------------------------------- passwords

def test_production_settings_hash_passwords_with_argon2_first():
    """kehu.settings lists Argon2 first, so every new or upgraded hash is Argon2."""
    import kehu.settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_stored_password_is_an_argon2_hash(org):
    """A user's password is stored as an Argon2id hash, never in clear."""
    org.rep.refresh_from_db()
    assert org.rep.password.startswith("argon2$argon2id$")
    assert org.password not in org.rep.password
    assert org.rep.check_password(org.password)


# ---------------------------------------------------------------- lockout

def test_right_password_logs_in_and_is_recorded(org):
    """A correct login returns the user and records a successful attempt with the client IP."""
    assert login("rep", org.password) == org.rep
    attempt = LoginAttempt.objects.get()
    assert (attempt.username, attempt.succeeded, attempt.ip) == ("rep", True, "203.0.113.7")


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(org):
    """A wrong password and an unknown username get the same answer."""
    with pytest.raises(NotAuthenticated) as wrong_password:
        login("rep", "wrong-password")
    with pytest.raises(NotAuthenticated) as unknown_user:
        login("nobody", "wrong-password")
    assert wrong_password.value.message == unknown_user.value.message


def test_lockout_after_five_failures_in_fifteen_minutes_refuses_even_the_right_password(org):
    """After 5 failed logins within 15 minutes the account is locked: the right password fails too."""
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            login("rep", "wrong-password")
    with pytest.raises(NotAuthenticated):
        login("rep", "wrong-password")  # the fifth failure locks
    assert AuditEntry.objects.filter(action="user.locked", object_id=str(org.rep.pk)).count() == 1
    with pytest.raises(Locked) as exc:
        login("rep", org.password)
    assert exc.value.status == 429
    assert not LoginAttempt.objects.filter(succeeded=True).exists()


def test_four_failures_do_not_lock(org):
    """Four failures leave the account usable."""
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            login("rep", "wrong-password")
    assert login("rep", org.password) == org.rep


def test_lockout_ends_when_the_failures_leave_the_window(org):
    """Failures older than 15 minutes no longer count: the account unlocks by itself."""
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            login("rep", "wrong-password")
    with pytest.raises(Locked):
        login("rep", org.password)
    # The lockout (15 minutes, the first time) has run out.
    LoginThrottle.objects.update(blocked_until=timezone.now() - dt.timedelta(seconds=1),
                                 window_start=timezone.now() - dt.timedelta(minutes=16))
    assert login("rep", org.password) == org.rep


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(org):
    """Only the failures within the last 15 minutes count."""
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            login("rep", "wrong-password")
    LoginThrottle.objects.update(window_start=timezone.now() - dt.timedelta(minutes=16))
    with pytest.raises(NotAuthenticated):
        login("rep", "wrong-password")
    assert login("rep", org.password) == org.rep


def test_lockout_is_per_account(org):
    """Locking one account leaves the others usable."""
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            login("rep", "wrong-password")
    assert login("rep2", org.password) == org.rep2


def test_lockout_applies_to_the_token_endpoint(org, client):
    """POST /auth/token is refused with 429 once locked, in the API error format."""
    for _ in range(5):
        r = client.post("/api/v1/auth/token", {"username": "rep", "password": "wrong-password"},
                        content_type="application/json")
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", {"username": "rep", "password": org.password},
                    content_type="application/json")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "locked"


def test_inactive_user_cannot_log_in(org):
    """A deactivated account cannot log in."""
    org.rep.is_active = False
    org.rep.save()
    with pytest.raises(NotAuthenticated):
        login("rep", org.password)


# ---------------------------------------------------------------- idle timeout

def test_idle_session_timeout_is_thirty_minutes_and_slides():
    """Sessions expire 30 minutes after the last request (the cookie age is renewed on every request)."""
    import kehu.settings as production

    assert production.SESSION_COOKIE_AGE == 30 * 60
    assert production.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST is True


def test_each_request_pushes_the_session_expiry_thirty_minutes_ahead(org, client):
    """An active session's expiry moves with every request; an idle one is gone."""
    client.force_login(org.rep)
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(minutes=5))
    assert client.get("/api/v1/auth/tokens").status_code == 200
    expiry = Session.objects.get(pk=key).expire_date
    assert expiry > timezone.now() + dt.timedelta(minutes=29)
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    r = client.get("/api/v1/auth/tokens")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


# ---------------------------------------------------------------- API tokens

def test_token_is_stored_only_as_its_hash(org):
    """The clear token is returned once; the database holds its SHA-256 and a short prefix only."""
    token, key = services.token_create(actor=org.rep, name="ERP 同步")
    token.refresh_from_db()
    assert key.startswith("kehu_") and len(key) > 40
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(ApiToken.objects.values_list()))
    assert token.prefix == key[:12]
    assert AuditEntry.objects.filter(action="token.create", object_id=str(token.pk)).exists()


def test_token_authenticates_its_user_and_stamps_last_use(org):
    """A valid token identifies its user and records when it was last used."""
    token, key = services.token_create(actor=org.rep, name="ERP 同步")
    assert services.token_authenticate(key) == org.rep
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert services.token_authenticate(key + "x") is None
    assert services.token_authenticate("") is None


def test_revoked_token_answers_401(org, client):
    """Once revoked, a token no longer authenticates: the API answers 401."""
    token, key = services.token_create(actor=org.rep, name="ERP 同步")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/v1/customers", **auth).status_code == 200
    r = client.delete(f"/api/v1/auth/tokens/{token.pk}", **auth)
    assert r.status_code == 204
    r = client.get("/api/v1/customers", **auth)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    assert AuditEntry.objects.filter(action="token.revoke", object_id=str(token.pk)).count() == 1


def test_token_of_a_deactivated_user_answers_401(org, client):
    """Deactivating a user disables their tokens."""
    _token, key = services.token_create(actor=org.rep, name="ERP 同步")
    org.rep.is_active = False
    org.rep.save()
    assert client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_user_can_revoke_only_own_tokens_admin_any(org):
    """Another user's token is not found for a normal user; an administrator may revoke it."""
    token, _key = services.token_create(actor=org.rep, name="ERP 同步")
    with pytest.raises(NotFound):
        services.token_revoke(actor=org.rep2, token_id=token.pk)
    services.token_revoke(actor=org.admin, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is not None
    services.token_revoke(actor=org.rep, token_id=token.pk)  # idempotent: no second audit entry
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


def test_token_endpoint_exchanges_password_for_token(org, client):
    """POST /auth/token with the right password answers 201 with a working token."""
    r = client.post("/api/v1/auth/token", {"username": "rep", "password": org.password, "name": "手机"},
                    content_type="application/json")
    assert r.status_code == 201
    key = r.json()["token"]
    r = client.get("/api/v1/auth/tokens", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert [t["name"] for t in r.json()] == ["手机"]
    assert "token" not in r.json()[0] and "key_hash" not in r.json()[0]
