from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.access.roles import ROLE_CHOICES, Level, spec


class Department(models.Model):
    """A node of the organisation tree (总部 › 销售部 › 华东区)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="children",
    )
    # Materialised path "/1/4/9/" so a subtree is one indexed prefix query.
    path = models.CharField(max_length=500, editable=False, db_index=True, default="")

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="department_unique_name_per_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def full_name(self) -> str:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "/".join(reversed(names))


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=ROLE_CHOICES, default="account_manager")
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="users",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    # Set by an administrator's reset (a temporary password): every page asks for a new one first.
    must_change_password = models.BooleanField(_("must change password"), default=False)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    # Raised when the user is deactivated: part of the session hash, so every session issued before
    # ends at once and stays ended if the account is later reactivated.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r for r, _l in ROLE_CHOICES]), name="user_role_known",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def role_spec(self):
        return spec(self.role)

    def _get_session_auth_hash(self, secret=None):
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)  # sessions from before the field stay valid
        from django.utils.crypto import salted_hmac

        return salted_hmac("kehu.access.User.session", f"{self.password}:{self.session_epoch}",
                           secret=secret, algorithm="sha256").hexdigest()

    def has_kehu_perm(self, perm: str) -> bool:
        return self.is_active and perm in self.role_spec.perms

    def can_read_level(self, level: Level) -> bool:
        return self.role_spec.level >= level

    def department_subtree_ids(self) -> list[int]:
        cached = getattr(self, "_subtree_ids", None)
        if cached is None:
            if self.department_id is None:
                cached = []
            else:
                from kehu.access import authcache

                version = authcache.tree_version()  # before the database (see authcache)
                cached = authcache.subtree_get(version, self.department_id)
                if cached is None:
                    path = Department.objects.filter(pk=self.department_id).values_list("path", flat=True).first()
                    cached = list(Department.objects.filter(path__startswith=path).values_list("id", flat=True))
                    authcache.subtree_put(version, self.department_id, cached)
            self._subtree_ids = cached
        return cached


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the clear token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set from KEHU_TOKEN_TTL_DAYS when issued; an expired token answers 401 like a revoked one.
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at is not None and self.expires_at <= timezone.now()

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class LoginAttempt(models.Model):
    """One login attempt, kept to lock an account after repeated failures."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["username", "at"])]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.succeeded else 'failed'} {self.at:%Y-%m-%d %H:%M}"


class LoginThrottle(models.Model):
    """A counter of login attempts for one key (a client IP, an account from one IP, an account from
    unknown places), changed only by single conditional UPDATE statements, so parallel attempts on
    several processes never get more password checks than the limit (kehu.access.throttle)."""

    key = models.CharField(max_length=255, unique=True)
    count = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    blocked_until = models.DateTimeField(null=True, blank=True)
    # Blocks in a row: each one lasts twice the one before (growing delays), reset after a quiet day.
    strikes = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
