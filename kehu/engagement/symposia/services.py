"""Every write of symposia: plan (title, time, place, agenda topics), invite by segment, record each
invitee's answer, attendance and the minutes, close, cancel; follow-up items with owners and due dates
closed with a resolution. Each takes the acting user first, checks the permission and scope, runs in
one transaction and writes its audit entry in it. States move only along TRANSITIONS (else 409)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from kehu.audit.services import audit_record
from kehu.customers.models import Contact
from kehu.engagement.symposia import selectors
from kehu.engagement.symposia.models import (
    FollowUpItem,
    Invitation,
    InvitationState,
    ItemState,
    Symposium,
    SymposiumState,
    Topic,
)
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.notifications.services import notify

TRANSITIONS = {
    SymposiumState.PLANNED: {SymposiumState.HELD, SymposiumState.CANCELLED},
    SymposiumState.HELD: {SymposiumState.CLOSED},
    SymposiumState.CLOSED: set(),
    SymposiumState.CANCELLED: set(),
}
SEGMENT_KEYS = ("grades", "industries", "provinces", "owners")


def _raise(errors: dict) -> None:
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)


def _when(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        at = value
    elif isinstance(value, str) and value.strip():
        try:
            at = parse_datetime(value.strip().replace(" ", "T"))
        except ValueError:
            return None
        if at is None:
            return None
    else:
        return None
    if timezone.is_naive(at):
        at = timezone.make_aware(at, timezone.get_default_timezone())
    return at


def _day(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return parse_date(value.strip())
        except ValueError:
            return None
    return None


def _text(data: dict, name: str, errors: dict, *, limit: int, required: bool, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = [_("This field is required.")]
    elif len(value) > limit:
        errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
    return value


def clean_symposium(data: dict, *, current: Symposium | None = None) -> dict:
    """The plan's fields cleaned, or Invalid with the errors per field."""
    errors: dict[str, list[str]] = {}
    values: dict = {}

    def given(name):
        return name in data or current is None

    if given("title"):
        values["title"] = _text(data, "title", errors, limit=200, required=True)
    if given("place"):
        values["place"] = _text(data, "place", errors, limit=200, required=True)
    if given("agenda"):
        values["agenda"] = _text(data, "agenda", errors, limit=5000, required=False)
    if given("starts_at"):
        starts = _when(data.get("starts_at"))
        if starts is None:
            errors["starts_at"] = [_("Enter a date and time, e.g. 2026-11-20 09:30.")]
        values["starts_at"] = starts
    if "ends_at" in data:
        raw = data.get("ends_at")
        ends = _when(raw) if raw not in (None, "") else None
        if raw not in (None, "") and ends is None:
            errors["ends_at"] = [_("Enter a date and time, e.g. 2026-11-20 17:00.")]
        values["ends_at"] = ends
    if given("topics"):
        topics = data.get("topics") or []
        if isinstance(topics, str):
            topics = [t for t in topics.split(",") if t]
        if not isinstance(topics, list | tuple) or not topics:
            errors["topics"] = [_("Choose at least one agenda topic.")]
        elif any(t not in Topic.values for t in topics):
            errors["topics"] = [_("Choose the topics from the list.")]
        else:
            values["topics"] = [t for t in Topic.values if t in topics]  # the policy's order, no repeats
    starts = values.get("starts_at", current.starts_at if current else None)
    ends = values.get("ends_at", current.ends_at if current else None)
    if starts and ends and ends < starts:
        errors["ends_at"] = [_("The end must come after the start.")]
    _raise(errors)
    return values


def _audit(actor, action: str, obj, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, obj=obj, changes=changes or {})


def _move(symposium: Symposium, to: str) -> None:
    if to not in TRANSITIONS[SymposiumState(symposium.state)]:
        raise Conflict(_("A symposium that is %(state)s cannot become %(to)s.") % {
            "state": symposium.get_state_display(), "to": SymposiumState(to).label})
    symposium.state = to


