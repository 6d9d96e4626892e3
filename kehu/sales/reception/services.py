"""Every write of reception: the duty roster (Perm.SALES_MANAGE), the register of walk-ins and calls
(Perm.SALES_WRITE) with the rotation's assignment, outcomes, refusals and their handling by the manager.
Each takes the acting user first, runs in one transaction and writes its audit entry there. Handing out
a turn locks the day's queue row (DutyDay, select_for_update) so two receptionists never hand out the
same turn."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.models import Department, User
from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.models import Customer
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.notifications.services import notify
from kehu.sales.reception import rotation, selectors
from kehu.sales.reception.models import (
    COUNTED,
    Assignment,
    DutyDay,
    DutyShift,
    EntryKind,
    Outcome,
    Refusal,
    RegisterEntry,
    ShiftStatus,
    SourceChannel,
)

MAX_ID = 2**63
MAX_ROSTER = 60


def _raise(errors: dict) -> None:
    if errors:
        raise Invalid(next(iter(errors.values()))[0], fields=errors)


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < MAX_ID else None
    if isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
        return n if 0 < n < MAX_ID else None
    return None


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _text(data: dict, name: str, errors: dict, *, max_length: int, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = [_("Enter text.")]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = [_("This field is required.")]
    elif len(value) > max_length:
        errors[name] = [_("At most %(n)d characters.") % {"n": max_length}]
    return value


def _require_write(actor) -> None:
    if not selectors.can_write(actor):
        raise Forbidden(_("You are not allowed to register visitors and calls."))


def _require_manage(actor) -> None:
    if not selectors.can_manage(actor):
        raise Forbidden(_("Only a sales manager may change the duty roster or handle refusals."))


def _department(actor, value) -> Department:
    """The roster's department: the one given (within the actor's reach) or the actor's own."""
    pk = _int(value) if value not in (None, "") else actor.department_id
    if value not in (None, "") and pk is None:
        raise Invalid(_("Choose a department."), fields={"department": [_("Choose a department.")]})
    dept = Department.objects.filter(pk=pk).first() if pk else None
    if dept is None or not selectors.department_in_reach(actor, dept.pk):
        raise NotFound(_("Department not found."))
    return dept


# ---------------------------------------------------------------- sources

@transaction.atomic
def source_create(*, actor, data: dict) -> SourceChannel:
    """A new source channel (管理员/经理配置)."""
    _require_manage(actor)
    errors: dict = {}
    name = _text(data, "name", errors, max_length=60, required=True)
    code = _text(data, "code", errors, max_length=40, required=True)
    company = data.get("company", False)
    if not isinstance(company, bool):
        errors["company"] = [_("Enter true or false.")]
    position = data.get("position", 0)
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 1000:
        errors["position"] = [_("Enter a whole number from 0 to 1000.")]
    _raise(errors)
    source = SourceChannel(code=code, name=name, company=company, position=position)
    try:
        source.full_clean()
    except Exception as exc:  # ValidationError → the API's error format
        fields = getattr(exc, "message_dict", {"code": [str(exc)]})
        raise Invalid(next(iter(fields.values()))[0], fields=fields) from exc
    source.save()
    audit_record(actor=actor, action="reception.source_create", obj=source,
                 changes={"code": code, "name": name, "company": company})
    return source


# ---------------------------------------------------------------- roster

def _load_queue(duty: DutyDay, shifts: list[DutyShift]) -> rotation.Queue:
    return rotation.Queue(order=tuple(s.rep_id for s in shifts), last=duty.last_rep_id,
                          status={s.rep_id: s.status for s in shifts if s.status != ShiftStatus.PRESENT},
                          makeups=tuple(duty.makeups or ()))


def queue_of(duty: DutyDay) -> rotation.Queue:
    return _load_queue(duty, list(duty.shifts.order_by("position")))


def _previous(dept_id: int, day: dt.date) -> tuple[tuple[int, ...], int | None]:
    prev = DutyDay.objects.filter(department_id=dept_id, day__lt=day).order_by("-day").first()
    if prev is None:
        return (), None
    return tuple(prev.shifts.order_by("position").values_list("rep_id", flat=True)), prev.last_rep_id


