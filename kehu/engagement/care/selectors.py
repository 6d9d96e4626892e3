"""Every read of customer care: reminders of the customers in the actor's scope (with Perm.INTERACTION_WRITE
or Perm.CARE_MANAGE: those who look after customers), care profiles of contacts in scope, new-product
notices, and the rules (consent, key accounts) the reminders are made by."""

from __future__ import annotations

import datetime as dt
import functools
import operator

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.customers.models import Consent, ConsentStatus, LegalBasis
from kehu.engagement.care.models import CalendarToken, CareProfile, CareReminder, ProductNotice, ReminderState
from kehu.errors import Forbidden, NotFound
from kehu.pagination import Page, paginate

ORDERINGS = {"id": int, "occasion_date": dt.date, "remind_on": dt.date}
MAX_ID = 2**63


def config() -> dict:
    """The care rules: settings.KEHU_CARE over the defaults (days of notice per occasion, the holidays
    greeted, the grades that are key accounts, the consent purposes that cover care contact)."""
    base = {
        "lead_days": {"birthday": 7, "anniversary": 7, "holiday": 14, "new_product": 0},
        "holidays": ["元旦", "春节", "端午", "中秋", "国庆"],
        "key_grades": ["三星", "二星"],
        "holiday_customers": "key",  # "key" accounts only, or "all"
        "anniversary_customers": "all",
        # A live consent (legal basis "consent") whose purpose names one of these covers care contact;
        # an empty list accepts any consent purpose.
        "consent_purposes": ["联系", "关怀", "营销", "推广", "问候", "回访", "contact", "care", "marketing"],
        "grace_days": 3,  # a reminder stays on the workbench this many days after its date
    }
    own = getattr(settings, "KEHU_CARE", {})
    merged = {**base, **own}
    merged["lead_days"] = {**base["lead_days"], **own.get("lead_days", {})}
    return merged


def _signed_in(actor) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.is_active)


def can_read(actor) -> bool:
    return _signed_in(actor) and (actor.has_kehu_perm(Perm.INTERACTION_WRITE) or actor.has_kehu_perm(Perm.CARE_MANAGE))


def can_manage(actor) -> bool:
    return _signed_in(actor) and actor.has_kehu_perm(Perm.CARE_MANAGE)


def require_read(actor) -> None:
    if not can_read(actor):
        raise Forbidden(_("You are not allowed to see care reminders."))


# ---------------------------------------------------------------- rules

def _purpose_q() -> Q:
    words = [w for w in config()["consent_purposes"] if w]
    return functools.reduce(operator.or_, (Q(purpose__icontains=w) for w in words)) if words else Q()


def live_consents() -> QuerySet[Consent]:
    """Consents that allow care contact: granted (not withdrawn), on the person's consent (not a contract or
    a legal duty, which cover other processing), for a purpose of contact."""
    return Consent.objects.filter(_purpose_q(), status=ConsentStatus.GRANTED, basis=LegalBasis.CONSENT)


def contact_consent_exists(contact_ref: str = "pk"):
    """Exists(): the contact itself consented to being contacted."""
    return Exists(live_consents().filter(contact_id=OuterRef(contact_ref)))


def customer_consent_exists(customer_ref: str = "pk"):
    """Exists(): the customer, or one of its contacts, consented to being contacted."""
    return Exists(live_consents().filter(customer_id=OuterRef(customer_ref)))


def opted_out_exists(contact_ref: str = "pk"):
    return Exists(CareProfile.objects.filter(contact_id=OuterRef(contact_ref), opt_out=True))


def key_account_q(customer_ref: str = "pk") -> Q:
    """Key accounts (重点客户): a current grade among the key grades, or a grade whose service policy asks
    for a dedicated account manager. Before anyone is graded (no grading data), every customer counts."""
    from kehu.grading.models import CustomerGrade, ServicePolicy

    if not CustomerGrade.objects.exists():
        return Q()
    dedicated = ServicePolicy.objects.filter(policy_name=OuterRef("policy_name"), grade=OuterRef("grade"),
                                             dedicated_manager=True)
    graded = CustomerGrade.objects.filter(customer_id=OuterRef(customer_ref)).filter(
        Q(grade__in=config()["key_grades"]) | Exists(dedicated))
    return Q(Exists(graded))


# ---------------------------------------------------------------- reminders

def reminder_base(*, actor) -> QuerySet[CareReminder]:
    require_read(actor)
    return CareReminder.objects.filter(
        scope_q(actor, owner_field="customer__owner", department_field="customer__department"),
        customer__deleted_at__isnull=True)


def reminder_list(*, actor, state: str | None = None, kind: str | None = None, mine: bool = False,
                  date_from: dt.date | None = None, date_to: dt.date | None = None, ordering: str = "occasion_date",
                  limit: int | None = None, cursor: str | None = None) -> Page:
    """Care reminders of the customers in scope, filtered (``mine``: the actor's own)."""
    qs = reminder_base(actor=actor).select_related("customer", "contact", "owner")
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if mine:
        qs = qs.filter(owner=actor)
    if date_from:
        qs = qs.filter(occasion_date__gte=date_from)
    if date_to:
        qs = qs.filter(occasion_date__lte=date_to)
    return paginate(qs, ordering=ordering, allowed=ORDERINGS, limit=limit, cursor=cursor)


def reminder_get(*, actor, reminder_id: int, for_update: bool = False) -> CareReminder:
    qs = reminder_base(actor=actor).select_related("customer", "contact", "owner")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    obj = qs.filter(pk=reminder_id).first() if 0 < reminder_id < MAX_ID else None
    if obj is None:
        raise NotFound(_("Care reminder not found."))
    return obj


def my_due_reminders(*, actor, today: dt.date, limit: int) -> list[CareReminder]:
    """The actor's own pending reminders whose day to remind has come (and whose date is not long past)."""
    if not can_read(actor):
        return []
    grace = int(config()["grace_days"])
    return list(CareReminder.objects.filter(owner=actor, state=ReminderState.PENDING, remind_on__lte=today,
                                            occasion_date__gte=today - dt.timedelta(days=grace),
                                            customer__deleted_at__isnull=True)
                .select_related("customer").order_by("occasion_date", "id")[:limit])


# ---------------------------------------------------------------- profiles, notices, tokens

def care_profile_get(*, actor, contact_id: int):
    """(contact, its care profile or None) for a contact in scope."""
    from kehu.customers.selectors import contact_get

    if not _signed_in(actor):
        raise Forbidden(_("You are not allowed to do this."))
    if not 0 < contact_id < MAX_ID:
        raise NotFound(_("Contact not found."))
    contact = contact_get(actor=actor, contact_id=contact_id)
    return contact, CareProfile.objects.filter(contact=contact).first()


def notice_list(*, actor, limit: int = 50) -> list[ProductNotice]:
    require_read(actor)
    return list(ProductNotice.objects.select_related("created_by").order_by("-launch_date", "-id")[:limit])


def calendar_token_live(*, actor) -> CalendarToken | None:
    if not _signed_in(actor):
        raise Forbidden(_("You are not allowed to do this."))
    return CalendarToken.objects.filter(user=actor, revoked_at__isnull=True).first()
