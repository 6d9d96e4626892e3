"""Who is asking, without a query per request: the bearer token → user look-up and the session's user, kept in
Django's cache (settings.CACHES: shared by every process of a deployment) and dropped whenever what they were
read from changes.

* ``tok:<sha256>`` → (token id, expires_at, the user row): a live token only; revoked, expired or unknown tokens
  are never cached, so they cost the database query every time. Revoking replaces the entry with a tombstone
  (now and again after the revoking transaction commits), and entries are only ever *added* (never written
  over a tombstone), so a request that read the token before the revocation committed cannot put it back:
  a revoked token is refused at once. ``used:<sha256>`` only throttles the last_used_at stamp to one UPDATE a
  minute cluster-wide.
* ``usr:<id>`` → the User row (no related objects, nothing computed on it) for session authentication, which
  still checks the session's hash against it (so a row cached under an id that now names someone else — a
  test database rolled back — is never taken). Tombstoned on every save or delete of the user (signals), and by
  the services that change users with bulk UPDATEs (deactivation's session epoch, token revocation).
* ``dept:<version>:<department id>`` → the ids of a department's subtree (the data scope of a manager), under
  a version that any change of the department tree replaces.

Entries live at most KEHU_AUTH_CACHE_SECONDS (0 turns the cache off: every look-up goes to the database)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

PREFIX = "kehu:auth:"
TOMBSTONE = "-"
TOMBSTONE_SECONDS = 30  # longer than any request takes between reading a row and caching it


def ttl() -> int:
    return int(getattr(settings, "KEHU_AUTH_CACHE_SECONDS", 0))


def _token_key(key_hash: str) -> str:
    return f"{PREFIX}tok:{key_hash}"


def _user_key(user_id) -> str:
    return f"{PREFIX}usr:{user_id}"


# ---------------------------------------------------------------- reads


def _get(key: str):
    value = cache.get(key)
    return None if value is None or (isinstance(value, str) and value == TOMBSTONE) else value


def token_get(key_hash: str):
    return _get(_token_key(key_hash)) if ttl() else None


def token_put(key_hash: str, token_id: int, expires_at, user) -> None:
    if ttl():
        cache.add(_token_key(key_hash), (token_id, expires_at, _clean(user)), ttl())


def token_touch_due(key_hash: str) -> bool:
    """True at most once a minute per token (for the last_used_at stamp); always True without the cache."""
    return cache.add(f"{PREFIX}used:{key_hash}", 1, 60) if ttl() else True


def user_get(user_id):
    """A fresh User instance from the cache (each call unpickles its own copy), or None."""
    return _get(_user_key(user_id)) if ttl() else None


def _clean(user):
    """A copy of ``user`` with its columns only: nothing loaded beside it or computed on it."""
    fields = user._meta.concrete_fields
    return type(user).from_db(
        user._state.db or "default", [f.attname for f in fields], [getattr(user, f.attname) for f in fields]
    )


def user_put(user) -> None:
    if ttl():
        cache.add(_user_key(user.pk), _clean(user), ttl())


# ---------------------------------------------------------------- invalidation


def _now_and_after_commit(fn) -> None:
    """Run ``fn`` now and once more when the current transaction commits: a request between the two reads
    the old row (still the truth until the commit) and may cache it; the second run drops that too."""
    fn()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(fn)


def _bury(keys: list[str]) -> None:
    if keys and ttl():
        _now_and_after_commit(lambda: cache.set_many(dict.fromkeys(keys, TOMBSTONE), TOMBSTONE_SECONDS))


def forget_tokens(key_hashes) -> None:
    _bury([_token_key(h) for h in key_hashes])


def forget_user(user_id) -> None:
    """Drop the cached user and every cached token of theirs."""
    from kehu.access.models import ApiToken

    if not ttl():
        return
    hashes = list(ApiToken.objects.filter(user_id=user_id).values_list("key_hash", flat=True))
    _bury([_user_key(user_id), *(_token_key(h) for h in hashes)])


# ---------------------------------------------------------------- department subtrees

_TREE_VERSION = f"{PREFIX}dept:version"


def tree_version() -> str | None:
    """The department tree's current version (made on first use), read BEFORE the database: a subtree read
    from the database is cached under the version seen before reading it, so a change that commits meanwhile
    (and sets a new version) orphans it."""
    if not ttl():
        return None
    version = cache.get(_TREE_VERSION)
    if version is None:
        cache.add(_TREE_VERSION, uuid.uuid4().hex, None)
        version = cache.get(_TREE_VERSION)
    return version


def subtree_get(version: str | None, department_id: int):
    return cache.get(f"{PREFIX}dept:{version}:{department_id}") if version else None


def subtree_put(version: str | None, department_id: int, ids: list[int]) -> None:
    if version:
        cache.set(f"{PREFIX}dept:{version}:{department_id}", ids, ttl())


def forget_department_tree() -> None:
    """Any department created, moved or deleted: a new version orphans every cached subtree."""
    if ttl():
        _now_and_after_commit(lambda: cache.set(_TREE_VERSION, uuid.uuid4().hex, None))
