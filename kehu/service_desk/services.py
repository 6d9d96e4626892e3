"""Every write of the complaint process. Each function takes the acting user first, runs in one
transaction with the complaint row locked, records a ComplaintEvent and an audit entry."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access import protection
from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.audit.services import audit_record, audit_record_many
from kehu.concurrency.versioning import Expected, as_expected, save_versioned, version_check
from kehu.customers.validation import InvalidValue, normalize_mobile
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.service_desk import selectors, sla, workflow
from kehu.service_desk.models import Channel, Complaint, ComplaintEvent, Severity
from kehu.service_desk.ticketing import event_write, may_act, person_name
from kehu.workdays.selectors import calendar_get, sla_rule

# Policy: a general complaint's solution is approved by the supervisor (主管领导); a major (较大 / 情节较重)
# or serious (严重) one is decided in a managers' meeting (经理办公会专题会议) — the meeting chain.
APPROVAL_CHAINS = {
    Severity.GENERAL: "complaint.solution.general",
    Severity.MAJOR: "complaint.solution.serious",
    Severity.SERIOUS: "complaint.solution.serious",
}
EXTENSION_CHAIN = "complaint.deadline_extension"


def sla_days_for(severity: str) -> int:
    """The policy's "within N working days" for a severity (settings, policy defaults 1 / 3 / 3)."""
    return int(settings.KEHU_COMPLAINT_SLA_DAYS[severity])


def due_for(received_at: dt.datetime, days: int) -> dt.datetime:
    return calendar_get().sla_due(received_at, days, sla_rule())


def sla_rule_for(severity: str, customer_id: int | None) -> sla.SlaRule:
    """The working days a complaint of ``severity`` about ``customer_id`` gets: the nature's default, or
    the service policy of the customer's grade when that is tighter (see sla.SlaRule for the rule)."""
    return sla.tier_rule(sla_days_for(severity), customer_id=customer_id, figure="complaint_sla_working_days",
                         basis=Severity(severity).label)


def _event(complaint: Complaint, actor, action: str, from_state: str, note: str = "") -> None:
    event_write(ComplaintEvent, ticket=complaint, field="complaint", actor=actor, action=action,
                from_state=from_state, note=note)


def _tracking_no(now: dt.datetime) -> str:
    local = timezone.localtime(now)
    return f"TS{local:%Y%m%d}-{secrets.token_hex(3).upper()}"


def _set_phone(c: Complaint, raw: str | None) -> None:
    if not raw:
        return
    try:
        value = normalize_mobile(raw)
    except InvalidValue as exc:
        raise Invalid(_("“%(v)s” is not a valid mobile number.") % {"v": raw},
                      fields={"complainant_phone": [_("Enter a valid mobile number, e.g. 13812345678.")]}) from exc
    c.complainant_phone_enc = protection.encrypt(value)
    c.complainant_phone_hash = protection.lookup_hash(value)
    c.complainant_phone_masked = protection.mask_mobile(value)


def _require_fields(data: dict, *names: str) -> None:
    missing = {n: [_("This field is required.")] for n in names if not str(data.get(n) or "").strip()}
    if missing:
        raise Invalid(_("Some required fields are missing."), fields=missing)


@transaction.atomic
def complaint_record(*, actor, data: dict) -> Complaint:
    """Record a complaint received by ``actor`` on any channel; the receiver becomes accountable."""
    if not actor.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        raise Forbidden(_("You are not allowed to do this."))
    _require_fields(data, "complainant_name", "subject", "description", "channel")
    if data["channel"] not in Channel.values:
        raise Invalid(_("Unknown channel."), fields={"channel": [_("Unknown channel.")]})
    customer = None
    if data.get("customer"):
        from kehu.customers.selectors import customer_get

        customer = customer_get(actor=actor, customer_id=data["customer"])
    received_at = data.get("received_at") or timezone.now()
    if received_at > timezone.now() + dt.timedelta(minutes=5):
        raise Invalid(_("The time of receipt cannot be in the future."), fields={"received_at": [_("In the future.")]})
    return _create(actor=actor, accountable=actor, customer=customer, channel=data["channel"], data=data,
                   received_at=received_at)


