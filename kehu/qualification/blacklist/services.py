"""Every write of disqualification and the blacklist: asking (with evidence), the approval outcomes that
disqualify the customer and list it, lifting through approval, and the review of screening hits."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record, audit_record_many
from kehu.errors import Conflict, Forbidden, Invalid
from kehu.qualification.blacklist.models import (
    OPEN_STATES,
    BlacklistEntry,
    BlacklistPhone,
    Disqualification,
    EntryState,
    Evidence,
    HitSource,
    HitState,
    Lift,
    ReasonCategory,
    RequestState,
    ScreeningHit,
)

DISQUALIFICATION_CHAIN = "customer.disqualification"
LIFT_CHAIN = "customer.blacklist_lift"
DESCRIPTION_MAX = 4000


def config() -> dict:
    """The blacklist figures (settings.KEHU_BLACKLIST over the built-in defaults)."""
    base = {"evidence_max_bytes": 10 * 1024 * 1024,
            "evidence_types": ["application/pdf", "image/jpeg", "image/png", "image/webp"],
            "evidence_per_request": 20}
    return {**base, **getattr(settings, "KEHU_BLACKLIST", {})}


def can_request(actor) -> bool:
    """Who may ask for a disqualification: whoever does business with customers (销售部)."""
    return bool(actor and actor.is_authenticated and actor.has_kehu_perm(Perm.SALES_WRITE))


def can_manage(actor) -> bool:
    """Who may ask to lift an entry and review screening hits."""
    return bool(actor and actor.is_authenticated and actor.has_kehu_perm(Perm.QUALIFICATION_MANAGE))


def _need(ok: bool) -> None:
    if not ok:
        raise Forbidden(_("You are not allowed to do this."))


# ---------------------------------------------------------------- evidence files

def evidence_dir() -> Path:
    return Path(settings.VAR_DIR) / "blacklist" / "evidence"


def _store(file_name: str, chunks: Iterable[bytes]) -> dict:
    """Stream an evidence file into the private store, size-limited while read, its type sniffed from the
    content (never the name); kept once under its SHA-256. Invalid (422) when too large, empty or refused."""
    from kehu.engagement.services import sniff

    cfg = config()
    directory = evidence_dir()
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".upload-{uuid.uuid4().hex}"
    digest, size, limit, head = hashlib.sha256(), 0, cfg["evidence_max_bytes"], b""
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise Invalid(_("The file is larger than %(mb).1f MB.") % {"mb": limit / (1024 * 1024)},
                                  fields={"file": [_("Too large.")]}, code="too_large")
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(_("The file is empty."), fields={"file": [_("Empty file.")]}, code="empty")
        kind = sniff(head)
        if kind is None or kind[0] not in cfg["evidence_types"]:
            raise Invalid(_("Attach a PDF or a photo (JPEG, PNG, WebP) as evidence."),
                          fields={"file": [_("This type of file is not accepted.")]}, code="file_type")
        sha = digest.hexdigest()
        stored = f"{sha}.{kind[1]}"
        os.replace(tmp, directory / stored)
    finally:
        tmp.unlink(missing_ok=True)
    name = os.path.basename(str(file_name or "").replace("\\", "/")).strip().replace("\x00", "")[:200]
    return {"file_name": name or f"evidence.{kind[1]}", "content_type": kind[0], "size": size, "sha256": sha,
            "stored_name": stored}


def evidence_path(evidence: Evidence) -> Path:
    return evidence_dir() / evidence.stored_name


def _attach(actor, disq: Disqualification, info: dict) -> Evidence:
    existing = Evidence.objects.filter(disqualification=disq, sha256=info["sha256"]).first()
    if existing is not None:
        return existing
    if Evidence.objects.filter(disqualification=disq).count() >= config()["evidence_per_request"]:
        raise Invalid(_("Too many evidence files."), fields={"file": [_("Too many files.")]})
    evidence = Evidence.objects.create(disqualification=disq, uploaded_by=actor, **info)
    audit_record(actor=actor, action="disqualification.evidence_add", obj=disq,
                 changes={"file": evidence.file_name, "type": evidence.content_type, "size": evidence.size,
                          "sha256": evidence.sha256})
    return evidence


@transaction.atomic
def evidence_add(*, actor, disqualification_id: int, file_name: str, chunks: Iterable[bytes]) -> Evidence:
    """Add an evidence file to an open disqualification request in the actor's scope."""
    from kehu.qualification.blacklist import selectors

    _need(can_request(actor))
    disq = selectors.disqualification_get(actor=actor, disqualification_id=disqualification_id, for_update=True)
    if disq.state not in OPEN_STATES:
        raise Conflict(_("The request has been decided; evidence can no longer be added."), code="decided")
    return _attach(actor, disq, _store(file_name, chunks))


