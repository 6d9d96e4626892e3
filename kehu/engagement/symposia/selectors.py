"""Every read of symposia. A symposium is managed in its organizer's scope (own / department subtree /
all, with Perm.SYMPOSIUM_MANAGE); it is also seen by the owners of its invited customers (their own
invitations only) and by the owners of its follow-up items. Outside that it does not exist (404)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm, Scope
from kehu.access.scopes import scope_q
from kehu.customers.selectors import customer_base
from kehu.engagement.symposia.models import (
    FollowUpItem,
    Invitation,
    ItemState,
    Symposium,
    SymposiumState,
)
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate

ORDERINGS = {"id": int, "starts_at": dt.datetime}
ITEM_ORDERINGS = {"id": int, "due_date": dt.date}
MAX_ID = 2**63


def config() -> dict:
    """The symposium rules (settings.KEHU_SYMPOSIA over the policy's defaults: at least one held per year)."""
    base = {"min_held": 1, "period_days": 365, "require_minutes": True, "max_invitees": 300}
    return {**base, **getattr(settings, "KEHU_SYMPOSIA", {})}


def _signed_in(actor) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.is_active)


def can_manage(actor) -> bool:
    return _signed_in(actor) and actor.has_kehu_perm(Perm.SYMPOSIUM_MANAGE)


def manage_q(actor) -> Q:
    """The symposia the actor plans and runs: the organizer's scope (empty Q: every symposium)."""
    return scope_q(actor, owner_field="organizer", department_field="department")


def _customer_in_scope_q(actor, field: str = "customer") -> Q:
    return scope_q(actor, owner_field=f"{field}__owner", department_field=f"{field}__department")


def symposium_base(*, actor) -> QuerySet[Symposium]:
    if not _signed_in(actor):
        raise Forbidden(_("You are not allowed to do this."))
    if actor.role_spec.scope == Scope.ALL:
        return Symposium.objects.all()
    invited = Invitation.objects.filter(_customer_in_scope_q(actor), symposium=OuterRef("pk"))
    owned = FollowUpItem.objects.filter(symposium=OuterRef("pk"), owner=actor)
    return Symposium.objects.filter(manage_q(actor) | Exists(invited) | Exists(owned))


def manages(actor, symposium: Symposium) -> bool:
    """Whether the actor plans and runs this symposium (permission and scope)."""
    if not can_manage(actor):
        return False
    return Symposium.objects.filter(manage_q(actor), pk=symposium.pk).exists()


def symposium_list(*, actor, state: str | None = None, year: int | None = None, ordering: str = "-starts_at",
                   limit: int | None = None, cursor: str | None = None) -> Page:
    """Symposia the actor sees, with their invitation and attendance counts."""
    qs = symposium_base(actor=actor).select_related("organizer").annotate(
        n_invited=Count("invitations", distinct=True),
        n_accepted=Count("invitations", filter=Q(invitations__state="accepted"), distinct=True),
        n_attended=Count("invitations", filter=Q(invitations__attended=True), distinct=True))
    if state:
        qs = qs.filter(state=state)
    if year:
        qs = qs.filter(starts_at__year=year)
    return paginate(qs, ordering=ordering, allowed=ORDERINGS, limit=limit, cursor=cursor)


def symposium_get(*, actor, symposium_id: int, for_update: bool = False, manage: bool = False) -> Symposium:
    """One symposium the actor sees (``manage``: one they plan and run, with the permission), or NotFound."""
    if manage and not can_manage(actor):
        raise Forbidden(_("Only a sales manager or an administrator may plan symposia."))
    qs = (Symposium.objects.filter(manage_q(actor)) if manage else symposium_base(actor=actor))
    qs = qs.select_related("organizer", "department")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    obj = qs.filter(pk=symposium_id).first() if 0 < symposium_id < MAX_ID else None
    if obj is None:
        raise NotFound(_("Symposium not found."))
    return obj


def invitation_list(*, actor, symposium: Symposium) -> QuerySet[Invitation]:
    """The invitations of a symposium the actor sees: all of them to whoever runs it, the customers in
    one's scope to the others."""
    qs = symposium.invitations.select_related("customer", "customer__owner", "contact")
    if not manages(actor, symposium):
        qs = qs.filter(_customer_in_scope_q(actor))
    return qs.order_by("customer__name_sort", "id")


def invitation_get(*, actor, invitation_id: int, for_update: bool = False) -> Invitation:
    """An invitation whose symposium the actor runs or whose customer is in the actor's scope."""
    if not _signed_in(actor):
        raise Forbidden(_("You are not allowed to do this."))
    qs = Invitation.objects.select_related("symposium", "customer")
    q = _customer_in_scope_q(actor)
    if can_manage(actor):
        q = Q() if not q else q | Q(symposium__in=Symposium.objects.filter(manage_q(actor)))
    qs = qs.filter(q) if q else qs
    if for_update:
        qs = qs.select_for_update(of=("self",))
    obj = qs.filter(pk=invitation_id).first() if 0 < invitation_id < MAX_ID else None
    if obj is None:
        raise NotFound(_("Invitation not found."))
    return obj


