"""Writes of the access app: departments, users, logins, API tokens. Each one audited."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import ApiToken, Department, LoginAttempt, User
from kehu.access.roles import ROLES, Perm
from kehu.audit.services import audit_record
from kehu.errors import Forbidden, Invalid, Locked, NotAuthenticated, NotFound, from_django_validation


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


def _failures_in_window(username: str) -> int:
    since = timezone.now() - dt.timedelta(minutes=settings.KEHU_LOCKOUT_WINDOW_MINUTES)
    last_ok = (LoginAttempt.objects.filter(username=username, succeeded=True, at__gte=since)
               .order_by("-at").values_list("at", flat=True).first())
    qs = LoginAttempt.objects.filter(username=username, succeeded=False, at__gte=last_ok or since)
    return qs.count()


def login_check(*, request, username: str, password: str) -> User:
    """Authenticate with lockout: after N failures within the window the account refuses every
    password until the window has passed. Records each attempt; audits lockouts."""
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    if _failures_in_window(username) >= settings.KEHU_LOCKOUT_ATTEMPTS:
        raise Locked(_("Too many failed logins. The account is locked for %(m)d minutes.")
                     % {"m": settings.KEHU_LOCKOUT_WINDOW_MINUTES})
    user = authenticate(request, username=username, password=password)
    with transaction.atomic():
        LoginAttempt.objects.create(username=username, ip=ip, succeeded=user is not None)
        if user is None:
            if _failures_in_window(username) >= settings.KEHU_LOCKOUT_ATTEMPTS:
                target = User.objects.filter(username=username).first()
                audit_record(actor=None, action="user.locked", object_type="access.user",
                             object_id=target.pk if target else "", object_repr=username)
    # Raised after the block: raising inside it would roll back the failed attempt just recorded.
    if user is None:
        raise NotAuthenticated(_("Wrong username or password."))
    return user


@transaction.atomic
def token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Issue a personal API token; the clear key is returned once and never stored. Not while a
    temporary password waits to be changed."""
    if getattr(actor, "must_change_password", False):
        raise Forbidden(_("Change your temporary password first."), code="password_change_required")
    key = "kehu_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=actor, name=(name or "api")[:100], prefix=key[:12],
                                    key_hash=ApiToken.hash_key(key))
    audit_record(actor=actor, action="token.create", obj=token)
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
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoke", obj=token)
    return token


def token_authenticate(key: str) -> User | None:
    """The user behind a bearer token, or None. Touches last_used at most once a minute."""
    token = (ApiToken.objects.select_related("user", "user__department")
             .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


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
    audit_record(actor=actor, action="user.password_reset", obj=user, changes={"tokens_revoked": revoked})
    return user, temporary_password


def _temporary_password() -> str:
    """12 characters from an alphabet without look-alikes (0/O, 1/l/I), with a letter and a digit."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _i in range(12))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