def _create(*, actor, accountable: User, customer, channel: str, data: dict, received_at) -> Complaint:
    # Until its nature is judged, the shortest promise applies (or the grade's, when tighter).
    rule = sla_rule_for(Severity.GENERAL, customer.pk if customer else None)
    days = rule.days
    c = Complaint(
        tracking_no=_tracking_no(received_at), customer=customer,
        complainant_name=data["complainant_name"].strip()[:100], channel=channel,
        subject=data["subject"].strip()[:200], description=data["description"].strip(),
        received_at=received_at, received_by=actor if actor and actor.pk else None, accountable=accountable,
        department_id=accountable.department_id, sla_days=days, due_at=due_for(received_at, days),
    )
    _set_phone(c, data.get("complainant_phone"))
    c.complainant_company = str(data.get("company") or data.get("complainant_company") or "").strip()[:200]
    c.complainant_uscc = str(data.get("complainant_uscc") or "").strip().upper()[:18]
    c.save()
    _event(c, actor, "record", "", note=c.subject)
    if rule.involves_grade:
        _event(c, actor, "sla_set", c.state, note=rule.note())
    audit_record(actor=actor, action="complaint.record", obj=c,
                 changes={"channel": [None, channel], "accountable": [None, accountable.get_username()],
                          "sla_days": [None, days]})
    return c


@transaction.atomic
def complaint_public_submit(*, data: dict, ip: str | None) -> Complaint:
    """A complaint filed on the public form (no account). The service agent with the fewest open
    complaints receives it and is accountable. Rate-limited per address; a filled spam trap is refused."""
    from kehu.audit.models import AuditEntry
    from kehu.errors import Locked

    if (data.get("website") or "").strip():
        raise Invalid(_("The form could not be accepted."), code="spam")
    limit, seconds = settings.KEHU_PUBLIC_FORM_RATE
    recent = AuditEntry.objects.filter(action="complaint.record", actor__isnull=True, ip=ip,
                                       at__gte=timezone.now() - dt.timedelta(seconds=seconds)).count()
    if ip and recent >= limit:
        raise Locked(_("Too many complaints from your address; please try again later or call us."))
    _require_fields(data, "complainant_name", "complainant_phone", "subject", "description")
    if (data.get("company") or "").strip():
        data = {**data, "description": f"{data['description'].strip()}\n（单位：{data['company'].strip()}）"}
    agent = (User.objects.filter(role=settings.KEHU_COMPLAINT_INTAKE_ROLE, is_active=True)
             .annotate(open=Count("accountable_complaints",
                                  filter=Q(accountable_complaints__state__in=workflow.OPEN_STATES)))
             .order_by("open", "id").first())
    if agent is None:
        raise Conflict(_("No service agent can receive complaints right now; please call us."), code="no_agent")
    return _create(actor=None, accountable=agent, customer=None, channel=Channel.ONLINE_FORM, data=data,
                   received_at=timezone.now())


def _locked(actor, complaint_id: int, expected_version: Expected | int | None) -> Complaint:
    if not actor.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        raise Forbidden(_("You are not allowed to do this."))
    c = selectors.complaint_get(actor=actor, complaint_id=complaint_id, for_update=True)
    if not may_act(actor, accountable_id=c.accountable_id, department_id=c.department_id):
        raise Forbidden(_("Only the accountable person or a manager above them may handle this complaint."),
                        code="not_accountable")
    version_check(c, as_expected(expected_version), code="stale")  # 409 (body) / 412 (If-Match)
    return c


def _move(c: Complaint, action: str) -> str:
    before = c.state
    try:
        c.state = workflow.next_state(c.state, action)
    except workflow.IllegalTransition as exc:
        raise Conflict(_("“%(a)s” is not allowed while the complaint is “%(s)s”.")
                       % {"a": action, "s": c.get_state_display()}, code="illegal_transition") from exc
    return before  # the version rises when the step is saved (save_versioned)