def item_list(*, actor, symposium: Symposium) -> QuerySet[FollowUpItem]:
    qs = symposium.items.select_related("owner", "customer")
    if not manages(actor, symposium):
        q = _customer_in_scope_q(actor)
        qs = qs.filter(Q(owner=actor) | q) if q else qs
    return qs.order_by("state", "due_date", "id")


def item_get(*, actor, item_id: int, for_update: bool = False) -> FollowUpItem:
    """A follow-up item the actor owns, or of a symposium the actor runs."""
    if not _signed_in(actor):
        raise Forbidden(_("You are not allowed to do this."))
    q = Q(owner=actor)
    if can_manage(actor):
        mq = manage_q(actor)
        q = Q() if not mq else q | Q(symposium__in=Symposium.objects.filter(mq))
    qs = FollowUpItem.objects.select_related("symposium", "owner")
    qs = qs.filter(q) if q else qs
    if for_update:
        qs = qs.select_for_update(of=("self",))
    obj = qs.filter(pk=item_id).first() if 0 < item_id < MAX_ID else None
    if obj is None:
        raise NotFound(_("Follow-up item not found."))
    return obj


def my_open_items(*, actor, limit: int = 20) -> list[FollowUpItem]:
    """The follow-up items the actor owns and has not closed, soonest due first."""
    if not _signed_in(actor):
        return []
    return list(FollowUpItem.objects.filter(owner=actor, state=ItemState.OPEN).select_related("symposium")
                .order_by("due_date", "id")[:limit])


def held_q(*, now: dt.datetime) -> Q:
    """A symposium that counts for the yearly rule: held or closed, within the period, with minutes when
    the rule asks for them."""
    cfg = config()
    q = Q(state__in=[SymposiumState.HELD, SymposiumState.CLOSED],
          starts_at__gte=now - dt.timedelta(days=int(cfg["period_days"])), starts_at__lte=now)
    if cfg["require_minutes"]:
        q &= ~Q(minutes="")
    return q


def yearly_check(*, actor, now: dt.datetime | None = None) -> dict:
    """The yearly rule (一般每年进行至少一次客户座谈会) over the symposia the actor runs: how many count,
    how many are required, whether the rule is met, and when the last one was held (any time). One query."""
    if not can_manage(actor):
        raise Forbidden(_("Only a sales manager or an administrator may plan symposia."))
    now = now or timezone.now()
    cfg = config()
    row = Symposium.objects.filter(manage_q(actor)).aggregate(
        held=Count("id", filter=held_q(now=now)),
        last=Max("starts_at", filter=Q(state__in=[SymposiumState.HELD, SymposiumState.CLOSED], starts_at__lte=now)))
    return {"held": row["held"], "required": int(cfg["min_held"]), "period_days": int(cfg["period_days"]),
            "ok": row["held"] >= int(cfg["min_held"]), "last_held_at": row["last"]}


def segment_customers(*, actor, grades=None, industries=None, provinces=None, owners=None) -> QuerySet:
    """Customers in the planner's scope matching a segment (any of the listed values per criterion; an
    empty criterion does not narrow). Grades come from grading when it has graded anyone."""
    qs = customer_base(actor=actor)
    if grades:
        from kehu.grading.models import CustomerGrade

        qs = qs.filter(Exists(CustomerGrade.objects.filter(customer=OuterRef("pk"), grade__in=list(grades))))
    if industries:
        qs = qs.filter(industry__in=list(industries))
    if provinces:
        qs = qs.filter(province__in=list(provinces))
    if owners:
        qs = qs.filter(owner_id__in=[int(o) for o in owners])
    return qs


def segment_choices(*, actor) -> dict:
    """The values the segment form offers: grades in use, industries and provinces of the customers in
    scope, and their owners."""
    from django.contrib.auth import get_user_model

    from kehu.grading.models import CustomerGrade

    base = customer_base(actor=actor)
    industries = list(base.exclude(industry="").values_list("industry", flat=True).distinct().order_by("industry")[:100])
    provinces = list(base.exclude(province="").values_list("province", flat=True).distinct().order_by("province")[:50])
    grades = list(CustomerGrade.objects.values_list("grade", flat=True).distinct().order_by("grade")[:30])
    owner_ids = base.values("owner_id").distinct()
    owners = list(get_user_model().objects.filter(pk__in=owner_ids, is_active=True).order_by("username")[:100])
    return {"industries": industries, "provinces": provinces, "grades": grades, "owners": owners}
