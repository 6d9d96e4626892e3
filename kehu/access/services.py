"""Writes of the access app: departments, users, logins, API tokens. Each one audited."""

from __future__ import annotations

import datetime as dt
import math
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access import authcache, throttle
from kehu.access.client_ip import client_ip
from kehu.access.models import ApiToken, Department, LoginAttempt, User
from kehu.access.roles import ROLES, Perm
from kehu.audit.services import audit_record
from kehu.errors import (
    Conflict,
    Forbidden,
    Invalid,
    Locked,
    NotAuthenticated,
    NotFound,
    from_django_validation,
)


@transaction.atomic
def department_ensure_path(*, actor, path: str) -> Department:
    """Return the department named by "总部/销售部/华东区", creating missing levels."""
    names = [n.strip() for n in path.replace("›", "/").split("/") if n.strip()]
    if not names:
        raise Invalid(_("A department path is required."), fields={"department": [_("Required.")]})
    parent = None
    for name in names:
        node = Department.objects.filter(parent=parent, name=name).first()
        if node is None:
            node = Department.objects.create(parent=parent, name=name)
            node.path = f"{parent.path if parent else '/'}{node.pk}/"
            node.save(update_fields=["path"])
            audit_record(actor=actor, action="department.create", obj=node, changes={"name": [None, name]})
        parent = node
    return parent


@transaction.atomic
def user_create(*, actor, username: str, password: str, role: str, department: Department | None = None,
                department_path: str | None = None, display_name: str = "", email: str = "") -> User:
    """Create a user in a department (given, or by path, created if missing). ``actor`` None means
    the command line (an operator on the server)."""
    if actor is not None and not actor.has_kehu_perm(Perm.USER_MANAGE):
        raise Forbidden(_("Only administrators may create users."))
    if department is None:
        if not department_path:
            raise Invalid(_("A department is required."), fields={"department": [_("Required.")]})
        department = department_ensure_path(actor=actor, path=department_path)
    if role not in ROLES:
        raise Invalid(_("Unknown role “%(r)s”.") % {"r": role}, fields={"role": [_("Unknown role.")]})
    if User.objects.filter(username=username).exists():
        raise Invalid(_("The username is already taken."), fields={"username": [_("Already taken.")]})
    user = User(username=username, role=role, department=department, display_name=display_name, email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), fields={"password": exc.messages}) from exc
    user.set_password(password)
    try:
        user.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from exc
    user.save()
    audit_record(actor=actor, action="user.create", obj=user,
                 changes={"role": [None, role], "department": [None, department.full_name() if department else None]})
    return user


@throttle.retry_when_sqlite_is_locked
def _known_place(username: str, ip: str | None) -> bool:
    """An IP from which this account logged in within the last known_days."""
    if not ip:
        return False
    since = timezone.now() - dt.timedelta(days=throttle.conf()["known_days"])
    return LoginAttempt.objects.filter(username=username, ip=ip, succeeded=True, at__gte=since).exists()


@throttle.retry_when_sqlite_is_locked
def _login_record(*, username: str, ip: str | None, user: User | None, limits) -> None:
    """Record a checked attempt; a success frees its counters, a failure may lock the account here."""
    with transaction.atomic():
        LoginAttempt.objects.create(username=username, ip=ip, succeeded=user is not None)
        if user is not None:
            for limit in limits:
                if limit.key.startswith("acctip:"):
                    throttle.clear(limit)
                else:
                    throttle.give_back(limit)
        else:
            account_ip = next(lim for lim in limits if lim.key.startswith("acctip:"))
            if throttle.is_full(account_ip):
                throttle.block(account_ip)
                target = User.objects.filter(username=username).first()
                audit_record(actor=None, action="user.locked", object_type="access.user",
                             object_id=target.pk if target else "", object_repr=username,
                             changes={"ip": ip})