# ---------------------------------------------------------------- disqualification

def disqualification_request(*, actor, customer_id: int, category: str, description: str,
                             files: Iterable[tuple[str, Iterable[bytes]]] = ()) -> Disqualification:
    """Ask to disqualify a customer in scope (取消客户资格) for one of the policy's three reasons, with a
    description and evidence; the request goes to the approval chain customer.disqualification."""
    from kehu.customers.selectors import customer_get

    _need(can_request(actor))
    fields: dict[str, list[str]] = {}
    if category not in ReasonCategory.values:
        fields["category"] = [_("Choose one of the policy's reasons.")]
    description = (description or "").strip()
    if not description:
        fields["description"] = [_("Required.")]
    elif len(description) > DESCRIPTION_MAX:
        fields["description"] = [_("At most %(n)d characters.") % {"n": DESCRIPTION_MAX}]
    if fields:
        raise Invalid(next(iter(fields.values()))[0], fields=fields)
    customer = customer_get(actor=actor, customer_id=customer_id)  # 404 outside the actor's scope
    stored = [_store(name, chunks) for name, chunks in files]  # before the transaction: files are slow
    return _disqualification_create(actor, customer, category, description, stored)


@transaction.atomic
def _disqualification_create(actor, customer, category: str, description: str, stored: list[dict]):
    from kehu.approvals.services import approval_request
    from kehu.customers.models import Customer

    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.status == "disqualified":
        raise Conflict(_("This customer has already been disqualified."), code="already_disqualified")
    disq = Disqualification(customer=customer, customer_name=customer.name, owner_id=customer.owner_id,
                            department_id=customer.department_id, category=category, description=description,
                            requested_by=actor)
    disq.full_clean(exclude=["customer", "owner", "department", "requested_by"])
    try:
        with transaction.atomic():
            disq.save()
    except IntegrityError as exc:
        raise Conflict(_("A disqualification of this customer is already awaiting approval."),
                       code="already_requested") from exc
    for info in stored:
        _attach(actor, disq, info)
    approval_request(actor=actor, chain_code=DISQUALIFICATION_CHAIN, target=disq,
                     title=(_("Disqualify %(name)s") % {"name": customer.name})[:200],
                     payload={"reason": f"{ReasonCategory(category).label}：{description[:300]}",
                              "object_url": f"/blacklist/disqualifications/{disq.pk}/"})
    audit_record(actor=actor, action="disqualification.request", obj=disq,
                 changes={"customer": customer.pk, "category": category, "evidence": len(stored)})
    return disq


def _known_phones(customer) -> dict[str, str]:
    """hash → ciphertext of the customer's and its contacts' mobiles (the first ciphertext of each hash)."""
    from kehu.customers.models import Contact

    found: dict[str, str] = {}
    pairs = [(customer.mobile_hash, customer.mobile_enc), *Contact.objects.filter(customer_id=customer.pk).exclude(
        mobile_hash="").order_by("pk").values_list("mobile_hash", "mobile_enc")]
    for digest, token in pairs:
        if digest:
            found.setdefault(digest, token)
    return dict(sorted(found.items()))


def _decider(request):
    from kehu.approvals.models import ApprovalTask, TaskStatus

    task = (ApprovalTask.objects.filter(request=request, status=TaskStatus.APPROVED)
            .select_related("assignee").order_by("-acted_at", "-id").first())
    return task.assignee if task else request.requester


def entry_create(*, actor, customer, category: str, reason: str, disqualification=None) -> BlacklistEntry:
    """List a customer (inside the caller's transaction): its USCC, name core, ID number hash and the hashes
    of its and its contacts' phones are copied to the entry."""
    from kehu.qualification.blacklist.screening import core_of

    entry = BlacklistEntry.objects.create(
        customer=customer, customer_name=customer.name, kind=customer.kind,
        name_core=core_of(customer.name) if customer.kind == "organization" else "",
        uscc=customer.uscc or "", id_number_hash=customer.id_number_hash or "",
        id_number_enc=customer.id_number_enc or "", owner_id=customer.owner_id,
        department_id=customer.department_id, category=category, reason=reason,
        disqualification=disqualification)
    phones = _known_phones(customer)
    BlacklistPhone.objects.bulk_create([BlacklistPhone(entry=entry, phone_hash=h, phone_enc=t) for h, t in phones.items()])
    audit_record(actor=actor, action="blacklist.add", obj=entry,
                 changes={"customer": customer.pk, "category": category, "uscc": entry.uscc,
                          "name_core": entry.name_core, "phones": len(phones)})
    return entry