def _roster_reps(actor, dept: Department, reps) -> list[User]:
    if not isinstance(reps, list) or not reps:
        raise Invalid(_("Put at least one rep on duty."), fields={"reps": [_("Put at least one rep on duty.")]})
    if len(reps) > MAX_ROSTER:
        raise Invalid(_("At most %(n)d reps on one day.") % {"n": MAX_ROSTER},
                      fields={"reps": [_("Too many reps.")]})
    ids = [_int(r) for r in reps]
    if any(i is None for i in ids) or len(set(ids)) != len(ids):
        raise Invalid(_("List each rep once."), fields={"reps": [_("List each rep once.")]})
    users = {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True)}
    bad = [i for i in ids if i not in users or not users[i].has_kehu_perm(Perm.SALES_WRITE)
           or not selectors.department_in_reach(actor, users[i].department_id)]
    if bad:
        raise Invalid(_("Only active sales reps of your departments can be put on duty."),
                      fields={"reps": [_("Unknown rep: %(id)s") % {"id": bad[0]}]})
    return [users[i] for i in ids]


@transaction.atomic
def roster_set(*, actor, day, reps, department=None, note: str = "") -> DutyDay:
    """Put reps on duty for a day in this order (排班), replacing the day's roster. Reps keep their
    status; the rotation continues after the previous day's last rep served."""
    _require_manage(actor)
    the_day = _date(day)
    if the_day is None:
        raise Invalid(_("Enter a date."), fields={"day": [_("Enter a date.")]})
    dept = _department(actor, department)
    users = _roster_reps(actor, dept, reps)
    if not isinstance(note, str) or len(note) > 300:
        raise Invalid(_("At most %(n)d characters.") % {"n": 300}, fields={"note": [_("Too long.")]})
    duty = DutyDay.objects.select_for_update().filter(department=dept, day=the_day).first()
    created = duty is None
    if created:
        prev_order, prev_last = _previous(dept.pk, the_day)
        start = rotation.new_day([u.pk for u in users], previous_order=prev_order, previous_last=prev_last)
        try:
            with transaction.atomic():
                duty = DutyDay.objects.create(department=dept, day=the_day, last_rep_id=start.last, note=note,
                                              created_by=actor)
        except IntegrityError as exc:
            raise Conflict(_("Someone else set this day's roster at the same time; reload."),
                           code="roster_conflict") from exc
        status = {}
    else:
        status = dict(duty.shifts.values_list("rep_id", "status"))
        duty.shifts.all().delete()
        keep = {u.pk for u in users}
        duty.makeups = [r for r in (duty.makeups or []) if r in keep]
        if duty.last_rep_id not in keep:
            duty.last_rep = None
        duty.note = note
        duty.save()
    DutyShift.objects.bulk_create([DutyShift(duty_day=duty, rep=u, position=i + 1,
                                             status=status.get(u.pk, ShiftStatus.PRESENT))
                                   for i, u in enumerate(users)])
    audit_record(actor=actor, action="reception.roster_set", obj=duty,
                 changes={"day": the_day.isoformat(), "reps": [u.pk for u in users], "created": created})
    return duty


@transaction.atomic
def roster_copy(*, actor, from_day, to_day, department=None) -> DutyDay:
    """Copy a day's roster (order only; everyone present) to another day (复制排班)."""
    _require_manage(actor)
    src_day, dst_day = _date(from_day), _date(to_day)
    errors: dict = {}
    if src_day is None:
        errors["from_day"] = [_("Enter a date.")]
    if dst_day is None:
        errors["to_day"] = [_("Enter a date.")]
    _raise(errors)
    dept = _department(actor, department)
    src = DutyDay.objects.filter(department=dept, day=src_day).first()
    if src is None:
        raise NotFound(_("No roster on that day."))
    reps = list(src.shifts.order_by("position").values_list("rep_id", flat=True))
    return roster_set(actor=actor, day=dst_day, reps=reps, department=dept.pk, note=src.note)