@transaction.atomic
def symposium_create(*, actor, data: dict) -> Symposium:
    """Plan a symposium (organizer: the actor, in the actor's department)."""
    if not selectors.can_manage(actor):
        raise Forbidden(_("Only a sales manager or an administrator may plan symposia."))
    values = clean_symposium(data)
    symposium = Symposium.objects.create(organizer=actor, department_id=actor.department_id, **values)
    _audit(actor, "symposium.create", symposium, {"title": symposium.title, "starts_at": symposium.starts_at.isoformat(),
                                                  "topics": symposium.topics})
    return symposium


@transaction.atomic
def symposium_update(*, actor, symposium_id: int, data: dict) -> Symposium:
    """Change the plan while it is planned (afterwards the record is what happened: 409)."""
    symposium = selectors.symposium_get(actor=actor, symposium_id=symposium_id, for_update=True, manage=True)
    if symposium.state != SymposiumState.PLANNED:
        raise Conflict(_("Only a planned symposium can be changed."))
    values = clean_symposium(data, current=symposium)
    changes = {}
    for key, value in values.items():
        if getattr(symposium, key) != value:
            changes[key] = value.isoformat() if isinstance(value, dt.datetime) else value
            setattr(symposium, key, value)
    if changes:
        symposium.save()
        _audit(actor, "symposium.update", symposium, changes)
    return symposium


def _segment(segment: dict | None) -> dict:
    segment = segment or {}
    if not isinstance(segment, dict) or set(segment) - set(SEGMENT_KEYS):
        raise Invalid(_("Choose the segment by grade, industry, region or owner."),
                      fields={"segment": [_("Unknown criterion.")]})
    out = {}
    for key in SEGMENT_KEYS:
        values = segment.get(key) or []
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list | tuple) or any(not isinstance(v, str | int) for v in values):
            raise Invalid(_("Choose the segment by grade, industry, region or owner."), fields={key: [_("Enter a list.")]})
        values = [str(v).strip() for v in values if str(v).strip()]
        if key == "owners" and any(not v.isdigit() or int(v) >= 2**63 for v in values):
            raise Invalid(_("Choose owners from the list."), fields={"owners": [_("Choose owners from the list.")]})
        if values:
            out[key] = values[:50]
    return out


def _contact_for(customer_ids: list[int]) -> dict[int, int]:
    """The contact to invite per customer: its decision maker if it has one, else its first contact."""
    first: dict[int, int] = {}
    deciders: dict[int, int] = {}
    for cid, pk, role in (Contact.objects.filter(customer_id__in=customer_ids, erased_at__isnull=True)
                          .order_by("customer_id", "id").values_list("customer_id", "id", "role")):
        first.setdefault(cid, pk)
        if role == "decision_maker":
            deciders.setdefault(cid, pk)
    return {**first, **deciders}


@transaction.atomic
def symposium_invite(*, actor, symposium_id: int, customers: list[int] | None = None,
                     segment: dict | None = None) -> int:
    """Invite customers of the planner's scope: the ones listed and/or every one matching the segment
    (grade, industry, region, owner). Customers already invited stay as they are. Returns how many were
    added."""
    symposium = selectors.symposium_get(actor=actor, symposium_id=symposium_id, for_update=True, manage=True)
    if symposium.state != SymposiumState.PLANNED:
        raise Conflict(_("Invitations go out while the symposium is planned."))
    seg = _segment(segment)
    listed = customers or []
    if not isinstance(listed, list | tuple) or any(not isinstance(c, int) or not 0 < c < 2**63 for c in listed):
        raise Invalid(_("Choose customers in your scope."), fields={"customers": [_("Choose customers in your scope.")]})
    if not listed and not seg:
        raise Invalid(_("Choose customers or a segment to invite."),
                      fields={"segment": [_("Choose customers or a segment to invite.")]})
    ids: set[int] = set()
    if listed:
        found = set(selectors.segment_customers(actor=actor).filter(pk__in=listed).values_list("pk", flat=True))
        if found != set(listed):
            raise Invalid(_("Choose customers in your scope."), fields={"customers": [_("Choose customers in your scope.")]})
        ids |= found
    limit = int(selectors.config()["max_invitees"])
    if seg:
        ids |= set(selectors.segment_customers(actor=actor, **seg).order_by("id").values_list("pk", flat=True)[:limit + 1])
    already = set(symposium.invitations.values_list("customer_id", flat=True))
    new = sorted(ids - already)
    if len(already) + len(new) > limit:
        raise Invalid(_("At most %(n)d invitees per symposium: narrow the segment.") % {"n": limit},
                      fields={"segment": [_("Too many customers match.")]})
    contacts = _contact_for(new)
    Invitation.objects.bulk_create([Invitation(symposium=symposium, customer_id=cid, contact_id=contacts.get(cid),
                                               invited_by=actor) for cid in new])
    if seg:
        symposium.segment = seg
        symposium.save(update_fields=["segment", "updated_at"])
    _audit(actor, "symposium.invite", symposium, {"added": len(new), "segment": seg, "customers": new[:100]})
    return len(new)


