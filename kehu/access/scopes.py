"""Row scope: the one function that narrows any owned record to what an actor may see."""

from __future__ import annotations

from django.db.models import Q

from kehu.access.roles import Scope


def scope_q(actor, *, owner_field: str = "owner", department_field: str = "department") -> Q:
    """A filter for rows within ``actor``'s data scope (own / department subtree / all)."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return Q(pk__in=[])
    scope = actor.role_spec.scope
    if scope == Scope.ALL:
        return Q()
    if scope == Scope.SUBTREE:
        # The department subtree alone (a record's department follows its owner's): no "OR owner",
        # which would stop the database from reading the subtree's rows in index order.
        return Q(**{f"{department_field}_id__in": actor.department_subtree_ids()})
    return Q(**{f"{owner_field}_id": actor.pk})


def in_scope(actor, *, owner_id, department_id) -> bool:
    """The same rule as scope_q for one already-loaded row."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    scope = actor.role_spec.scope
    if scope == Scope.ALL:
        return True
    if scope == Scope.SUBTREE:
        return department_id in actor.department_subtree_ids()
    return owner_id == actor.pk
