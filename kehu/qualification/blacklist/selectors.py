"""Every read of disqualifications, the blacklist and screening hits. Rows are scoped like customers by the
account manager and department they belonged to when written (own / department subtree / all); outside
the scope a row does not exist (404). Reading needs sales.write or qualification.verify."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate
from kehu.qualification.blacklist.models import (
    BlacklistEntry,
    Disqualification,
    Evidence,
    HitState,
    ScreeningHit,
)

MAX_ID = 2**63


def can_read(actor) -> bool:
    return bool(actor and actor.is_authenticated and (actor.has_kehu_perm(Perm.SALES_WRITE)
                                                      or actor.has_kehu_perm(Perm.QUALIFICATION_VERIFY)))


def require_read(actor) -> None:
    if not can_read(actor):
        raise Forbidden(_("You are not allowed to see the blacklist."))


def _valid(pk) -> bool:
    return isinstance(pk, int) and 0 < pk < MAX_ID


# ---------------------------------------------------------------- disqualifications

def disqualification_base(*, actor) -> QuerySet[Disqualification]:
    require_read(actor)
    return Disqualification.objects.filter(scope_q(actor))


def disqualification_list(*, actor, state: str | None = None, ordering: str = "-id", limit: int | None = None,
                          cursor: str | None = None) -> Page:
    """Disqualification requests in scope with their evidence counts (one query)."""
    qs = disqualification_base(actor=actor).select_related("requested_by").annotate(n_evidence=Count("evidence"))
    if state:
        qs = qs.filter(state=state)
    return paginate(qs, ordering=ordering, allowed={"id": int}, limit=limit, cursor=cursor)


def disqualification_get(*, actor, disqualification_id: int, for_update: bool = False) -> Disqualification:
    if not _valid(disqualification_id):
        raise NotFound(_("Disqualification not found."))
    qs = disqualification_base(actor=actor).select_related("requested_by", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    d = qs.filter(pk=disqualification_id).first()
    if d is None:
        raise NotFound(_("Disqualification not found."))
    return d


def evidence_get(*, actor, disqualification_id: int, evidence_id: int) -> Evidence:
    """An evidence file of a request in scope (404 otherwise)."""
    disq = disqualification_get(actor=actor, disqualification_id=disqualification_id)
    ev = Evidence.objects.filter(pk=evidence_id, disqualification=disq).first() if _valid(evidence_id) else None
    if ev is None:
        raise NotFound(_("Evidence not found."))
    return ev


# ---------------------------------------------------------------- entries

def entry_base(*, actor) -> QuerySet[BlacklistEntry]:
    require_read(actor)
    return BlacklistEntry.objects.filter(scope_q(actor))


def entry_list(*, actor, state: str | None = "active", q: str | None = None, category: str | None = None,
               ordering: str = "-id", limit: int | None = None, cursor: str | None = None) -> Page:
    """Blacklist entries in scope (active by default); ``q`` finds a name (its core) or a USCC."""
    qs = entry_base(actor=actor).select_related("department", "disqualification")
    if state:
        qs = qs.filter(state=state)
    if category:
        qs = qs.filter(category=category)
    if q:
        from kehu.qualification.blacklist.screening import core_of

        q = q.strip()[:200]
        core = core_of(q)
        qs = qs.filter(Q(uscc=q.upper()) | Q(customer_name__icontains=q) | (Q(name_core=core) if core else Q(pk=0)))
    return paginate(qs, ordering=ordering, allowed={"id": int}, limit=limit, cursor=cursor)


def entry_get(*, actor, entry_id: int, for_update: bool = False) -> BlacklistEntry:
    if not _valid(entry_id):
        raise NotFound(_("Blacklist entry not found."))
    qs = entry_base(actor=actor).select_related("department", "disqualification")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    entry = qs.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("Blacklist entry not found."))
    return entry


def entry_for_customer(*, customer_id: int) -> BlacklistEntry | None:
    """The active entry of a customer (for the customer page and the gate's explanation)."""
    return (BlacklistEntry.objects.filter(customer_id=customer_id, state="active").order_by("-id").first())


# ---------------------------------------------------------------- hits

def hit_base(*, actor) -> QuerySet[ScreeningHit]:
    require_read(actor)
    return ScreeningHit.objects.filter(scope_q(actor))


def hit_list(*, actor, state: str | None = HitState.OPEN, ordering: str = "-id", limit: int | None = None,
             cursor: str | None = None) -> Page:
    qs = hit_base(actor=actor).select_related("entry")
    if state:
        qs = qs.filter(state=state)
    return paginate(qs, ordering=ordering, allowed={"id": int}, limit=limit, cursor=cursor)


def hit_get(*, actor, hit_id: int, for_update: bool = False) -> ScreeningHit:
    if not _valid(hit_id):
        raise NotFound(_("Screening hit not found."))
    qs = hit_base(actor=actor).select_related("entry")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    hit = qs.filter(pk=hit_id).first()
    if hit is None:
        raise NotFound(_("Screening hit not found."))
    return hit