@transaction.atomic
def shift_status_set(*, actor, day, rep, status, department=None) -> DutyShift:
    """Mark a rep on duty present, absent (loses turns) or out on an assigned duty (make-up turns).
    A rep may mark themselves back at the desk; everything else is the manager's."""
    _require_write(actor)
    the_day = _date(day)
    rep_id = _int(rep)
    errors: dict = {}
    if the_day is None:
        errors["day"] = [_("Enter a date.")]
    if rep_id is None:
        errors["rep"] = [_("Choose a rep.")]
    if status not in ShiftStatus.values:
        errors["status"] = [_("Choose a status.")]
    _raise(errors)
    if not (selectors.can_manage(actor) or (rep_id == actor.pk and status == ShiftStatus.PRESENT)):
        raise Forbidden(_("Only a sales manager may change the duty roster or handle refusals."))
    dept = _department(actor, department)
    duty = DutyDay.objects.select_for_update().filter(department=dept, day=the_day).first()
    shift = duty.shifts.filter(rep_id=rep_id).first() if duty else None
    if shift is None:
        raise NotFound(_("This rep is not on duty that day."))
    before = shift.status
    shift.status = status
    shift.save(update_fields=["status"])
    audit_record(actor=actor, action="reception.shift_status", obj=duty,
                 changes={"rep": rep_id, "status": [before, status]})
    return shift


# ---------------------------------------------------------------- the register

def _source(value, errors: dict) -> SourceChannel | None:
    pk = _int(value)
    source = SourceChannel.objects.filter(pk=pk, active=True).first() if pk else None
    if source is None:
        errors["source"] = [_("Choose a source.")]
    return source


def _user_on(actor, value, name: str, errors: dict) -> User | None:
    pk = _int(value)
    user = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    if user is None or not user.has_kehu_perm(Perm.SALES_WRITE) or not selectors.department_in_reach(
            actor, user.department_id, desk=True):
        errors[name] = [_("Choose a sales rep.")]
        return None
    return user


def _customer(actor, value, errors: dict) -> Customer | None:
    """A returning or known customer picked at the desk: any live customer of the actor's office (the
    desk receives everyone's customers; ownership is read from Customer.owner)."""
    pk = _int(value)
    if pk is None:
        errors["customer"] = [_("Choose a customer.")]
        return None
    customer = (Customer.objects.filter(pk=pk, deleted_at__isnull=True).select_related("owner").first())
    if customer is None or not selectors.department_in_reach(actor, customer.department_id, desk=True):
        raise NotFound(_("Customer not found."))
    return customer


def _lock_day(dept_id: int, day: dt.date) -> DutyDay | None:
    return DutyDay.objects.select_for_update().filter(department_id=dept_id, day=day).first()


def _save_queue(duty: DutyDay, queue: rotation.Queue) -> None:
    duty.last_rep_id = queue.last
    duty.makeups = list(queue.makeups)
    duty.save(update_fields=["last_rep", "makeups", "updated_at"])