@transaction.atomic
def complaint_act(*, actor, complaint_id: int, action: str, data: dict | None = None,
                  expected_version: int | None = None) -> Complaint:
    """Take the next step of the procedure. Illegal steps are refused (409); a step on a version
    someone else already changed is refused (409) so two agents acting at once cannot both win."""
    data = data or {}
    c = _locked(actor, complaint_id, expected_version)
    if action not in workflow.USER_ACTIONS:
        raise Invalid(_("Unknown action."), fields={"action": [_("Unknown action.")]})
    before = _move(c, action)
    note, rule = "", None
    if action == "judge":
        severity = data.get("severity")
        if severity not in Severity.values:
            raise Invalid(_("Judge the nature: general, major or serious."), fields={"severity": [_("Required.")]})
        c.severity, c.category = severity, (data.get("category") or "").strip()[:50]
        rule = sla_rule_for(severity, c.customer_id)
        c.sla_days = rule.days
        c.due_at = due_for(c.received_at, c.sla_days)
        note = f"{c.get_severity_display()} {c.category}".strip()
    elif action == "investigate":
        _require_fields(data, "cause")
        c.cause = note = data["cause"].strip()
    elif action == "assign":
        responsible = User.objects.filter(pk=data.get("responsible"), is_active=True).first()
        if responsible is None:
            raise Invalid(_("Choose the responsible person."), fields={"responsible": [_("Unknown user.")]})
        c.responsible, note = responsible, str(responsible)
    elif action == "propose":
        _require_fields(data, "solution")
        # A major or serious proposal is decided in a managers' meeting recorded on its approval (date,
        # participants, minutes, decision); minutes typed here are kept only as a note.
        if (data.get("meeting_minutes") or "").strip():
            c.meeting_minutes = data["meeting_minutes"].strip()
        c.solution = note = data["solution"].strip()
    elif action == "answer":
        _require_fields(data, "reply")
        c.reply, c.answered_at, note = data["reply"].strip(), timezone.now(), data["reply"].strip()
        # The SLA clock stops here; the return visit and the summary get their own deadline.
        c.followup_due_at = sla.followup_due_for(c.answered_at)
    elif action == "return_visit":
        _require_fields(data, "return_visit_note")
        c.return_visit_note = note = data["return_visit_note"].strip()
        c.satisfied = data.get("satisfied")
    elif action == "evaluate":
        _require_fields(data, "evaluation")
        c.evaluation = note = data["evaluation"].strip()
    elif action == "close":
        c.closed_at = timezone.now()
    save_versioned(c, fields=["state", action])
    _event(c, actor, action, before, note)
    if rule is not None and rule.involves_grade:
        _event(c, actor, "sla_set", c.state, note=rule.note())
    audit_record(actor=actor, action=f"complaint.{action}", obj=c, changes={"state": [before, c.state]})
    if action == "propose":
        _ask_approval(actor, c, APPROVAL_CHAINS[c.severity], _("Solution for complaint %(n)s") % {"n": c.tracking_no},
                      payload={"summary": c.solution[:1000], "severity": c.severity, "object_url": _url(c)})
    return c


@transaction.atomic
def complaint_reassign(*, actor, complaint_id: int, user_id: int, reason: str) -> Complaint:
    """Only a manager (or above) moves accountability to someone else, and must say why."""
    if not actor.has_kehu_perm(Perm.COMPLAINT_REASSIGN):
        raise Forbidden(_("Only a manager may reassign a complaint."))
    if not (reason or "").strip():
        raise Invalid(_("Give the reason for the reassignment."), fields={"reason": [_("Required.")]})
    c = _locked(actor, complaint_id, None)
    target = User.objects.filter(pk=user_id, is_active=True).first()
    if target is None or not target.has_kehu_perm(Perm.COMPLAINT_HANDLE):
        raise Invalid(_("This user cannot handle complaints."), fields={"user": [_("Not a complaint handler.")]})
    old = c.accountable
    c.accountable, c.department_id = target, target.department_id
    save_versioned(c, fields=["accountable"])
    _event(c, actor, "reassign", c.state, note=f"{old} → {target}: {reason.strip()}")
    audit_record(actor=actor, action="complaint.reassign", obj=c,
                 changes={"accountable": [old.get_username(), target.get_username()], "reason": reason.strip()})
    return c


@transaction.atomic
def complaint_request_extension(*, actor, complaint_id: int, days: int, reason: str) -> Complaint:
    """Ask (through the approval engine) to extend the deadline to ``days`` working days in all,
    at most the policy's maximum (7)."""
    c = _locked(actor, complaint_id, None)
    limit = int(settings.KEHU_COMPLAINT_SLA_MAX_DAYS)
    if c.state == workflow.CLOSED:
        raise Conflict(_("The complaint is closed."), code="closed")
    if not (c.sla_days < days <= limit):
        raise Invalid(_("An extension must be longer than the current %(cur)d and at most %(max)d working days.")
                      % {"cur": c.sla_days, "max": limit}, fields={"days": [_("Out of range.")]})
    if not (reason or "").strip():
        raise Invalid(_("Give the reason for the extension."), fields={"reason": [_("Required.")]})
    proposed = due_for(c.received_at, days)
    _event(c, actor, "extension_requested", c.state,
           note=_("New due date %(due)s (%(d)d working days in all): %(r)s")
           % {"due": due_label(proposed), "d": days, "r": reason.strip()})
    audit_record(actor=actor, action="complaint.extension_request", obj=c, changes={"days": [c.sla_days, days]})
    _ask_approval(actor, c, EXTENSION_CHAIN, _("Extend complaint %(n)s: due %(due)s instead of %(cur)s") %
                  {"n": c.tracking_no, "due": due_label(proposed), "cur": due_label(c.due_at)},
                  payload={"days": days, "current_due": c.due_at.isoformat(), "proposed_due": proposed.isoformat(),
                           "reason": reason.strip(), "object_url": _url(c)})
    return c


