from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.models import ApiToken, Department, User
from kehu.access.roles import Perm
from kehu.errors import Forbidden, NotFound


def user_list(*, actor) -> QuerySet[User]:
    """All users, for administrators."""
    if not actor.has_kehu_perm(Perm.USER_MANAGE):
        raise Forbidden(_("Only administrators may list users."))
    return User.objects.select_related("department")


def user_manage_list(*, actor, q: str = "") -> QuerySet[User]:
    """Users for the administrators' page (user.manage), by department and name; ``q`` matches the
    display name or login name."""
    qs = user_list(actor=actor).order_by("department__path", "id")
    if q:
        qs = qs.filter(Q(display_name__icontains=q) | Q(username__icontains=q))
    return qs


def token_list(*, actor) -> QuerySet[ApiToken]:
    """The actor's own API tokens, newest first (live, expired and revoked)."""
    return ApiToken.objects.filter(user=actor).order_by("-created_at")


def token_list_of_user(*, actor, user_id: int) -> tuple[User, QuerySet[ApiToken]]:
    """Administrators (user.manage): one user's API tokens, newest first. 404 for no such user."""
    user = user_list(actor=actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."))
    return user, ApiToken.objects.filter(user=user).order_by("-created_at")


def department_list(*, actor) -> QuerySet[Department]:
    return Department.objects.order_by("path")