@transaction.atomic
def entry_create(*, actor, data: dict, now: dt.datetime | None = None) -> RegisterEntry:
    """Register a walk-in or a call (来人来电登记). A walk-in is assigned here: to the rep the customer asks
    for (designated, not counted), to a returning customer's registered rep (or, when that rep is not at
    the desk, a courtesy reception by the last in line; not counted), else to the next turn of the day's
    rotation (make-ups first). A call is taken by the actor (or the rep given) and moves nothing."""
    _require_write(actor)
    if not isinstance(data, dict):
        raise Invalid(_("Send an object."), fields={"__all__": [_("Send an object.")]})
    now = now or timezone.now()
    errors: dict = {}
    kind = data.get("kind", EntryKind.WALK_IN)
    if kind not in EntryKind.values:
        errors["kind"] = [_("Choose walk-in or call.")]
    source = _source(data.get("source"), errors)
    customer = _customer(actor, data.get("customer"), errors) if data.get("customer") not in (None, "") else None
    name = _text(data, "visitor_name", errors, max_length=100)
    phone = _text(data, "visitor_phone", errors, max_length=30)
    intention = _text(data, "intention", errors, max_length=500)
    note = _text(data, "note", errors, max_length=500)
    if customer is None and not name and "customer" not in errors:
        errors["visitor_name"] = [_("Enter the visitor's name or choose a customer.")]
    party = data.get("party_size", 1)
    if isinstance(party, str) and party.strip().isdigit():
        party = int(party.strip())
    if isinstance(party, bool) or not isinstance(party, int) or not 1 <= party <= 99:
        errors["party_size"] = [_("Enter a whole number from 1 to 99.")]
    arranged = data.get("arranged_by_company", False)
    if not isinstance(arranged, bool):
        errors["arranged_by_company"] = [_("Enter true or false.")]
    spouse = None
    if data.get("spouse_of") not in (None, ""):
        spouse_errors: dict = {}
        spouse = _customer(actor, data.get("spouse_of"), spouse_errors)
        if spouse_errors or (spouse is not None and customer is not None and spouse.pk == customer.pk):
            errors["spouse_of"] = [_("Choose the spouse's customer record (another customer).")]
    designated = None
    if data.get("designated_rep") not in (None, ""):
        designated = _user_on(actor, data.get("designated_rep"), "designated_rep", errors)
    _raise(errors)
    dept_id = actor.department_id
    day = timezone.localdate(now)
    entry = RegisterEntry(kind=kind, at=now, day=day, source=source, customer=customer,
                          visitor_name=name or (customer.name[:100] if customer else ""), visitor_phone=phone,
                          party_size=party, intention=intention, note=note, arranged_by_company=arranged,
                          spouse_of=spouse, created_by=actor)
    if kind == EntryKind.CALL:
        entry.rep = designated or actor
        entry.assignment = Assignment.CALL
        entry.department_id = entry.rep.department_id
        entry.outcome = Outcome.INFO
    else:
        _assign_walk_in(actor, entry, dept_id=dept_id, day=day, customer=customer, designated=designated)
    entry.full_clean(exclude=["customer", "source", "rep", "department", "duty_day", "spouse_of"])
    entry.save()
    audit_record(actor=actor, action="reception.entry_create", obj=entry,
                 changes={"kind": kind, "rep": entry.rep_id, "assignment": entry.assignment,
                          "counted": entry.counted, "customer": entry.customer_id})
    if entry.rep_id != actor.pk and entry.kind == EntryKind.WALK_IN:
        notify(user=entry.rep, title=_("A walk-in customer for you: %(name)s") % {"name": entry.visitor_name},
               body=entry.intention, link=reverse("reception:entry", args=[entry.pk]))
    return entry


def _assign_walk_in(actor, entry: RegisterEntry, *, dept_id, day, customer, designated) -> None:
    duty = _lock_day(dept_id, day) if dept_id else None
    entry.duty_day = duty
    queue = queue_of(duty) if duty else None
    owner = customer.owner if customer is not None else None
    if designated is not None:
        entry.rep, entry.assignment = designated, Assignment.DESIGNATED
    elif customer is not None and _is_returning(customer, owner):
        entry.is_returning = True
        if queue is not None and not queue.present(owner.pk) and queue.order:
            # the registered rep is not at the desk: the last in line receives as a courtesy (义务接待)
            try:
                rep_id = rotation.courtesy_receiver(queue)
            except rotation.NoRepAvailable:
                rep_id = owner.pk
            entry.rep = User.objects.get(pk=rep_id) if rep_id != owner.pk else owner
            entry.assignment = Assignment.COURTESY if rep_id != owner.pk else Assignment.RETURNING
        else:
            entry.rep, entry.assignment = owner, Assignment.RETURNING
    else:
        if queue is None or not queue.order:
            raise Conflict(_("Nobody is on duty today: ask the manager to set the roster."), code="no_roster")
        try:
            turn, queue = rotation.next_turn(queue)
        except rotation.NoRepAvailable as exc:
            raise Conflict(_("Nobody on duty is at the desk."), code="nobody_at_desk") from exc
        _save_queue(duty, queue)
        entry.rep = User.objects.get(pk=turn.rep)
        entry.assignment = Assignment.MAKEUP if turn.kind == rotation.MAKEUP else Assignment.ROTATION
        entry.counted = True
    entry.department_id = entry.rep.department_id


def _is_returning(customer: Customer, owner) -> bool:
    """A customer with a registered rep who has been received before (or has an owner who sells)."""
    return owner is not None and owner.is_active and owner.has_kehu_perm(Perm.SALES_WRITE)


