"""Duplicates and merge (查重与合并): the candidate scan, "not a duplicate" decisions, merge and undo.

A merge moves every row that points at the loser to the survivor. The links are discovered from
``Customer._meta.related_objects`` (and the M2M through tables), so a model added later by any app
moves too without touching this module; the pks of what moved are stored on the CustomerMerge so an
undo moves exactly those rows back."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.access.scopes import scope_q
from kehu.audit.services import audit_record
from kehu.concurrency.versioning import bump_after_save
from kehu.customers import dedupe, search, search_index
from kehu.customers.models import (
    CandidateState,
    Contact,
    Customer,
    CustomerKind,
    CustomerMerge,
    DuplicateCandidate,
)
from kehu.customers.services import (
    CUSTOMER_FIELDS,
    _apply_name_keys,
    _check_uscc,
    _clean,
    _customer_state,
    _history,
    _require,
    _write_tokens,
)
from kehu.errors import Conflict, Invalid, NotFound

# Fields a merge chooses between, and the columns each one carries.
MERGE_FIELDS = (*CUSTOMER_FIELDS, "owner", "mobile", "id_number", "custom")
_COLUMNS = {"owner": ("owner_id", "department_id"), "mobile": ("mobile_enc", "mobile_hash", "mobile_masked", "mobile_last4"),
            "id_number": ("id_number_enc", "id_number_hash", "id_number_masked"),
            # A place keeps its GB/T 2260 code (the picked record's).
            "province": ("province", "province_code"), "city": ("city", "city_code"),
            "district": ("district", "district_code")}
# Relations a merge leaves where they are, and why: the candidate pair and the merge log describe
# the two records as they were (an undo needs them as they are).
NOT_MOVED = frozenset({
    ("customers.duplicatecandidate", "customer_a"), ("customers.duplicatecandidate", "customer_b"),
    ("customers.customermerge", "survivor"), ("customers.customermerge", "loser"),
    # Where a customer came from stays with the record that was imported.
    ("imports.importedrecord", "customer"),
})
# Derived from the name: the survivor's are rebuilt, the loser's dropped (and rebuilt by an undo). Other
# apps' tables derived from a customer's records (one row per customer) register a rebuilder instead of
# being moved: register_rebuilt(...), called with both customers' ids after a merge and after its undo.
REBUILT = {("customers.searchdocument", "customer")}
_REBUILDERS: dict[tuple[str, str], Callable[[int, int], None]] = {}


def register_rebuilt(label: str, field: str, fn: Callable[[int, int], None]) -> None:
    """``label.field`` is derived per customer: not moved by a merge, rebuilt by fn(survivor_id, loser_id)."""
    REBUILT.add((label, field))
    _REBUILDERS[(label, field)] = fn
_CHUNK = 500


def _threshold() -> float:
    return float(getattr(settings, "KEHU_DEDUPE_NAME_THRESHOLD", 90))


def _affixes() -> dedupe.Affixes:
    return dedupe.affixes(getattr(settings, "KEHU_DEDUPE_LEGAL_FORMS", dedupe.DEFAULT_LEGAL_FORMS),
                          getattr(settings, "KEHU_DEDUPE_REGIONS", dedupe.DEFAULT_REGIONS))


def undo_days() -> int:
    return int(getattr(settings, "KEHU_MERGE_UNDO_DAYS", 30))


# ---------------------------------------------------------------- detection

def _reason_score(reasons: list[dict]) -> int:
    best = 0
    for r in reasons:
        best = max(best, {"uscc": dedupe.SCORE_USCC, "id_number": dedupe.SCORE_ID_NUMBER,
                          "mobile": dedupe.SCORE_MOBILE}.get(r["rule"], int(r.get("score", 0))))
    return min(100, best)


def _add(found: dict, pairs, rule: str, with_score: bool = False) -> None:
    items = pairs.items() if isinstance(pairs, dict) else ((p, None) for p in pairs)
    for pair, value in items:
        reason = {"rule": rule}
        if with_score:
            reason["score"] = value
        found[pair].append(reason)


def find_duplicates(customer_ids: set[int] | None = None) -> dict[tuple[int, int], list[dict]]:
    """Candidate pairs among live customers (all of them, or those touching ``customer_ids``) with
    their evidence: same USCC, same ID number, same mobile (own or a contact's), similar name."""
    live = Customer.objects.filter(deleted_at__isnull=True, erased_at__isnull=True)
    found: dict[tuple[int, int], list[dict]] = defaultdict(list)
    if customer_ids is None:
        rows = list(live.values_list("id", "kind", "name", "uscc", "mobile_hash", "id_number_hash", "city")
                    .order_by("id").iterator(chunk_size=20000))
        contacts = Contact.objects.filter(customer__deleted_at__isnull=True, customer__erased_at__isnull=True,
                                          erased_at__isnull=True).exclude(mobile_hash="")
        mobiles = [(r[0], r[4]) for r in rows if r[4]]
        mobiles += list(contacts.values_list("customer_id", "mobile_hash").iterator(chunk_size=20000))
        _add(found, dedupe.exact_pairs((r[0], r[3]) for r in rows), "uscc")
        _add(found, dedupe.exact_pairs((r[0], r[5]) for r in rows), "id_number")
        _add(found, dedupe.exact_pairs(mobiles), "mobile")
        aff = _affixes()
        orgs = [r for r in rows if r[1] == CustomerKind.ORGANIZATION]
        cores = [(r[0], dedupe.name_core(r[2], aff)) for r in orgs]
        areas = {r[0]: r[6] for r in orgs}
        _add(found, dedupe.name_pairs(cores, _threshold(), areas=areas), "name", with_score=True)
        return found
    for customer in live.filter(pk__in=customer_ids):
        _find_for_one(customer, live, found)
    return found


def _find_for_one(c: Customer, live, found: dict) -> None:
    """The same rules for one customer, through the indexes (uscc, hashes, name tokens)."""
    def pair(other: int) -> tuple[int, int]:
        return (c.pk, other) if c.pk < other else (other, c.pk)

    if c.uscc:
        for other in live.filter(uscc=c.uscc).exclude(pk=c.pk).values_list("pk", flat=True)[:50]:
            found[pair(other)].append({"rule": "uscc"})
    if c.id_number_hash:
        for other in live.filter(id_number_hash=c.id_number_hash).exclude(pk=c.pk).values_list("pk", flat=True)[:50]:
            found[pair(other)].append({"rule": "id_number"})
    hashes = {c.mobile_hash} - {""}
    hashes |= set(Contact.objects.filter(customer=c).exclude(mobile_hash="").values_list("mobile_hash", flat=True))
    if hashes:
        others = set(live.filter(mobile_hash__in=hashes).exclude(pk=c.pk).values_list("pk", flat=True)[:50])
        others |= set(Contact.objects.filter(mobile_hash__in=hashes, customer__deleted_at__isnull=True)
                      .exclude(customer=c).values_list("customer_id", flat=True)[:50])
        for other in others:
            found[pair(other)].append({"rule": "mobile"})
    if c.kind != CustomerKind.ORGANIZATION:
        return
    aff = _affixes()
    core = dedupe.name_core(c.name, aff)
    if len(core) < 2:
        return
    # The customers sharing the first or the last bigram of the core (the blocking keys of a full scan).
    core_n = search.normalize(core)
    stop = search.stop_terms()
    grams = [g for g in dict.fromkeys(("n:" + core_n[:2], "n:" + core_n[-2:])) if g not in stop]
    if not grams:
        return
    ids = search_index.any_of(grams).exclude(pk=c.pk).values("id")[:5000]
    threshold = _threshold()
    for other, name in live.filter(pk__in=ids, kind=CustomerKind.ORGANIZATION).values_list("pk", "name"):
        score = dedupe.fuzz.ratio(core, dedupe.name_core(name, aff))
        if score >= threshold:
            found[pair(other)].append({"rule": "name", "score": round(score, 1)})


@transaction.atomic
def _store(found: dict[tuple[int, int], list[dict]], *, touching: set[int] | None) -> dict[str, int]:
    """Write the pairs found: new ones open, open ones refreshed, open ones no longer found removed;
    dismissed and merged pairs are left as decided (a dismissal is never re-proposed)."""
    now = timezone.now()
    existing = DuplicateCandidate.objects.all()
    if touching is not None:
        existing = existing.filter(Q(customer_a__in=touching) | Q(customer_b__in=touching))
    by_pair = {(c.customer_a_id, c.customer_b_id): c for c in
               existing.only("id", "customer_a_id", "customer_b_id", "state", "score", "reasons").iterator()}
    new, changed = [], []
    for (a, b), reasons in found.items():
        score = _reason_score(reasons)
        current = by_pair.get((a, b))
        if current is None:
            new.append(DuplicateCandidate(customer_a_id=a, customer_b_id=b, reasons=reasons, score=score,
                                          detected_at=now))
        elif current.state == CandidateState.OPEN and (current.reasons != reasons or current.score != score):
            current.reasons, current.score, current.detected_at = reasons, score, now
            changed.append(current)
    stale = [c.pk for pair, c in by_pair.items() if c.state == CandidateState.OPEN and pair not in found]
    # ignore_conflicts: an on-demand check may have written the same pair a moment ago.
    DuplicateCandidate.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    DuplicateCandidate.objects.bulk_update(changed, ["reasons", "score", "detected_at"], batch_size=2000)
    for i in range(0, len(stale), _CHUNK):
        DuplicateCandidate.objects.filter(pk__in=stale[i:i + _CHUNK]).delete()
    return {"found": len(found), "new": len(new), "updated": len(changed), "removed": len(stale)}


def duplicate_scan(*, actor=None) -> dict[str, int]:
    """Scan every live customer for duplicates (the background job); one audit entry with the counts."""
    if actor is not None:
        _require(actor, Perm.CUSTOMER_MERGE)
    found = find_duplicates()
    with transaction.atomic():
        counts = _store(found, touching=None)
        audit_record(actor=actor, action="duplicate.scan", object_type="customers.duplicatecandidate",
                     changes=counts)
    return counts


def duplicate_check(*, actor, customer_id: int) -> list[DuplicateCandidate]:
    """Look for duplicates of one customer now; returns its open candidate pairs."""
    from kehu.customers import selectors

    _require(actor, Perm.CUSTOMER_MERGE)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    with transaction.atomic():
        counts = _store(find_duplicates({customer.pk}), touching={customer.pk})
        audit_record(actor=actor, action="duplicate.check", obj=customer, changes=counts)
    return list(selectors.duplicate_base(actor=actor).filter(Q(customer_a=customer) | Q(customer_b=customer),
                                                              state=CandidateState.OPEN).order_by("-score", "id"))


@transaction.atomic
def duplicate_dismiss(*, actor, candidate_id: int) -> DuplicateCandidate:
    """Record that a pair is not a duplicate (不是重复): no later scan proposes it again."""
    from kehu.customers import selectors

    candidate = selectors.duplicate_get(actor=actor, candidate_id=candidate_id, for_update=True)
    if candidate.state != CandidateState.OPEN:
        raise Conflict(_("This pair has already been decided."), code="candidate_decided")
    candidate.state = CandidateState.DISMISSED
    candidate.decided_at = timezone.now()
    candidate.decided_by = actor
    candidate.save(update_fields=["state", "decided_at", "decided_by"])
    audit_record(actor=actor, action="duplicate.dismiss", obj=candidate,
                 changes={"customer_a": candidate.customer_a_id, "customer_b": candidate.customer_b_id,
                          "reasons": candidate.reasons})
    return candidate


# ---------------------------------------------------------------- the links of a customer

def merge_links() -> list[tuple[type[models.Model], str]]:
    """Every (model, FK field) pointing at a customer that a merge moves: reverse FKs and one-to-ones
    of any app, and the through tables of many-to-many relations in both directions."""
    links: dict[tuple[str, str], tuple[type[models.Model], str]] = {}

    def add(model, field_name):
        key = (model._meta.label_lower, field_name)
        if key not in NOT_MOVED and key not in REBUILT:
            links.setdefault(key, (model, field_name))

    for rel in Customer._meta.related_objects:
        if rel.many_to_many:
            for f in rel.through._meta.concrete_fields:
                if f.is_relation and f.related_model is Customer:
                    add(rel.through, f.name)
        else:
            add(rel.related_model, rel.field.name)
    for f in Customer._meta.many_to_many:
        add(f.remote_field.through, f.m2m_field_name())
    return list(links.values())


def _move(model, field: str, src: int, dst: int) -> tuple[list, list]:
    """Point ``model.field`` from src to dst; rows that would break a unique rule (a tag both have)
    stay on the tombstone. Returns (moved pks, kept pks)."""
    manager = model._base_manager
    pks = list(manager.filter(**{field: src}).values_list("pk", flat=True))
    if not pks:
        return [], []
    try:
        with transaction.atomic():
            for i in range(0, len(pks), _CHUNK):
                manager.filter(pk__in=pks[i:i + _CHUNK]).update(**{field: dst})
        return pks, []
    except IntegrityError:
        pass
    moved, kept = [], []
    for pk in pks:
        try:
            with transaction.atomic():
                manager.filter(pk=pk).update(**{field: dst})
            moved.append(pk)
        except IntegrityError:
            kept.append(pk)
    return moved, kept


def _json_pk(pk):
    return pk if isinstance(pk, int) else str(pk)


# ---------------------------------------------------------------- merge and undo

def _columns(c: Customer) -> dict:
    out = {}
    for f in MERGE_FIELDS:
        for col in _COLUMNS.get(f, (f,)):
            out[col] = getattr(c, col)
    return out


def _blank(c: Customer, field: str) -> bool:
    cols = _COLUMNS.get(field, (field,))
    return all(getattr(c, col) in ("", None, {}) for col in cols)


def _lock_pair(actor, survivor_id: int, loser_id: int) -> tuple[Customer, Customer]:
    rows = {c.pk: c for c in Customer.objects.filter(scope_q(actor), pk__in=[survivor_id, loser_id])
            .select_for_update(of=("self",)).order_by("pk")}
    survivor, loser = rows.get(survivor_id), rows.get(loser_id)
    for c in (survivor, loser):
        if c is None or (c.deleted_at is not None and c.merged_into_id is None):
            raise NotFound(_("Customer not found."))
        if c.merged_into_id is not None:
            raise Conflict(_("Customer #%(id)s was already merged into #%(into)s.")
                           % {"id": c.pk, "into": c.merged_into_id}, code="already_merged")
        if c.erased_at is not None:
            raise Conflict(_("This customer's personal data was erased; the record is closed."), code="erased")
    return survivor, loser


def _choose(survivor: Customer, loser: Customer, choices: dict) -> dict[str, str]:
    unknown = sorted(set(choices) - set(MERGE_FIELDS))
    bad = sorted(k for k, v in choices.items() if v not in ("survivor", "loser"))
    if unknown or bad:
        raise Invalid(_("Choose “survivor” or “loser” for known fields only."),
                      fields={k: [_("Unknown field.")] for k in unknown}
                      | {k: [_("Choose “survivor” or “loser”.")] for k in bad if k not in unknown})
    picked = {}
    for f in MERGE_FIELDS:
        # Unless told otherwise the survivor keeps its value, and fills its blanks from the loser.
        picked[f] = choices.get(f) or ("loser" if _blank(survivor, f) and not _blank(loser, f) else "survivor")
    return picked


@transaction.atomic
def customer_merge(*, actor, survivor_id: int, loser_id: int, choices: dict | None = None) -> CustomerMerge:
    """Merge ``loser`` into ``survivor``: chosen values copied field by field, every linked record
    moved, the loser kept as a tombstone; one audit entry with both records' prior state."""
    _require(actor, Perm.CUSTOMER_MERGE)
    if survivor_id == loser_id:
        raise Invalid(_("A customer cannot be merged into itself."), fields={"loser": [_("Same customer.")]})
    survivor, loser = _lock_pair(actor, survivor_id, loser_id)
    choices = dict(choices or {})
    picked = _choose(survivor, loser, choices)
    survivor_before, loser_before = _columns(survivor), _columns(loser)
    state_before, loser_state = _customer_state(survivor), _customer_state(loser)
    if "custom" not in choices:  # both records' custom values, the survivor's winning a clash
        survivor.custom = {**loser.custom, **survivor.custom}
    for f, side in picked.items():
        if side == "loser":
            for col in _COLUMNS.get(f, (f,)):
                setattr(survivor, col, getattr(loser, col))
    if survivor.kind == CustomerKind.PERSON:
        survivor.uscc = ""
    else:
        for col in (*_COLUMNS["mobile"], *_COLUMNS["id_number"]):
            setattr(survivor, col, "")
    now = timezone.now()
    # The tombstone first: it leaves the live set, so the survivor may take its USCC.
    loser.deleted_at, loser.merged_into, loser.merged_at = now, survivor, now
    loser.save(update_fields=["deleted_at", "merged_into", "merged_at", "updated_at"])
    _check_uscc(survivor)
    _clean(survivor, exclude=["owner", "department", "created_by", "merged_into"])
    try:
        with transaction.atomic():
            survivor.save()
    except IntegrityError as exc:
        raise Conflict(_("The merged record could not be saved: %(e)s") % {"e": exc}) from exc
    bump_after_save(survivor, fields=["merge"])
    moved: dict[str, dict[str, list]] = {}
    kept: dict[str, dict[str, list]] = {}
    for model, field in merge_links():
        done, stayed = _move(model, field, loser.pk, survivor.pk)
        if done:
            moved.setdefault(model._meta.label_lower, {})[field] = [_json_pk(pk) for pk in done]
        if stayed:
            kept.setdefault(model._meta.label_lower, {})[field] = [_json_pk(pk) for pk in stayed]
    search_index.drop(loser.pk)
    _write_tokens(survivor.pk, _apply_name_keys(survivor), replace=True)
    survivor.save(update_fields=["name_normalized", "name_pinyin", "name_initials", "name_core", "name_sort"])
    for rebuild in _REBUILDERS.values():
        rebuild(survivor.pk, loser.pk)
    a, b = sorted((survivor.pk, loser.pk))
    DuplicateCandidate.objects.filter(customer_a_id=a, customer_b_id=b).update(
        state=CandidateState.MERGED, decided_at=now, decided_by=actor)
    survivor_after = _columns(survivor)
    record = CustomerMerge(survivor=survivor, loser=loser, actor=actor, at=now,
                           moved={"moved": moved, "kept": kept, "choices": picked},
                           survivor_before=survivor_before, survivor_after=survivor_after,
                           loser_before={**loser_before, "deleted_at": None, "merged_into": None, "merged_at": None})
    record.full_clean(exclude=["survivor", "loser", "actor", "undone_by"])
    record.save()
    state_after = _customer_state(survivor)
    changes = {k: [v, state_after[k]] for k, v in state_before.items() if v != state_after[k]}
    counts = {label: sum(len(p) for p in fields.values()) for label, fields in moved.items()}
    # The timeline shows what changed; which record came in is on the 360° page's "merged from" card.
    _history(actor=actor, customer_id=survivor.pk, obj=survivor, action="merge", changes=changes)
    audit_record(actor=actor, action="customer.merge", obj=survivor, changes={
        "merge": record.pk, "loser": loser.pk, "survivor_before": state_before, "loser_before": loser_state,
        "fields": changes, "moved": counts,
        "kept": {label: sum(len(p) for p in fields.values()) for label, fields in kept.items()},
    })
    return record


@transaction.atomic
def customer_merge_undo(*, actor, merge_id: int) -> CustomerMerge:
    """Undo a merge within KEHU_MERGE_UNDO_DAYS: the moved rows go back, the survivor's replaced
    values return (unless edited since), the loser lives again; one audit entry."""
    from kehu.customers import selectors

    _require(actor, Perm.CUSTOMER_MERGE)
    record = selectors.merge_get(actor=actor, merge_id=merge_id, for_update=True)
    if record.undone_at is not None:
        raise Conflict(_("This merge has already been undone."), code="merge_undone")
    if timezone.now() - record.at > dt.timedelta(days=undo_days()):
        raise Conflict(_("A merge can be undone within %(d)d days only.") % {"d": undo_days()},
                       code="merge_undo_expired")
    survivor = Customer.objects.select_for_update(of=("self",)).get(pk=record.survivor_id)
    loser = Customer.objects.select_for_update(of=("self",)).get(pk=record.loser_id)
    if survivor.merged_into_id is not None or survivor.deleted_at is not None:
        raise Conflict(_("The surviving record was merged or deleted since; undo that first."),
                       code="survivor_gone")
    if loser.merged_into_id != survivor.pk:
        raise Conflict(_("The merged record no longer points to the survivor."), code="loser_moved")
    for label, fields in record.moved.get("moved", {}).items():
        model = apps.get_model(label)
        for field, pks in fields.items():
            for i in range(0, len(pks), _CHUNK):
                model._base_manager.filter(pk__in=pks[i:i + _CHUNK]).update(**{field: loser.pk})
    state_before = _customer_state(survivor)
    skipped = []
    for col, old in record.survivor_before.items():
        new = record.survivor_after.get(col)
        if old == new:
            continue
        if getattr(survivor, col) == new:
            setattr(survivor, col, old)
        else:
            skipped.append(col)  # edited after the merge: the later edit stands
    try:
        with transaction.atomic():
            _write_tokens(survivor.pk, _apply_name_keys(survivor), replace=True)
            survivor.save()
            bump_after_save(survivor, fields=["merge_undo"])
            loser.deleted_at = loser.merged_into = loser.merged_at = None
            loser.save(update_fields=["deleted_at", "merged_into", "merged_at", "updated_at"])
            for rebuild in _REBUILDERS.values():
                rebuild(survivor.pk, loser.pk)
    except IntegrityError as exc:
        raise Conflict(_("The merge cannot be undone: the merged record's USCC is now used by another customer."),
                       code="duplicate_uscc") from exc
    _write_tokens(loser.pk, _apply_name_keys(loser), replace=True)
    loser.save(update_fields=["name_normalized", "name_pinyin", "name_initials", "name_core", "name_sort"])
    a, b = sorted((survivor.pk, loser.pk))
    DuplicateCandidate.objects.filter(customer_a_id=a, customer_b_id=b).update(
        state=CandidateState.OPEN, decided_at=None, decided_by=None)
    record.undone_at, record.undone_by = timezone.now(), actor
    record.save(update_fields=["undone_at", "undone_by"])
    state_after = _customer_state(survivor)
    changes = {k: [v, state_after[k]] for k, v in state_before.items() if v != state_after[k]}
    _history(actor=actor, customer_id=survivor.pk, obj=survivor, action="merge_undo", changes=changes)
    _history(actor=actor, customer_id=loser.pk, obj=loser, action="merge_undo", changes={})
    audit_record(actor=actor, action="customer.merge_undo", obj=survivor, changes={
        "merge": record.pk, "loser": loser.pk, "fields": changes, "kept_later_edits": skipped,
        "moved_back": {label: sum(len(p) for p in f.values()) for label, f in record.moved.get("moved", {}).items()},
    })
    return record