def _url(c: Complaint) -> str:
    return f"/complaints/{c.pk}/"


def due_label(at: dt.datetime) -> str:
    """A deadline as people say it: "2025-10-13 24:00" for the end of a day, not "10-14 00:00"."""
    local = timezone.localtime(at)
    if local.hour == 0 and local.minute == 0:
        return f"{(local - dt.timedelta(days=1)):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def _ask_approval(actor, c: Complaint, chain: str, title: str, payload: dict | None = None) -> None:
    from kehu.approvals.services import approval_request

    # The steps walk up the accountable person's department line (谁受理、谁跟进), whoever asks.
    approval_request(actor=actor, chain_code=chain, target=c, title=title, payload=payload or {},
                     line_of=c.accountable)


def on_approval_outcome(request, outcome: str) -> None:
    """The approval engine's answer about a complaint (same transaction as the decision)."""
    c = Complaint.objects.select_for_update().get(pk=request.object_id)
    before = c.state
    if request.chain.code == EXTENSION_CHAIN:
        if outcome == "approved":
            days = int((request.payload or {}).get("days") or c.sla_days)
            c.sla_days, c.due_at = days, due_for(c.received_at, days)
            if c.breached_at and c.due_at > timezone.now():
                c.breached_at, c.escalation_level = None, 0
            save_versioned(c, fields=["sla_days", "due_at"])
        _event(c, None, f"extension_{outcome}", before,
               note=_("Due %(due)s (%(d)d working days in all)") % {"due": due_label(c.due_at), "d": c.sla_days})
        return
    if c.state != workflow.SOLUTION_PROPOSED:
        return
    _move(c, "solution_approved" if outcome == "approved" else "solution_sent_back")
    save_versioned(c, fields=["state"])
    _event(c, None, f"solution_{outcome}", before)


def register_approval_handlers() -> None:
    try:
        from kehu.approvals.hooks import register_outcome_handler
    except ImportError:  # the approval engine is not installed in this deployment
        return
    register_outcome_handler("service_desk.complaint", on_approval_outcome)


# ---------------------------------------------------------------- SLA sweep (worker)

SWEEP_BATCH = 2_000  # complaints per transaction: short write locks, bounded IN lists
SWEEP_MAX_PER_LEVEL = 50_000  # per call; the next sweep (every minute) takes the rest
EMAILS_PER_TASK = 500  # notification mails per queued task: one queue write per 500 mails, not per mail
_SWEEP_FIELDS = ("id", "tracking_no", "subject", "state", "due_at", "accountable_id", "department_id")


