"""The token → user look-up and the session's user come from the cache (kehu.access.authcache), and whatever
changes them — revocation, deactivation, a password reset, a role or department change — takes effect on the
very next request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from kehu.access import authcache, services
from kehu.access.models import ApiToken, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache(org):
    """The organisation was set up a while ago: the tombstones its creation left (kehu.access.authcache) are
    gone."""
    cache.clear()
    yield
    cache.clear()


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _auth_queries(key) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        user = services.token_authenticate(key)
    assert user is not None
    return [q["sql"] for q in ctx.captured_queries]


def test_a_live_token_is_looked_up_once_then_served_from_the_cache(org):
    _token, key = services.token_create(actor=org.rep, name="ERP")
    first = _auth_queries(key)
    assert any("access_apitoken" in sql for sql in first)
    assert _auth_queries(key) == []  # no query at all: token, user and the last-use stamp (done a minute ago)
    assert services.token_authenticate(key) == org.rep


def test_a_revoked_token_is_refused_at_once(org, client):
    token, key = services.token_create(actor=org.rep, name="ERP")
    assert client.get("/api/v1/auth/tokens", **bearer(key)).status_code == 200  # cached now
    r = client.delete(f"/api/v1/auth/tokens/{token.pk}", **bearer(key))
    assert r.status_code == 204, r.content
    r = client.get("/api/v1/auth/tokens", **bearer(key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_a_request_that_read_the_token_before_the_revocation_cannot_cache_it_again(org):
    """The race: a request reads the live row, the revocation commits (and drops the entry), then the request
    caches what it read. The tombstone left by the revocation refuses that late write."""
    token, key = services.token_create(actor=org.rep, name="ERP")
    stale = services.token_authenticate(key)
    services.token_revoke(actor=org.rep, token_id=token.pk)
    authcache.token_put(ApiToken.hash_key(key), token.pk, token.expires_at, stale)  # the late write
    assert services.token_authenticate(key) is None


def test_a_token_replaced_by_a_new_one_of_the_same_name_is_refused_at_once(org):
    _t, old = services.token_create(actor=org.rep, name="ERP")
    assert services.token_authenticate(old) == org.rep
    _t, new = services.token_create(actor=org.rep, name="ERP")
    assert services.token_authenticate(old) is None
    assert services.token_authenticate(new) == org.rep


def test_deactivation_and_password_reset_end_cached_tokens_at_once(org):
    _t, key = services.token_create(actor=org.rep, name="ERP")
    _t, key2 = services.token_create(actor=org.rep2, name="ERP")
    assert services.token_authenticate(key) == org.rep and services.token_authenticate(key2) == org.rep2
    services.user_deactivate(actor=org.admin, user_id=org.rep.pk)
    assert services.token_authenticate(key) is None
    services.password_reset(actor=org.admin, user_id=org.rep2.pk)
    assert services.token_authenticate(key2) is None


def test_a_role_change_reaches_the_cached_token_user_on_the_next_request(org, client):
    _t, key = services.token_create(actor=org.rep, name="ERP")
    assert client.get("/api/v1/users", **bearer(key)).status_code == 403  # an account manager: cached now
    user = User.objects.get(pk=org.rep.pk)
    user.role = "admin"
    user.save()
    assert client.get("/api/v1/users", **bearer(key)).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get("/api/v1/users", **bearer(key)).status_code == 401


def test_an_expired_cached_token_is_refused(org, client, monkeypatch):
    token, key = services.token_create(actor=org.rep, name="ERP")
    assert client.get("/api/v1/auth/tokens", **bearer(key)).status_code == 200  # cached with its expiry
    later = token.expires_at + __import__("datetime").timedelta(seconds=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert client.get("/api/v1/auth/tokens", **bearer(key)).status_code == 401


def test_the_session_user_is_cached_and_a_password_change_elsewhere_ends_the_session(org, client):
    client.force_login(org.rep)
    assert client.get("/api/v1/auth/tokens").status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/auth/tokens").status_code == 200
    assert not [q for q in ctx.captured_queries if 'FROM "access_user"' in q["sql"]]
    user = User.objects.get(pk=org.rep.pk)
    user.set_password("Another#Pass2026")
    user.save()
    assert client.get("/api/v1/auth/tokens").status_code == 401


def test_deactivation_ends_a_cached_session_at_once(org, client):
    client.force_login(org.rep)
    assert client.get("/api/v1/auth/tokens").status_code == 200
    services.user_deactivate(actor=org.admin, user_id=org.rep.pk)
    assert client.get("/api/v1/auth/tokens").status_code == 401


def test_a_cached_user_of_another_session_hash_is_never_taken(org, client):
    """A row cached under this id whose password (so session hash) differs is not the session's user."""
    client.force_login(org.rep)
    impostor = User.objects.get(pk=org.rep.pk)
    impostor.set_password("Other#Pass2026")
    cache.set(authcache._user_key(org.rep.pk), authcache._clean(impostor), 300)
    assert client.get("/api/v1/auth/tokens").status_code == 200  # read from the database, still valid


def test_a_new_department_joins_a_managers_cached_subtree_at_once(org):
    from kehu.access.services import department_ensure_path

    manager = User.objects.get(pk=org.manager.pk)
    before = manager.department_subtree_ids()
    again = User.objects.get(pk=org.manager.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert again.department_subtree_ids() == before
    assert len(ctx.captured_queries) == 0
    child = department_ensure_path(actor=None, path="总部/销售部/华东区/杭州组")
    fresh = User.objects.get(pk=org.manager.pk)
    assert child.pk in fresh.department_subtree_ids()


@override_settings(KEHU_AUTH_CACHE_SECONDS=0)
def test_without_the_cache_every_lookup_asks_the_database(org):
    _t, key = services.token_create(actor=org.rep, name="ERP")
    services.token_authenticate(key)
    assert any("access_apitoken" in sql for sql in _auth_queries(key))


def test_production_settings_share_the_cache_and_keep_connections():
    """Several processes must see one cache (else a revocation would reach one process only), and a request
    must not open a new database connection (bench/README.md "Per-request overhead")."""
    import kehu.settings as production

    assert production.CACHES["default"]["BACKEND"].endswith(("RedisCache", "FileBasedCache", "LocMemCache"))
    assert production._database("sqlite:////tmp/kehu.sqlite3")["CONN_MAX_AGE"] > 0
    assert production._database("postgres://postgres@127.0.0.1:5432/kehu")["CONN_MAX_AGE"] > 0
    assert production.KEHU_AUTH_CACHE_SECONDS > 0
