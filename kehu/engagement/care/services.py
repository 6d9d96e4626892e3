"""Every write of customer care: the daily reminder run (birthdays, cooperation anniversaries, holidays —
made N days ahead, once per occasion, withheld with the reason where there is no consent to contact),
new-product notices to key accounts, done / skip, care profiles, and the calendar-feed token (rotate,
revoke). Each runs in one transaction and writes its audit entry in it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.models import Contact, Customer, Stage
from kehu.engagement.care import occasions, selectors
from kehu.engagement.care.models import (
    CalendarToken,
    CareProfile,
    CareReminder,
    ProductNotice,
    ReminderKind,
    ReminderState,
    WithheldReason,
)
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.notifications.services import notify

KEY = ("kind", "customer_id", "subject", "occasion_date")


def _state(consented: bool, opted_out: bool = False) -> tuple[str, str]:
    if opted_out:
        return ReminderState.WITHHELD, WithheldReason.OPTED_OUT
    if not consented:
        return ReminderState.WITHHELD, WithheldReason.NO_CONSENT
    return ReminderState.PENDING, ""


def _live_customers():
    return Customer.objects.filter(deleted_at__isnull=True, erased_at__isnull=True)


def _birthdays(today: dt.date, lead: int) -> list[dict]:
    end = today + dt.timedelta(days=lead)
    rows = (Contact.objects.filter(birthday__isnull=False, birthday__month__in=occasions.months_between(today, end),
                                   erased_at__isnull=True, customer__deleted_at__isnull=True,
                                   customer__erased_at__isnull=True)
            .annotate(consented=selectors.contact_consent_exists("pk"), opted=selectors.opted_out_exists("pk"))
            .values("pk", "name", "birthday", "customer_id", "customer__name", "customer__owner_id", "consented",
                    "opted"))
    out = []
    for r in rows:
        when = occasions.next_occurrence(r["birthday"], today)
        if when > end:
            continue
        state, reason = _state(r["consented"], r["opted"])
        out.append({"kind": ReminderKind.BIRTHDAY, "customer_id": r["customer_id"], "contact_id": r["pk"],
                    "subject": f"contact:{r['pk']}", "occasion_date": when, "owner_id": r["customer__owner_id"],
                    "title": _("Birthday of %(name)s (%(customer)s)") % {"name": r["name"], "customer": r["customer__name"]},
                    "state": state, "reason": reason, "lead": lead})
    return out


def _anniversaries(today: dt.date, lead: int) -> list[dict]:
    from kehu.orders.models import Order

    end = today + dt.timedelta(days=lead)
    first_order = Order.objects.filter(customer_id=OuterRef("pk")).order_by("order_date").values("order_date")[:1]
    # Cooperation starts with the first order, or the registration of a customer who has none on record.
    qs = _live_customers().filter(Q(stage=Stage.CUSTOMER) | Q(Exists(Order.objects.filter(customer_id=OuterRef("pk")))))
    qs = (qs.annotate(since=Coalesce(Subquery(first_order), TruncDate("created_at")))
          .filter(since__month__in=occasions.months_between(today, end), since__lt=today - dt.timedelta(days=300)))
    if selectors.config()["anniversary_customers"] == "key":
        qs = qs.filter(selectors.key_account_q("pk"))
    out = []
    for r in qs.annotate(consented=selectors.customer_consent_exists("pk")).values(
            "pk", "name", "owner_id", "since", "consented"):
        since = r["since"]
        when = occasions.next_occurrence(since, today)
        years = when.year - since.year
        if when > end or years < 1:
            continue
        state, reason = _state(r["consented"])
        out.append({"kind": ReminderKind.ANNIVERSARY, "customer_id": r["pk"], "contact_id": None, "subject": "customer",
                    "occasion_date": when, "owner_id": r["owner_id"],
                    "title": ngettext("%(n)d year of cooperation with %(customer)s",
                                      "%(n)d years of cooperation with %(customer)s", years) % {
                        "n": years, "customer": r["name"]},
                    "state": state, "reason": reason, "lead": lead})
    return out


def _holidays(today: dt.date, lead: int) -> list[dict]:
    from kehu.workdays.models import CalendarDay, DayKind

    cfg = selectors.config()
    end = today + dt.timedelta(days=lead)
    # From a few weeks back, so a holiday already running is recognised as running, not as starting.
    days = list(CalendarDay.objects.filter(kind=DayKind.HOLIDAY, date__gte=today - dt.timedelta(days=20),
                                           date__lte=end).values_list("date", "name"))
    starts = [(d, n) for d, n in occasions.holiday_starts(days, cfg["holidays"]) if today <= d <= end]
    if not starts:
        return []
    qs = _live_customers()
    if cfg["holiday_customers"] == "key":
        qs = qs.filter(selectors.key_account_q("pk"))
    customers = list(qs.annotate(consented=selectors.customer_consent_exists("pk")).values(
        "pk", "name", "owner_id", "consented"))
    out = []
    for day, name in starts:
        for r in customers:
            state, reason = _state(r["consented"])
            out.append({"kind": ReminderKind.HOLIDAY, "customer_id": r["pk"], "contact_id": None,
                        "subject": f"holiday:{name}", "occasion_date": day, "owner_id": r["owner_id"],
                        "title": _("%(holiday)s greeting for %(customer)s") % {"holiday": name, "customer": r["name"]},
                        "state": state, "reason": reason, "lead": lead})
    return out


def _store(candidates: list[dict], *, today: dt.date, notice: ProductNotice | None = None) -> dict:
    """Create the reminders not made before (the unique key makes a second run a no-op), bring the state of
    open ones in line with consent as it is now, and tell each account manager about their new ones."""
    if not candidates:
        return {"created": 0, "withheld": 0, "updated": 0}
    dates = [c["occasion_date"] for c in candidates]
    existing = {tuple(r[k] for k in KEY): r for r in CareReminder.objects.filter(
        occasion_date__gte=min(dates), occasion_date__lte=max(dates), kind__in={c["kind"] for c in candidates},
        customer_id__in={c["customer_id"] for c in candidates}).values("pk", "state", "reason", *KEY)}
    new, updates = [], []
    for c in candidates:
        key = tuple(c[k] for k in KEY)
        row = existing.get(key)
        if row is None:
            existing[key] = c  # the same occasion twice in one run (two consents) is still one reminder
            remind_on = max(today, c["occasion_date"] - dt.timedelta(days=c["lead"]))
            new.append(CareReminder(kind=c["kind"], customer_id=c["customer_id"], contact_id=c["contact_id"],
                                    subject=c["subject"], occasion_date=c["occasion_date"], remind_on=remind_on,
                                    title=c["title"][:200], owner_id=c["owner_id"], state=c["state"],
                                    reason=c["reason"], notice=notice))
        elif "pk" in row and row["state"] in (ReminderState.PENDING, ReminderState.WITHHELD) and (
                row["state"], row["reason"]) != (c["state"], c["reason"]):
            updates.append((row["pk"], c["state"], c["reason"]))
    created = CareReminder.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    for pk, state, reason in updates:
        CareReminder.objects.filter(pk=pk, state__in=[ReminderState.PENDING, ReminderState.WITHHELD]).update(
            state=state, reason=reason)
    pending = Counter(r.owner_id for r in created if r.state == ReminderState.PENDING)
    owners = get_user_model().objects.in_bulk(list(pending))
    for owner_id, n in pending.items():
        notify(user=owners.get(owner_id), title=_("%(n)d new care reminders") % {"n": n},
               body=_("Birthdays, anniversaries, holidays and new products of your customers: see the list."),
               link=reverse("care:reminders"))
    withheld = sum(1 for r in created if r.state == ReminderState.WITHHELD)
    return {"created": len(created) - withheld, "withheld": withheld, "updated": len(updates)}


@transaction.atomic
def care_reminders_generate(*, actor=None, today: dt.date | None = None) -> dict:
    """The daily run (also started by hand by those who manage care): reminders for the birthdays,
    cooperation anniversaries and greeted holidays coming within each occasion's notice."""
    if actor is not None and not selectors.can_manage(actor):
        raise Forbidden(_("Only a sales manager or an administrator may manage customer care."))
    today = today or timezone.localdate()
    lead = selectors.config()["lead_days"]
    candidates = (_birthdays(today, int(lead["birthday"])) + _anniversaries(today, int(lead["anniversary"]))
                  + _holidays(today, int(lead["holiday"])))
    result = _store(candidates, today=today)
    if any(result.values()):
        audit_record(actor=actor, action="care.reminders.generate", object_type="care.carereminder",
                     object_repr=today.isoformat(), changes=result)
    return result