def complaint_sla_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Mark open complaints past their deadline as breached and escalate: first to the managers of
    the accountable person's department line, then, after one more working day, to the level above.
    Set-based: one indexed selection per level, then batches that each lock their rows, update them
    with one UPDATE, write their events in bulk and their audit entries as one chain segment.
    Idempotent (a row is taken only while it is still at the level below) and safe with several
    workers (the batch re-reads its rows under the lock)."""
    now = now or timezone.now()
    sweep = _Sweep(now)
    ids = list(Complaint.objects.filter(sla.complaint_overdue_q(now), escalation_level=0)
               .order_by("due_at", "id").values_list("id", flat=True)[:SWEEP_MAX_PER_LEVEL])
    breached = sum(sweep.escalate(ids[i:i + SWEEP_BATCH], level=1) for i in range(0, len(ids), SWEEP_BATCH))
    # Level 2 is due one working day after the deadline: only those past it are taken (pure arithmetic
    # on the calendar, no query per complaint). Complaints breached just now are candidates too.
    calendar, rule = calendar_get(), sla_rule()
    ids = [pk for pk, due_at in Complaint.objects.filter(sla.complaint_overdue_q(now), escalation_level=1)
           .order_by("due_at", "id").values_list("id", "due_at")[:SWEEP_MAX_PER_LEVEL]
           if calendar.sla_due(due_at, 1, rule) <= now]
    escalated = sum(sweep.escalate(ids[i:i + SWEEP_BATCH], level=2) for i in range(0, len(ids), SWEEP_BATCH))
    return {"breached": breached, "escalated": escalated, "followup_reminded": complaint_followup_sweep(now=now)}


@transaction.atomic
def complaint_followup_sweep(*, now: dt.datetime | None = None) -> int:
    """Remind the accountable person, once, of an answered complaint whose return visit and summary
    are past their follow-up deadline. Never a breach, never an escalation: the SLA clock stopped
    when the customer was answered. Returns how many were reminded."""
    now = now or timezone.now()
    rows = list(Complaint.objects.select_for_update(of=("self",))
                .filter(sla.complaint_followup_overdue_q(now), followup_reminded_at__isnull=True)
                .select_related("accountable").order_by("followup_due_at", "id")[:SWEEP_MAX_PER_LEVEL])
    if not rows:
        return 0
    Complaint.objects.filter(pk__in=[c.pk for c in rows]).update(followup_reminded_at=now)
    at = timezone.now()
    ComplaintEvent.objects.bulk_create(
        [ComplaintEvent(complaint_id=c.pk, at=at, actor=None, actor_name="system", action="followup_overdue",
                        from_state=c.state, to_state=c.state) for c in rows], batch_size=500)
    audit_record_many(actor=None, action="complaint.followup_remind", objects=rows,
                      changes=[{"followup_due_at": c.followup_due_at.isoformat()} for c in rows])
    title_text = _("Complaint %(n)s: the return visit and summary are due")
    _notify_many([(c.accountable, title_text % {"n": c.tracking_no}, c.subject, f"/complaints/{c.pk}/")
                  for c in rows])
    return len(rows)


class _Sweep:
    """One sweep's state: the escalation directory and the users and department paths already read,
    so each is fetched once per sweep, not once per complaint."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.directory = selectors.EscalationDirectory()
        self.paths: dict[int | None, str] = {None: ""}
        self.users: dict[int, User] = {}

    def _remember(self, rows: list[Complaint], *, accountable: bool) -> None:
        from kehu.access.models import Department

        missing = {c.department_id for c in rows} - self.paths.keys()
        if missing:
            self.paths.update(Department.objects.filter(pk__in=missing).values_list("id", "path"))
            self.paths.update((pk, "") for pk in missing - self.paths.keys())
        missing = {c.accountable_id for c in rows} - self.users.keys() if accountable else set()
        if missing:
            self.users.update(User.objects.in_bulk(missing))

    @transaction.atomic
    def escalate(self, ids: list[int], *, level: int) -> int:
        """Move the complaints ``ids`` that are still at ``level - 1`` (and still open and overdue) to
        ``level``, in one transaction; returns how many moved."""
        rows = list(Complaint.objects.select_for_update(of=("self",))
                    .filter(sla.complaint_overdue_q(self.now), pk__in=ids, escalation_level=level - 1)
                    .only(*_SWEEP_FIELDS).order_by("id"))
        if not rows:
            return 0
        pks = [c.pk for c in rows]
        changes = {"escalation_level": level}
        if level == 1:
            changes["breached_at"] = self.now
        moved = Complaint.objects.filter(pk__in=pks, escalation_level=level - 1).update(**changes)
        if moved != len(rows):  # cannot happen under the row locks; never write a half-true history
            raise Conflict(_("The SLA sweep raced with another writer; it will run again."), code="sweep_race")
        self._remember(rows, accountable=level == 1)  # level 2 does not notify the accountable person
        at = timezone.now()
        events, audit_changes, notes = [], [], []
        title_text = _("Complaint %(n)s is overdue (escalation level %(l)d)")
        for c in rows:
            recipients = self.directory.recipients(self.paths.get(c.department_id, ""), level=level)
            events.append(ComplaintEvent(complaint_id=c.pk, at=at, actor=None, actor_name="system",
                                         action=f"escalated_{level}", from_state=c.state, to_state=c.state,
                                         note=", ".join(str(u) for u in recipients)[:2000]))
            audit_changes.append({"level": [level - 1, level], "to": [u.get_username() for u in recipients]})
            title = title_text % {"n": c.tracking_no, "l": level}
            to = recipients + ([self.users[c.accountable_id]] if level == 1 else [])
            notes.extend((user, title, c.subject, f"/complaints/{c.pk}/") for user in to)
        ComplaintEvent.objects.bulk_create(events, batch_size=500)
        audit_record_many(actor=None, action="complaint.escalate", objects=rows, changes=audit_changes)
        _notify_many(notes)
        return len(rows)


