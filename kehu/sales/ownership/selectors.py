"""Every read of registration and ownership, narrowed to the actor's scope: registrations by their rep and
department, referrals by their referrer and department, disputes by the customer's holder and department
(the raiser sees their own too). Outside the scope a row is "not found". The pool lists customers owned by
the pool user to every rep (name, city, industry, when it came back — no personal fields)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.customers.models import Customer
from kehu.errors import NotFound
from kehu.sales.ownership.models import (
    Claim,
    Dispute,
    DisputeState,
    PoolMove,
    Referral,
    ReferralState,
    Registration,
    Verification,
)


def can_read(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.is_active and (
        actor.has_kehu_perm(Perm.SALES_WRITE) or actor.has_kehu_perm(Perm.SALES_MANAGE)))


def require_read(actor) -> None:
    from kehu.errors import Forbidden

    if not can_read(actor):
        raise Forbidden(_("You are not allowed to see registrations."))


def can_manage(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.is_active and actor.has_kehu_perm(Perm.SALES_MANAGE))


def _nothing(model) -> QuerySet:
    return model.objects.none()


def _scope_or(actor, extra: Q, **fields) -> Q:
    """The actor's scope, or ``extra`` (an empty scope Q means "everything": ``Q() | x`` would be just x)."""
    scope = scope_q(actor, **fields)
    return scope | extra if scope else Q()


def _id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise NotFound(_("Not found."))
    return value


def registration_base(*, actor) -> QuerySet[Registration]:
    """Registrations in the actor's scope (the rep's own; a manager's departments)."""
    if not can_read(actor):
        return _nothing(Registration)
    return Registration.objects.filter(scope_q(actor, owner_field="rep"))


def registration_list(*, actor, rep_id: int | None = None, customer_id: int | None = None,
                      unverified: bool = False, day: dt.date | None = None) -> QuerySet[Registration]:
    qs = registration_base(actor=actor).select_related("customer", "rep", "verification")
    if rep_id:
        qs = qs.filter(rep_id=rep_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if unverified:
        qs = qs.filter(~Exists(Verification.objects.filter(registration_id=OuterRef("pk"))))
    if day:
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        qs = qs.filter(registered_at__gte=start, registered_at__lt=start + dt.timedelta(days=1))
    return qs


def registration_get(*, actor, registration_id) -> Registration:
    reg = (registration_base(actor=actor).select_related("customer", "rep", "created_by", "corrects")
           .filter(pk=_id(registration_id)).first())
    if reg is None:
        raise NotFound(_("Registration not found."))
    return reg


def registration_claim(registration: Registration) -> Claim | None:
    return Claim.objects.filter(registration_id=registration.pk).first()


def my_lapsing_claims(*, actor, now: dt.datetime, days: int) -> QuerySet[Claim]:
    """The actor's own valid registrations lapsing within ``days``."""
    if not can_read(actor):
        return _nothing(Claim)
    return (Claim.objects.filter(rep_id=actor.pk, ended_at__isnull=True, valid_until__gt=now,
                                 valid_until__lte=now + dt.timedelta(days=days))
            .select_related("customer").order_by("valid_until", "id"))


def claim_live_for(customer_id: int) -> Claim | None:
    return Claim.objects.filter(customer_id=customer_id, ended_at__isnull=True).select_related("rep").first()


def pool_base(*, actor) -> QuerySet[Customer]:
    """Customers in the public pool, to anyone who may claim or manage."""
    if not can_read(actor):
        return _nothing(Customer)
    return Customer.objects.filter(owner__username=settings.KEHU_OWNERSHIP["pool_username"],
                                   deleted_at__isnull=True)


def pool_list(*, actor, q: str = "", city: str = "", industry: str = "") -> QuerySet[Customer]:
    qs = pool_base(actor=actor).only("id", "name", "city", "industry", "stage", "status", "updated_at")
    if q:
        qs = qs.filter(name__icontains=q)
    if city:
        qs = qs.filter(city=city)
    if industry:
        qs = qs.filter(industry=industry)
    return qs


def pool_move_list(*, actor, customer_id: int | None = None, rep_id: int | None = None) -> QuerySet[PoolMove]:
    """Claims and releases: a rep sees their own; a manager those of customers in their scope."""
    if not can_read(actor):
        return _nothing(PoolMove)
    if can_manage(actor):
        qs = PoolMove.objects.filter(_scope_or(actor, Q(rep_id=actor.pk), owner_field="rep",
                                                department_field="customer__department"))
    else:
        qs = PoolMove.objects.filter(rep_id=actor.pk)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if rep_id:
        qs = qs.filter(rep_id=rep_id)
    return qs.select_related("customer", "rep", "actor")


def referral_base(*, actor) -> QuerySet[Referral]:
    if not can_read(actor):
        return _nothing(Referral)
    return Referral.objects.filter(_scope_or(actor, Q(rep_id=actor.pk), owner_field="referrer"))


def referral_list(*, actor, state: str = "") -> QuerySet[Referral]:
    qs = referral_base(actor=actor).select_related("customer", "referrer", "rep")
    if state:
        qs = qs.filter(state=state)
    return qs


def referral_get(*, actor, referral_id, for_update: bool = False) -> Referral:
    qs = referral_base(actor=actor)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    ref = qs.filter(pk=_id(referral_id)).first()
    if ref is None:
        raise NotFound(_("Referral not found."))
    return ref


def dispute_base(*, actor) -> QuerySet[Dispute]:
    if not can_read(actor):
        return _nothing(Dispute)
    return Dispute.objects.filter(_scope_or(actor, Q(raised_by_id=actor.pk), owner_field="holder"))


def dispute_list(*, actor, state: str = "") -> QuerySet[Dispute]:
    qs = dispute_base(actor=actor).select_related("customer", "raised_by", "holder", "winner", "decided_by")
    if state:
        qs = qs.filter(state=state)
    return qs


def dispute_get(*, actor, dispute_id, for_update: bool = False) -> Dispute:
    qs = dispute_base(actor=actor)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    else:
        qs = qs.select_related("customer", "raised_by", "holder", "winner", "decided_by")
    dispute = qs.filter(pk=_id(dispute_id)).first()
    if dispute is None:
        raise NotFound(_("Dispute not found."))
    return dispute


def disputes_to_decide(*, actor) -> QuerySet[Dispute]:
    """Open disputes the actor may decide now (their level)."""
    from kehu.access.roles import Scope
    from kehu.sales.ownership.rules import LEVEL_DIRECTOR

    if not can_manage(actor):
        return _nothing(Dispute)
    qs = dispute_base(actor=actor).filter(state=DisputeState.OPEN).exclude(
        Q(raised_by_id=actor.pk) | Q(holder_id=actor.pk))
    if actor.role_spec.scope != Scope.ALL:
        qs = qs.filter(level__lt=LEVEL_DIRECTOR)
    return qs


def referrals_to_confirm(*, actor) -> QuerySet[Referral]:
    if not can_manage(actor):
        return _nothing(Referral)
    return referral_base(actor=actor).filter(state=ReferralState.ARRIVED).exclude(referrer_id=actor.pk)