@transaction.atomic
def product_notice_create(*, actor, data: dict) -> tuple[ProductNotice, dict]:
    """Announce a new product to the key accounts in the actor's scope: one reminder per customer for its
    account manager (withheld where the customer has not consented to being contacted)."""
    from kehu.customers.selectors import customer_base

    if not selectors.can_manage(actor):
        raise Forbidden(_("Only a sales manager or an administrator may send new-product notices."))
    errors: dict = {}
    title = (data.get("title") or "").strip() if isinstance(data.get("title"), str | type(None)) else ""
    if not title or len(title) > 200:
        errors["title"] = [_("Name the product (1 to 200 characters).")]
    line = data.get("product_line") or ""
    summary = data.get("summary") or ""
    if not isinstance(line, str) or len(line) > 100:
        errors["product_line"] = [_("At most 100 characters.")]
    if not isinstance(summary, str) or len(summary) > 5000:
        errors["summary"] = [_("At most 5000 characters.")]
    launch = data.get("launch_date")
    if isinstance(launch, str):
        try:
            launch = parse_date(launch.strip())
        except ValueError:
            launch = None
    if not isinstance(launch, dt.date):
        errors["launch_date"] = [_("Enter the launch date as YYYY-MM-DD.")]
    today = timezone.localdate()
    if isinstance(launch, dt.date) and launch < today:
        errors["launch_date"] = [_("The launch date cannot be in the past.")]
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)
    notice = ProductNotice.objects.create(title=title, product_line=line.strip(), summary=summary.strip(),
                                          launch_date=launch, created_by=actor)
    customers = customer_base(actor=actor).filter(selectors.key_account_q("pk")).annotate(
        consented=selectors.customer_consent_exists("pk")).values("pk", "name", "owner_id", "consented")
    candidates = []
    for r in customers:
        state, reason = _state(r["consented"])
        candidates.append({"kind": ReminderKind.NEW_PRODUCT, "customer_id": r["pk"], "contact_id": None,
                           "subject": f"notice:{notice.pk}", "occasion_date": launch, "owner_id": r["owner_id"],
                           "title": _("New product %(p)s: tell %(customer)s") % {"p": title, "customer": r["name"]},
                           "state": state, "reason": reason, "lead": (launch - today).days})
    result = _store(candidates, today=today, notice=notice)
    audit_record(actor=actor, action="care.notice.create", obj=notice, changes={"launch_date": launch.isoformat(),
                                                                                 **result})
    return notice, result