def _notify_many(notes: list[tuple[User, str, str, str]]) -> None:
    """The bulk form of notifications.services.notify for the sweep: on commit, one INSERT for all
    the in-app notifications and e-mail handed to the worker in a few tasks instead of one per
    message (each enqueue is a write to the queue). Same channels, limits and skipping of inactive
    users as ``notify``."""
    try:
        from kehu.notifications.models import Notification
    except ImportError:  # notifications are not installed in this deployment
        return
    notes = [(u, str(title)[:200], str(body), str(link)[:500]) for u, title, body, link in notes
             if u is not None and u.is_active]
    if not notes:
        return
    channels = settings.KEHU_NOTIFY_CHANNELS
    if "inapp" in channels:
        rows = [Notification(user_id=u.pk, title=t, body=b, link=link) for u, t, b, link in notes]
        transaction.on_commit(lambda: Notification.objects.bulk_create(rows, batch_size=500))
    if "email" in channels and settings.KEHU_NOTIFY_EMAIL:
        mails = []
        for u, title, body, link in notes:
            to = (u.email or "").strip()
            if not to:
                continue
            subject = " ".join(title.split())
            if link.startswith("/") and settings.KEHU_SITE_URL:
                link = settings.KEHU_SITE_URL + link
            mails.append((to, subject, "\n\n".join(part for part in (body, link) if part) or subject))
        if mails:
            from kehu.service_desk.tasks import send_notification_emails

            for i in range(0, len(mails), EMAILS_PER_TASK):
                chunk = mails[i:i + EMAILS_PER_TASK]
                transaction.on_commit(lambda chunk=chunk: send_notification_emails(chunk), robust=True)


# ---------------------------------------------------------------- linking to a customer

def _relinked_rule(c: Complaint) -> sla.SlaRule | None:
    """The deadline rule after the complaint was linked to (another) customer, or None to keep the
    deadline: once the customer was answered the SLA clock has stopped, and an approved extension is
    the deadline agreed on (never shortened by a grade). Otherwise the new customer's grade applies
    as at receipt and when judged (and a customer without one brings back the nature's default)."""
    if not sla.complaint_on_clock(c) or c.events.filter(action="extension_approved").exists():
        return None
    rule = sla_rule_for(c.severity, c.customer_id)
    if rule.days == c.sla_days and not rule.involves_grade:
        return None
    return rule


@transaction.atomic
def complaint_link_customer(*, actor, complaint_id: int, customer_id: int, expected_version: int | None = None
                            ) -> Complaint:
    """Link the complaint to a customer (one of the matched candidates, or any customer in the actor's
    scope), or re-link it to another. Audited; the customer's owner is told."""
    from kehu.customers.selectors import customer_get

    c = _locked(actor, complaint_id, expected_version)
    customer = customer_get(actor=actor, customer_id=customer_id)
    if c.customer_id == customer.pk:
        return c
    old = c.customer
    c.customer = customer
    rule = _relinked_rule(c)
    before_days = c.sla_days
    if rule is not None:
        c.sla_days, c.due_at = rule.days, due_for(c.received_at, rule.days)
        if c.breached_at and c.due_at > timezone.now():
            c.breached_at, c.escalation_level = None, 0
    save_versioned(c, fields=["customer"])
    note = f"{old.name} → {customer.name}" if old else customer.name
    _event(c, actor, "customer_linked", c.state, note=note)
    if rule is not None:
        _event(c, actor, "sla_set", c.state, note=rule.note())
    changes = {"customer": [old.pk if old else None, customer.pk]}
    if c.sla_days != before_days:
        changes["sla_days"] = [before_days, c.sla_days]
    audit_record(actor=actor, action="complaint.link_customer", obj=c, changes=changes)
    owner = customer.owner
    if owner is not None and owner.pk != actor.pk:
        from kehu.notifications.services import notify

        notify(user=owner, title=_("A complaint about your customer %(c)s: %(s)s") % {"c": customer.name,
                                                                                     "s": c.subject},
               body=_("Accountable: %(p)s. Tracking number %(n)s.") % {"p": person_name(c.accountable),
                                                                       "n": c.tracking_no},
               link=_url(c))
    return c