def login_check(*, request, username: str, password: str, known_device: bool = False) -> User:
    """Authenticate with throttling (kehu.access.throttle): the counters are taken before the password
    is checked, so a throttled attempt costs no Argon2 and parallel ones cannot exceed the limit.
    ``known_device``: the browser holds the signed cookie of an earlier login as this user. Records
    each checked attempt; audits lockouts. Raises Locked (429, ``retry_after`` seconds) or
    NotAuthenticated (401)."""
    ip = client_ip(request)
    known = known_device or _known_place(username, ip)
    limits = throttle.limits_for(username=username, ip=ip, known=known)
    taken = []
    try:
        for limit in limits:
            throttle.take(limit)
            taken.append(limit)
    except throttle.Throttled as exc:
        for limit in taken:
            throttle.give_back(limit)  # this attempt is not made: it costs the other counters nothing
        minutes = max(1, math.ceil(exc.retry_after / 60))
        error = Locked(_("Too many failed logins. Try again in %(m)d minutes.") % {"m": minutes})
        error.retry_after = exc.retry_after
        raise error from None
    user = authenticate(request, username=username, password=password)
    _login_record(username=username, ip=ip, user=user, limits=limits)
    # Raised after the block: raising inside it would roll back the failed attempt just recorded.
    if user is None:
        raise NotAuthenticated(_("Wrong username or password."))
    return user


@transaction.atomic
def token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Issue a personal API token, valid KEHU_TOKEN_TTL_DAYS; the clear key is returned once and never
    stored. A live token of the same name is replaced (revoked), so a script that logs in again and
    again keeps one token; beyond KEHU_TOKEN_MAX_PER_USER live tokens a new name is refused (409). Not
    while a temporary password waits to be changed."""
    if getattr(actor, "must_change_password", False):
        raise Forbidden(_("Change your temporary password first."), code="password_change_required")
    User.objects.select_for_update().filter(pk=actor.pk).first()  # one issuer at a time per user: the cap holds
    name = (name or "api").strip()[:100] or "api"
    now = timezone.now()
    live = ApiToken.objects.filter(user=actor, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    replaced = list(live.filter(name=name).values_list("pk", flat=True))
    if not replaced and live.count() >= settings.KEHU_TOKEN_MAX_PER_USER:
        raise Conflict(_("You already have %(n)d active API tokens; revoke one you no longer use first.")
                       % {"n": settings.KEHU_TOKEN_MAX_PER_USER}, code="too_many_tokens")
    if replaced:
        ApiToken.objects.filter(pk__in=replaced).update(revoked_at=now)
        authcache.forget_tokens(ApiToken.objects.filter(pk__in=replaced).values_list("key_hash", flat=True))
    key = "kehu_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=actor, name=name, prefix=key[:12], key_hash=ApiToken.hash_key(key),
                                    expires_at=now + dt.timedelta(days=settings.KEHU_TOKEN_TTL_DAYS))
    audit_record(actor=actor, action="token.create", obj=token,
                 changes={"expires_at": [None, token.expires_at.isoformat()], "replaced": replaced})
    return token, key


@transaction.atomic
def token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's tokens (an admin may revoke anyone's)."""
    qs = ApiToken.objects.select_for_update()
    if not actor.has_kehu_perm(Perm.USER_MANAGE):
        qs = qs.filter(user=actor)
    token = qs.filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])  # the post_save signal drops its cache entry
        audit_record(actor=actor, action="token.revoke", obj=token)
    return token


def token_authenticate(key: str) -> User | None:
    """The user behind a live (unrevoked, unexpired) bearer token of an active user, or None. Touches
    last_used at most once a minute. A live token and its user come from the cache when they are there
    (kehu.access.authcache: no query at all); revoked, expired and unknown tokens always ask the database."""
    now = timezone.now()
    key_hash = ApiToken.hash_key(key)
    entry = authcache.token_get(key_hash)
    if entry is not None:
        token_id, expires_at, user = entry
        if expires_at is not None and expires_at <= now:
            return None
    else:
        token = (ApiToken.objects.select_related("user")
                 .filter(key_hash=key_hash, revoked_at__isnull=True)
                 .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                 .only("pk", "expires_at", *(f"user__{f.attname}" for f in User._meta.concrete_fields)).first())
        if token is None:
            return None
        token_id, user = token.pk, token.user
        authcache.token_put(key_hash, token.pk, token.expires_at, user)
    if not user.is_active:
        return None
    if authcache.token_touch_due(key_hash):
        ApiToken.objects.filter(pk=token_id).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - dt.timedelta(minutes=1))).update(last_used_at=now)
    return user