def _settle(actor, reminder_id: int, state: str, note: str) -> CareReminder:
    reminder = selectors.reminder_get(actor=actor, reminder_id=reminder_id, for_update=True)
    if reminder.owner_id != actor.pk and not selectors.can_manage(actor):
        raise Forbidden(_("Only the account manager or whoever manages care may settle this reminder."))
    if reminder.state != ReminderState.PENDING:
        raise Conflict(_("Only a reminder still to do can be marked done or skipped."))
    if not isinstance(note, str) or len(note) > 300:
        raise Invalid(_("At most 300 characters."), fields={"note": [_("At most 300 characters.")]})
    reminder.state, reminder.note = state, note.strip()
    reminder.done_at, reminder.done_by = timezone.now(), actor
    reminder.save()
    action = "care.reminder.done" if state == ReminderState.DONE else "care.reminder.skip"
    audit_record(actor=actor, action=action, obj=reminder, changes={"note": reminder.note})
    return reminder


@transaction.atomic
def reminder_done(*, actor, reminder_id: int, note: str = "") -> CareReminder:
    """The greeting was sent, the call made, the gift delivered."""
    return _settle(actor, reminder_id, ReminderState.DONE, note)


@transaction.atomic
def reminder_skip(*, actor, reminder_id: int, note: str = "") -> CareReminder:
    return _settle(actor, reminder_id, ReminderState.SKIPPED, note)


