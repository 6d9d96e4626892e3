from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kehu.access.models import ApiToken, Department, User
from kehu.access.roles import Perm
from kehu.errors import Forbidden


def user_list(*, actor) -> QuerySet[User]:
    """All users, for administrators."""
    if not actor.has_kehu_perm(Perm.USER_MANAGE):
        raise Forbidden(_("Only administrators may list users."))
    return User.objects.select_related("department")


def token_list(*, actor) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor).order_by("-created_at")


def department_list(*, actor) -> QuerySet[Department]:
    return Department.objects.order_by("path")