@transaction.atomic
def invitation_answer(*, actor, invitation_id: int, state: str, note: str = "") -> Invitation:
    """Record an invitee's answer (accepted / declined, or back to invited): whoever runs the symposium,
    or the account manager of the customer."""
    invitation = selectors.invitation_get(actor=actor, invitation_id=invitation_id, for_update=True)
    if state not in InvitationState.values:
        raise Invalid(_("Choose invited, accepted or declined."), fields={"state": [_("Choose invited, accepted or declined.")]})
    if not isinstance(note, str) or len(note) > 300:
        raise Invalid(_("At most 300 characters."), fields={"note": [_("At most 300 characters.")]})
    if invitation.symposium.state != SymposiumState.PLANNED:
        raise Conflict(_("Answers are recorded while the symposium is planned."))
    before = invitation.state
    invitation.state = state
    invitation.answered_at = None if state == InvitationState.INVITED else timezone.now()
    invitation.note = note.strip()
    invitation.save()
    _audit(actor, "symposium.invitation.answer", invitation, {"from": before, "to": state,
                                                              "symposium": invitation.symposium_id})
    return invitation


@transaction.atomic
def symposium_hold(*, actor, symposium_id: int, attended: list[int]) -> Symposium:
    """Record who attended (invitation ids; every other invitee did not) and mark the symposium held.
    Attendance can be corrected while it is held."""
    symposium = selectors.symposium_get(actor=actor, symposium_id=symposium_id, for_update=True, manage=True)
    if symposium.state == SymposiumState.PLANNED:
        if symposium.starts_at > timezone.now():
            raise Conflict(_("Attendance is recorded once the symposium has started."))
        _move(symposium, SymposiumState.HELD)
    elif symposium.state != SymposiumState.HELD:
        raise Conflict(_("Attendance is recorded while the symposium is held, not after it is closed."))
    if not isinstance(attended, list | tuple) or any(not isinstance(i, int) for i in attended):
        raise Invalid(_("Choose the invitees who attended."), fields={"attended": [_("Choose the invitees who attended.")]})
    ids = set(symposium.invitations.values_list("pk", flat=True))
    if set(attended) - ids:
        raise Invalid(_("Choose the invitees who attended."), fields={"attended": [_("Not an invitee of this symposium.")]})
    symposium.invitations.filter(pk__in=attended).update(attended=True)
    symposium.invitations.exclude(pk__in=attended).update(attended=False)
    symposium.save()
    _audit(actor, "symposium.hold", symposium, {"attended": len(attended), "invited": len(ids)})
    return symposium


@transaction.atomic
def symposium_minutes(*, actor, symposium_id: int, minutes: str) -> Symposium:
    """Write the minutes (座谈会记录) of a held symposium."""
    symposium = selectors.symposium_get(actor=actor, symposium_id=symposium_id, for_update=True, manage=True)
    if symposium.state != SymposiumState.HELD:
        raise Conflict(_("Minutes are written once the symposium is held and until it is closed."))
    errors: dict = {}
    text = _text({"minutes": minutes}, "minutes", errors, limit=50_000, required=True)
    _raise(errors)
    symposium.minutes = text
    symposium.minutes_at = timezone.now()
    symposium.save()
    _audit(actor, "symposium.minutes", symposium, {"length": len(text)})
    return symposium