def on_disqualification_outcome(request, outcome: str) -> None:
    """Approval outcome of a disqualification: approved → the customer is disqualified and listed;
    rejected / cancelled / returned → the request's state says so."""
    from kehu.customers.models import Customer
    from kehu.qualification.status import customer_status_change

    disq = Disqualification.objects.select_for_update().get(pk=int(request.object_id))
    now = timezone.now()
    if outcome == "returned":
        disq.state = RequestState.RETURNED
        disq.save(update_fields=["state"])
        return
    if outcome in ("rejected", "cancelled"):
        disq.state = RequestState.REJECTED if outcome == "rejected" else RequestState.CANCELLED
        disq.decided_at = now
        disq.save(update_fields=["state", "decided_at"])
        audit_record(actor=_decider(request), action=f"disqualification.{outcome}", obj=disq, changes={})
        return
    if outcome != "approved":
        return
    actor = _decider(request)
    customer = Customer.objects.filter(pk=disq.customer_id, deleted_at__isnull=True).first()
    if customer is None:
        raise Conflict(_("The customer no longer exists."), code="customer_gone")
    reason = f"{ReasonCategory(disq.category).label}：{disq.description}"
    customer_status_change(actor=actor, customer_id=customer.pk, to="disqualified", reason=reason[:500],
                           source="disqualification", detail={"disqualification": disq.pk})
    customer.refresh_from_db()
    entry_create(actor=actor, customer=customer, category=disq.category, reason=disq.description,
                 disqualification=disq)
    disq.state, disq.decided_at = RequestState.APPROVED, now
    disq.save(update_fields=["state", "decided_at"])
    audit_record(actor=actor, action="disqualification.approved", obj=disq, changes={"customer": customer.pk})


# ---------------------------------------------------------------- lifting

@transaction.atomic
def lift_request(*, actor, entry_id: int, reason: str) -> Lift:
    """Ask to lift a blacklist entry in scope (解除黑名单), with a reason; decided by the chain
    customer.blacklist_lift."""
    from kehu.approvals.services import approval_request
    from kehu.qualification.blacklist import selectors

    _need(can_manage(actor))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("A reason is required."), fields={"reason": [_("Required.")]})
    if len(reason) > DESCRIPTION_MAX:
        raise Invalid(_("At most %(n)d characters.") % {"n": DESCRIPTION_MAX}, fields={"reason": [_("Too long.")]})
    entry = selectors.entry_get(actor=actor, entry_id=entry_id, for_update=True)
    if entry.state != EntryState.ACTIVE:
        raise Conflict(_("This entry has already been lifted."), code="already_lifted")
    try:
        with transaction.atomic():
            lift = Lift.objects.create(entry=entry, reason=reason, requested_by=actor)
    except IntegrityError as exc:
        raise Conflict(_("Lifting this entry is already awaiting approval."), code="already_requested") from exc
    approval_request(actor=actor, chain_code=LIFT_CHAIN, target=lift,
                     title=(_("Lift the blacklisting of %(name)s") % {"name": entry.customer_name})[:200],
                     payload={"reason": reason[:500], "object_url": f"/blacklist/{entry.pk}/"})
    audit_record(actor=actor, action="blacklist.lift_request", obj=entry, changes={"lift": lift.pk, "reason": reason})
    return lift