@transaction.atomic
def entry_outcome_set(*, actor, entry_id, outcome, note=None) -> RegisterEntry:
    """Record how a visit or call ended (the rep, or a manager)."""
    _require_write(actor)
    entry = selectors.entry_get(actor=actor, entry_id=entry_id, for_update=True)
    if outcome not in Outcome.values or outcome == Outcome.OPEN:
        raise Invalid(_("Choose an outcome."), fields={"outcome": [_("Choose an outcome.")]})
    if entry.rep_id != actor.pk and not selectors.can_manage(actor):
        raise Forbidden(_("Only the receiving rep or a manager may record the outcome."))
    before = entry.outcome
    entry.outcome = outcome
    if isinstance(note, str) and note.strip():
        entry.note = note.strip()[:500]
    entry.save(update_fields=["outcome", "note"])
    audit_record(actor=actor, action="reception.entry_outcome", obj=entry, changes={"outcome": [before, outcome]})
    return entry


@transaction.atomic
def entry_refuse(*, actor, entry_id, reason) -> RegisterEntry:
    """The customer refuses the receiving rep mid-visit (中途拒绝): the refusal waits for the manager."""
    _require_write(actor)
    entry = selectors.entry_get(actor=actor, entry_id=entry_id, for_update=True)
    errors: dict = {}
    reason = _text({"reason": reason}, "reason", errors, max_length=300, required=True)
    _raise(errors)
    if entry.kind != EntryKind.WALK_IN:
        raise Conflict(_("Only a walk-in can be refused."), code="not_a_walk_in")
    if entry.refusal == Refusal.PENDING:
        raise Conflict(_("This refusal is already waiting for the manager."), code="refusal_pending")
    entry.refusal, entry.refusal_reason = Refusal.PENDING, reason
    entry.save(update_fields=["refusal", "refusal_reason"])
    audit_record(actor=actor, action="reception.entry_refuse", obj=entry, changes={"reason": reason})
    return entry


@transaction.atomic
def refusal_resolve(*, actor, entry_id, decision, designated_rep=None, now=None) -> RegisterEntry:
    """The manager handles a refusal (seed 004 第12篇 3 10) and 5 2)): keep the rep (no fault, the customer
    calmed down); reassign to the next rep in rotation — the visit is void for the refused rep, who gets a
    priority make-up turn; or hand the customer to the rep they asked for (first receiver 70 % /
    designated 30 % on a deal, recorded as first_receiver)."""
    _require_manage(actor)
    entry = selectors.entry_get(actor=actor, entry_id=entry_id, for_update=True)
    if entry.refusal != Refusal.PENDING:
        raise Conflict(_("No refusal is waiting on this visit."), code="no_pending_refusal")
    errors: dict = {}
    if decision not in (Refusal.KEPT, Refusal.REASSIGNED, Refusal.DESIGNATED):
        errors["decision"] = [_("Choose how to handle the refusal.")]
    target = None
    if decision == Refusal.DESIGNATED:
        target = _user_on(actor, designated_rep, "designated_rep", errors)
        if target is not None and target.pk == entry.rep_id:
            errors["designated_rep"] = [_("Choose another rep than the one refused.")]
    _raise(errors)
    refused = entry.rep
    if decision == Refusal.REASSIGNED:
        duty = _lock_day(entry.department_id or actor.department_id, entry.day) if entry.duty_day_id is None else (
            DutyDay.objects.select_for_update().get(pk=entry.duty_day_id))
        if duty is None:
            raise Conflict(_("Nobody is on duty today: ask the manager to set the roster."), code="no_roster")
        queue = queue_of(duty)
        try:
            turn, queue = rotation.refuse(queue, refused.pk)
        except rotation.NoRepAvailable as exc:
            raise Conflict(_("Nobody on duty is at the desk."), code="nobody_at_desk") from exc
        _save_queue(duty, queue)
        entry.first_receiver = refused
        entry.rep = User.objects.get(pk=turn.rep)
        entry.assignment = Assignment.MAKEUP if turn.kind == rotation.MAKEUP else Assignment.ROTATION
        entry.counted = True
        entry.duty_day = duty
    elif decision == Refusal.DESIGNATED:
        entry.first_receiver = refused
        entry.rep = target
    entry.refusal = decision
    entry.handled_by = actor
    entry.department_id = entry.rep.department_id
    entry.save()
    audit_record(actor=actor, action="reception.refusal_resolve", obj=entry,
                 changes={"decision": decision, "refused": refused.pk, "rep": entry.rep_id})
    if entry.rep_id != refused.pk:
        notify(user=entry.rep, title=_("A walk-in customer for you: %(name)s") % {"name": entry.visitor_name},
               body=entry.intention, link=reverse("reception:entry", args=[entry.pk]))
    return entry