@transaction.atomic
def care_profile_set(*, actor, contact_id: int, data: dict) -> CareProfile:
    """Set a contact's care profile (preferences, opting out) and, when given, the contact's birthday
    (through the contact's own service: its history, audit and lawful-basis rule)."""
    from kehu.customers.services import contact_update

    contact, profile = selectors.care_profile_get(actor=actor, contact_id=contact_id)
    if not actor.has_kehu_perm(Perm.CUSTOMER_WRITE):
        raise Forbidden(_("You are not allowed to do this."))
    prefs = data.get("preferences", profile.preferences if profile else "")
    if not isinstance(prefs, str) or len(prefs) > 2000:
        raise Invalid(_("At most 2000 characters."), fields={"preferences": [_("At most 2000 characters.")]})
    opt_out = data.get("opt_out", profile.opt_out if profile else False)
    if not isinstance(opt_out, bool):
        raise Invalid(_("Choose yes or no."), fields={"opt_out": [_("Choose yes or no.")]})
    if "birthday" in data:
        contact_update(actor=actor, contact_id=contact.pk, data={"birthday": data["birthday"] or None})
    profile = profile or CareProfile(contact=contact)
    changes = {"preferences": prefs.strip() != profile.preferences, "opt_out": [profile.opt_out, opt_out]}
    profile.preferences, profile.opt_out, profile.updated_by = prefs.strip(), opt_out, actor
    profile.save()
    if opt_out:  # no more greetings from now on
        CareReminder.objects.filter(contact=contact, state=ReminderState.PENDING).update(
            state=ReminderState.WITHHELD, reason=WithheldReason.OPTED_OUT)
    audit_record(actor=actor, action="care.profile.set", obj=profile, object_repr=contact.name, changes=changes)
    return profile


# ---------------------------------------------------------------- calendar feed tokens

def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def calendar_token_rotate(*, actor) -> str:
    """A new secret feed URL for the actor (the previous one stops working). The secret is returned once;
    only its hash is kept."""
    if actor is None or not actor.is_authenticated:
        raise Forbidden(_("You are not allowed to do this."))
    now = timezone.now()
    CalendarToken.objects.filter(user=actor, revoked_at__isnull=True).update(revoked_at=now)
    secret = secrets.token_urlsafe(32)
    token = CalendarToken.objects.create(user=actor, token_hash=token_hash(secret), hint=secret[:6])
    audit_record(actor=actor, action="care.calendar_token.rotate", obj=token, object_repr=token.hint)
    return secret


@transaction.atomic
def calendar_token_revoke(*, actor) -> int:
    if actor is None or not actor.is_authenticated:
        raise Forbidden(_("You are not allowed to do this."))
    n = CalendarToken.objects.filter(user=actor, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if n:
        audit_record(actor=actor, action="care.calendar_token.revoke", object_type="care.calendartoken",
                     object_repr=str(actor))
    return n


def calendar_token_user(secret: str):
    """The active user of a live feed token, or None. The lookup is by the hash (an index), and the hash
    found is compared again in constant time."""
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        return None
    digest = token_hash(secret)
    token = (CalendarToken.objects.filter(token_hash=digest, revoked_at__isnull=True).select_related("user").first())
    if token is None or not hmac.compare_digest(token.token_hash, digest) or not token.user.is_active:
        return None
    last = token.last_used_at
    now = timezone.now()
    if last is None or now - last > dt.timedelta(minutes=10):  # a calendar client polls; don't write each time
        CalendarToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