def on_lift_outcome(request, outcome: str) -> None:
    """Approval outcome of a lift: approved → the entry is lifted and a disqualified customer that still
    exists is active again."""
    from kehu.customers.models import Customer
    from kehu.qualification.status import customer_status_change

    lift = Lift.objects.select_for_update().select_related("entry").get(pk=int(request.object_id))
    now = timezone.now()
    if outcome == "returned":
        lift.state = RequestState.RETURNED
        lift.save(update_fields=["state"])
        return
    actor = _decider(request)
    if outcome in ("rejected", "cancelled"):
        lift.state = RequestState.REJECTED if outcome == "rejected" else RequestState.CANCELLED
        lift.decided_at = now
        lift.save(update_fields=["state", "decided_at"])
        return
    if outcome != "approved":
        return
    entry = BlacklistEntry.objects.select_for_update().get(pk=lift.entry_id)
    entry.state, entry.lifted_at, entry.lift_reason = EntryState.LIFTED, now, lift.reason
    entry.save(update_fields=["state", "lifted_at", "lift_reason"])
    lift.state, lift.decided_at = RequestState.APPROVED, now
    lift.save(update_fields=["state", "decided_at"])
    customer = Customer.objects.filter(pk=entry.customer_id, deleted_at__isnull=True, status="disqualified").first()
    if customer is not None and not BlacklistEntry.objects.filter(customer_id=customer.pk, state=EntryState.ACTIVE
                                                                  ).exists():
        customer_status_change(actor=actor, customer_id=customer.pk, to="active", reason=lift.reason[:500],
                               source="disqualification", detail={"blacklist_lift": lift.pk})
    audit_record(actor=actor, action="blacklist.lift", obj=entry, changes={"lift": lift.pk, "reason": lift.reason})


# ---------------------------------------------------------------- screening hits

def hits_record(*, actor, hits: list, source: str) -> int:
    """Write screening hits (inside the caller's transaction): ``hits`` is [(Hit, {customer_id, subject,
    object_type, object_id, owner_id, department_id})]. One insert and one audit batch."""
    if source not in HitSource.values:
        raise ValueError(f"unknown screening source {source!r}")
    rows = [ScreeningHit(entry_id=h.entry_id, matched_on=h.matched_on, source=source,
                         customer_id=info.get("customer_id"), subject=str(info.get("subject") or "")[:200],
                         object_type=info.get("object_type") or "", object_id=str(info.get("object_id") or ""),
                         owner_id=info.get("owner_id"), department_id=info.get("department_id"))
            for h, info in hits]
    created = ScreeningHit.objects.bulk_create(rows)
    if created and created[0].pk is not None:
        audit_record_many(actor=actor if actor is not None and getattr(actor, "pk", None) else None,
                          action="blacklist.flag", objects=created,
                          changes=[{"entry": r.entry_id, "matched_on": r.matched_on, "source": source,
                                    "customer": r.customer_id} for r in created])
    return len(created)


@transaction.atomic
def hit_review(*, actor, hit_id: int, state: str, note: str = "") -> ScreeningHit:
    """Decide a flagged registration: ``cleared`` (another company) or ``confirmed`` (the same one: the
    manager then asks for its disqualification)."""
    from kehu.qualification.blacklist import selectors

    _need(can_manage(actor))
    if state not in (HitState.CLEARED, HitState.CONFIRMED):
        raise Invalid(_("Choose cleared or confirmed."), fields={"state": [_("Not a valid choice.")]})
    hit = selectors.hit_get(actor=actor, hit_id=hit_id, for_update=True)
    if hit.state != HitState.OPEN:
        raise Conflict(_("This match has already been reviewed."), code="already_reviewed")
    hit.state, hit.reviewed_by, hit.reviewed_at = state, actor, timezone.now()
    hit.review_note = (note or "").strip()[:500]
    hit.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note"])
    audit_record(actor=actor, action="blacklist.hit_review", obj=hit,
                 changes={"state": state, "note": hit.review_note, "entry": hit.entry_id})
    return hit


def flag_public_form(*, name: str = "", phones: Iterable[str] = (), object_type: str, object_id, owner_id=None,
                     department_id=None) -> int:
    """Flag (never refuse) a public form that resembles a blacklisted customer; errors never reach the form."""
    from kehu.qualification.blacklist import screening

    try:
        with transaction.atomic():
            screen = screening.screen_new_customer(name=name, phones=phones, refuse=False)
            if screen.refuse is not None:
                screen.flags.insert(0, screen.refuse)
            return screening.flag(actor=None, screen=screen, source=HitSource.PUBLIC_FORM,
                                  subject=(name or "").strip()[:200] or str(object_id), object_type=object_type,
                                  object_id=str(object_id), owner_id=owner_id, department_id=department_id)
    except Exception:  # noqa: BLE001 — a complaint is always accepted; the screening is a bonus
        import logging

        logging.getLogger(__name__).exception("blacklist screening of a public form failed")
        return 0


def entry_exists_for(customer_id: int) -> bool:
    return BlacklistEntry.objects.filter(customer_id=customer_id, state=EntryState.ACTIVE).exists()