CUSTOMER_KINDS = ("person", "organization")


@transaction.atomic
def entry_register(*, actor, entry_id, kind: str = "person", name=None, phone_consent: bool = False,
                   now: dt.datetime | None = None) -> RegisterEntry:
    """The receiving rep registers the visitor of their walk-in or call (客户登记, seed 004 第12篇 3): through the
    ownership app's registration, so first registration wins and the rep becomes the owner; a visitor not yet a
    customer is filed as a new one (its source the entry's). The entry then points at the customer and its
    outcome is "registered". Only the receiving rep registers (the registration makes the registrant the owner);
    a visit whose refusal waits for the manager is not registered. The visitor's phone is stored on a person's
    record only when the rep ticks that the visitor agreed (PIPL 13)."""
    _require_write(actor)
    entry = selectors.entry_get(actor=actor, entry_id=entry_id, for_update=True)
    if entry.rep_id != actor.pk:
        raise Forbidden(_("Only the receiving rep registers the visitor: the registration makes them the owner."))
    if entry.refusal == Refusal.PENDING:
        raise Conflict(_("The customer refused this rep: wait for the manager's decision."), code="refusal_pending")
    if entry.outcome == Outcome.REGISTERED and entry.customer_id:
        raise Conflict(_("This visitor is registered already."), code="entry_registered")
    if not isinstance(phone_consent, bool):
        raise Invalid(_("Enter true or false."), fields={"phone_consent": [_("Enter true or false.")]})
    from kehu.sales.ownership.models import Channel
    from kehu.sales.ownership.services import registration_create

    channel = Channel.CALL if entry.kind == EntryKind.CALL else Channel.VISIT
    note = _("From the visitor and call register, entry %(id)s (%(source)s).") % {"id": entry.pk,
                                                                                  "source": entry.source.name}
    if entry.customer_id:
        try:
            reg = registration_create(actor=actor, customer_id=entry.customer_id, channel=channel, note=note, now=now)
        except Conflict as exc:
            if exc.code != "already_registered_by_you":
                raise
            reg = None  # the rep's own valid registration stands: the visit is theirs already
        customer = reg.customer if reg is not None else entry.customer
    else:
        errors: dict = {}
        if kind not in CUSTOMER_KINDS:
            errors["kind"] = [_("Choose a person or a company.")]
        name = _text({"name": entry.visitor_name if name is None else name}, "name", errors, max_length=100,
                     required=True)
        _raise(errors)
        data = {"name": name, "kind": kind, "source": entry.source.name[:50]}
        if kind == "person" and entry.visitor_phone and phone_consent:
            data["mobile"] = entry.visitor_phone
            data["basis"] = {"basis": "consent", "channel": _("Sales office visit"),
                             "purpose": _("Contact about the customer's visit to the sales office")}
        reg = registration_create(actor=actor, new_customer=data, channel=channel, note=note, now=now)
        customer = reg.customer
    before = entry.outcome
    entry.customer = customer
    entry.outcome = Outcome.REGISTERED
    entry.save(update_fields=["customer", "outcome"])
    audit_record(actor=actor, action="reception.entry_register", obj=entry,
                 changes={"customer": customer.pk, "registration": reg.pk if reg is not None else None,
                          "outcome": [before, entry.outcome]})
    return entry


def counted_assignments() -> tuple[str, ...]:
    return tuple(COUNTED)


def register_erase(*, mobiles: list[str], id_numbers: list[str]) -> int:
    """Erasure (PIPL 47) reaches the register: a walk-in's or call's phone that is one of the person's
    mobiles is cleared with the visitor's name. Called by the privacy erasure service in its transaction."""
    digits = {"".join(ch for ch in m if ch.isdigit())[-11:] for m in mobiles if m}
    digits.discard("")
    if not digits:
        return 0
    last4 = {d[-4:] for d in digits}
    hits = [pk for pk, phone in RegisterEntry.objects.exclude(visitor_phone="")
            .filter(visitor_phone__regex=r"(" + "|".join(last4) + r")$").values_list("pk", "visitor_phone")
            if "".join(ch for ch in phone if ch.isdigit())[-11:] in digits]
    return RegisterEntry.objects.filter(pk__in=hits).update(visitor_phone="", visitor_name="—")