# ---------------------------------------------------------------- deactivation

def _revoke_access(user: User) -> int:
    """End every session and token of ``user`` now; returns how many tokens were revoked."""
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)  # session hashes change
    authcache.forget_user(user.pk)  # the UPDATEs above send no signals
    return revoked


@transaction.atomic
def user_deactivate(*, actor, user_id: int) -> User:
    """Deactivate a user (user.manage; ``actor`` None is the command line): they can no longer log in,
    and their sessions and API tokens stop working at once. Idempotent."""
    if actor is not None and not actor.has_kehu_perm(Perm.USER_MANAGE):
        raise Forbidden(_("Only administrators may deactivate users."))
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."))
    if actor is not None and user.pk == actor.pk:
        raise Invalid(_("You cannot deactivate yourself."), fields={"user": [_("Yourself.")]})
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = _revoke_access(user)
    user.refresh_from_db()
    audit_record(actor=actor, action="user.deactivate", obj=user,
                 changes={"is_active": [True, False], "tokens_revoked": revoked})
    return user


@transaction.atomic
def user_reactivate(*, actor, user_id: int) -> User:
    """Let a deactivated user log in again (user.manage). Their old sessions and tokens stay ended."""
    if actor is not None and not actor.has_kehu_perm(Perm.USER_MANAGE):
        raise Forbidden(_("Only administrators may reactivate users."))
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."))
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(actor=actor, action="user.reactivate", obj=user, changes={"is_active": [False, True]})
    return user


# ---------------------------------------------------------------- passwords

def _validated_password(password: str, user: User, *, field: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), fields={field: exc.messages}) from exc


@transaction.atomic
def password_change(*, actor: User, old_password: str, new_password: str) -> User:
    """Change one's own password: the current one is required and the password policy applies
    (the new one may not be the old one). Ends a forced change after an administrator's reset."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise NotAuthenticated(_("Please log in."))
    user = User.objects.select_for_update().get(pk=actor.pk)
    if not old_password or not user.check_password(old_password):
        raise Invalid(_("The current password is wrong."), fields={"old_password": [_("Wrong password.")]})
    if not new_password:
        raise Invalid(_("A new password is required."), fields={"new_password": [_("Required.")]})
    if new_password == old_password:
        raise Invalid(_("Choose a password different from the current one."),
                      fields={"new_password": [_("Same as the current password.")]})
    _validated_password(new_password, user, field="new_password")
    forced = user.must_change_password
    user.set_password(new_password)
    user.must_change_password, user.password_changed_at = False, timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    actor.password, actor.must_change_password = user.password, False
    audit_record(actor=user, action="user.password_change", obj=user, changes={"forced": forced})
    return user


@transaction.atomic
def password_reset(*, actor: User, user_id: int, temporary_password: str = "") -> tuple[User, str]:
    """An administrator (user.manage) sets a temporary password for a user, who must change it at the
    next login; the user's API tokens are revoked. Returns the user and the temporary password (to be
    handed over once; never stored in clear or audited)."""
    if actor is None or not actor.has_kehu_perm(Perm.USER_MANAGE):
        raise Forbidden(_("Only administrators may reset passwords."))
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."))
    if user.pk == actor.pk:
        raise Invalid(_("Change your own password on your account page."), fields={"user": [_("Yourself.")]})
    temporary_password = temporary_password or _temporary_password()
    _validated_password(temporary_password, user, field="temporary_password")
    user.set_password(temporary_password)
    user.must_change_password, user.password_changed_at = True, timezone.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    authcache.forget_user(user.pk)
    audit_record(actor=actor, action="user.password_reset", obj=user, changes={"tokens_revoked": revoked})
    return user, temporary_password


def _temporary_password() -> str:
    """12 characters from an alphabet without look-alikes (0/O, 1/l/I), with a letter and a digit."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _i in range(12))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
