"""Every read of grading. Policies are configuration: anyone signed in may read the active ones (the
grade names appear on customer pages); drafts and history of versions need GRADING_MANAGE."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.errors import Forbidden, NotFound
from kehu.grading.models import GradingPolicy


def _require_manage(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.GRADING_MANAGE):
        raise Forbidden(_("Only an administrator or an executive may manage grading policies."))


def policy_list(*, actor, state: str | None = None):
    """Every version, newest first per name (administration)."""
    _require_manage(actor)
    qs = GradingPolicy.objects.select_related("created_by").order_by("name", "-version")
    if state:
        qs = qs.filter(state=state)
    return qs


def policy_get(*, actor, policy_id: int) -> GradingPolicy:
    _require_manage(actor)
    policy = GradingPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No such grading policy."))
    return policy