@transaction.atomic
def symposium_close(*, actor, symposium_id: int) -> Symposium:
    """Close (archive) a held symposium that has its minutes; its follow-up items stay tracked."""
    symposium = selectors.symposium_get(actor=actor, symposium_id=symposium_id, for_update=True, manage=True)
    if symposium.state == SymposiumState.HELD and not symposium.minutes:
        raise Conflict(_("Write the minutes before closing the symposium."))
    _move(symposium, SymposiumState.CLOSED)
    symposium.save()
    _audit(actor, "symposium.close", symposium, {})
    return symposium


@transaction.atomic
def symposium_cancel(*, actor, symposium_id: int, reason: str) -> Symposium:
    symposium = selectors.symposium_get(actor=actor, symposium_id=symposium_id, for_update=True, manage=True)
    errors: dict = {}
    text = _text({"reason": reason}, "reason", errors, limit=300, required=True)
    _raise(errors)
    _move(symposium, SymposiumState.CANCELLED)
    symposium.cancel_reason = text
    symposium.save()
    _audit(actor, "symposium.cancel", symposium, {"reason": text})
    return symposium


@transaction.atomic
def item_create(*, actor, symposium_id: int, data: dict) -> FollowUpItem:
    """Add a follow-up item (an opinion to act on) with its owner and due date; the owner is notified."""
    symposium = selectors.symposium_get(actor=actor, symposium_id=symposium_id, for_update=True, manage=True)
    if symposium.state not in (SymposiumState.HELD, SymposiumState.CLOSED):
        raise Conflict(_("Follow-up items come out of a symposium that was held."))
    errors: dict = {}
    title = _text(data, "title", errors, limit=300, required=True)
    due = _day(data.get("due_date"))
    if due is None:
        errors["due_date"] = [_("Enter a due date as YYYY-MM-DD.")]
    raw_owner = data.get("owner")
    owner_id = int(raw_owner) if isinstance(raw_owner, int) or (isinstance(raw_owner, str) and raw_owner.isdigit()) else None
    owner = (get_user_model().objects.filter(pk=owner_id, is_active=True).first()
             if owner_id and 0 < owner_id < 2**63 else None)
    if owner is None:
        errors["owner"] = [_("Choose an active user as the owner.")]
    customer_id = data.get("customer") or None
    if customer_id is not None:
        if isinstance(customer_id, str) and customer_id.isdigit():
            customer_id = int(customer_id)
        if not isinstance(customer_id, int) or not symposium.invitations.filter(customer_id=customer_id).exists():
            errors["customer"] = [_("Choose one of the invited customers.")]
    _raise(errors)
    item = FollowUpItem.objects.create(symposium=symposium, title=title, owner=owner, due_date=due,
                                       customer_id=customer_id)
    _audit(actor, "symposium.item.create", item, {"symposium": symposium.pk, "owner": owner.pk,
                                                  "due_date": due.isoformat()})
    notify(user=owner, title=_("Symposium follow-up: %(t)s") % {"t": title[:80]},
           body=_("%(s)s · due %(d)s") % {"s": symposium.title, "d": due.isoformat()},
           link=reverse("symposia:detail", args=[symposium.pk]))
    return item


@transaction.atomic
def item_close(*, actor, item_id: int, state: str, resolution: str = "") -> FollowUpItem:
    """Close a follow-up item as done (with what was done) or cancelled (with why): its owner or whoever
    runs the symposium."""
    item = selectors.item_get(actor=actor, item_id=item_id, for_update=True)
    if item.state != ItemState.OPEN:
        raise Conflict(_("This follow-up item is already closed."))
    if state not in (ItemState.DONE, ItemState.CANCELLED):
        raise Invalid(_("Choose done or cancelled."), fields={"state": [_("Choose done or cancelled.")]})
    errors: dict = {}
    text = _text({"resolution": resolution}, "resolution", errors, limit=5000, required=True)
    _raise(errors)
    item.state, item.resolution, item.closed_at, item.closed_by = state, text, timezone.now(), actor
    item.save()
    _audit(actor, "symposium.item.close", item, {"state": state})
    return item
