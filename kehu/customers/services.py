"""Every write to the customer archive. Each function takes the acting user first, validates, runs in
one transaction, records field-level history and one audit entry per write."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu import bulk_fk
from kehu.access import protection
from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.access.scopes import in_scope
from kehu.audit.services import audit_record, audit_record_many
from kehu.concurrency.versioning import Expected, bump_after_save, save_versioned, version_check
from kehu.customers import dedupe, regions, search, search_index, selectors
from kehu.customers.models import (
    SENSITIVE_FIELDS,
    ChangeRecord,
    Consent,
    ConsentStatus,
    Contact,
    Customer,
    CustomerKind,
    CustomFieldDefinition,
    FieldType,
    LegalBasis,
    SearchDocument,
    Status,
    Tag,
    TagCategory,
)
from kehu.customers.validation import InvalidValue, normalize_id_number, normalize_mobile, normalize_uscc
from kehu.errors import Conflict, Forbidden, Invalid, from_django_validation
from kehu.qualification.admission import initial_status

CUSTOMER_FIELDS = ("kind", "name", "uscc", "industry", "scale", "province", "city", "district", "address",
                   "source", "stage", "status", "needs", "preferences", "pain_points")
CONTACT_FIELDS = ("name", "title", "role", "email", "wechat", "preferences")
CONSENT_FIELDS = ("purpose", "scope", "channel", "evidence")
# A custom number keeps at most 15 integer digits: what a double (and a browser) holds exactly.
CUSTOM_NUMBER_MAX_DIGITS = 15
_CONTACT_DEFAULTS = {f: Contact._meta.get_field(f).get_default() for f in CONTACT_FIELDS}


# ---------------------------------------------------------------- helpers shared by the services

def _require(actor, perm: str) -> None:
    if not actor.has_kehu_perm(perm):
        raise Forbidden(_("You are not allowed to do this."))


def _clean(obj, exclude: Iterable[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise from_django_validation(exc) from exc


def _history(*, actor, customer_id: int, obj, action: str, changes: dict) -> None:
    ChangeRecord.objects.create(
        customer_id=customer_id, at=timezone.now(), actor=actor if actor and actor.pk else None,
        actor_name=(actor.get_username() if actor and actor.pk else "system"),
        object_type=obj._meta.model_name, object_id=obj.pk, action=action, changes=changes,
    )


def _jsonable(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return str(value)
    return value


def _diff(before: dict, after: dict) -> dict:
    return {k: [_jsonable(before.get(k)), _jsonable(after[k])] for k in after if before.get(k) != after[k]}


def _set_mobile(obj, raw: str | None, field: str = "mobile") -> None:
    if not raw:
        setattr(obj, f"{field}_enc", "")
        setattr(obj, f"{field}_hash", "")
        setattr(obj, f"{field}_masked", "")
        setattr(obj, f"{field}_last4", "")
        return
    try:
        value = normalize_mobile(raw)
    except InvalidValue as exc:
        raise Invalid(_("“%(v)s” is not a valid mobile number.") % {"v": raw},
                      fields={field: [_("Enter a valid mobile number, e.g. 13812345678.")]}) from exc
    setattr(obj, f"{field}_enc", protection.encrypt(value))
    setattr(obj, f"{field}_hash", protection.lookup_hash(value))
    masked = protection.mask_mobile(value)
    setattr(obj, f"{field}_masked", masked)
    # 尾号 search finds only what the mask shows anyway (a short foreign number shows fewer digits).
    setattr(obj, f"{field}_last4", value[-4:] if masked.endswith(value[-4:]) else "")


def _set_id_number(obj, raw: str | None) -> None:
    if not raw:
        obj.id_number_enc = obj.id_number_hash = obj.id_number_masked = ""
        return
    try:
        value = normalize_id_number(raw)
    except InvalidValue as exc:
        raise Invalid(_("The ID number is not valid."),
                      fields={"id_number": [_("Enter a valid 18-character resident ID number.")]}) from exc
    obj.id_number_enc = protection.encrypt(value)
    obj.id_number_hash = protection.lookup_hash(value)
    obj.id_number_masked = protection.mask_id_number(value)


REGION_CODES = ("province_code", "city_code", "district_code")


def _apply_region(customer: Customer, data: dict) -> None:
    """省/市/区: codes given are checked against each other (GB/T 2260) and name the places; names
    given alone (imports, older API clients) get their codes where they match, else stay free text."""
    try:
        if any(data.get(k) is not None for k in REGION_CODES):
            found = regions.validate(*(data.get(k) or "" for k in REGION_CODES))
        elif any(data.get(f) is not None for f in ("province", "city", "district")):
            found = regions.match(customer.province, customer.city, customer.district)
        else:
            return
    except regions.RegionError as exc:
        raise Invalid(_("Choose the province, city and district from the lists."),
                      fields={exc.field: [_("Not a division inside the one above it.")]}) from exc
    for k, v in found.items():
        setattr(customer, k, v)


def _apply_name_keys(customer: Customer) -> frozenset[str]:
    keys = search.name_keys(customer.name)
    customer.name_normalized = keys.normalized[:200]
    customer.name_pinyin = keys.pinyin[:800]
    customer.name_initials = keys.initials[:200]
    customer.name_core = dedupe.name_core(customer.name)[:200]
    customer.name_sort = keys.sort
    return keys.tokens


def _write_tokens(customer_id: int, tokens: Iterable[str], *, replace: bool) -> None:
    search_index.write(customer_id, tokens, replace=replace)


def _check_uscc(customer: Customer, actor=None) -> None:
    if customer.kind == CustomerKind.ORGANIZATION and customer.uscc:
        try:
            customer.uscc = normalize_uscc(customer.uscc)
        except InvalidValue as exc:
            raise Invalid(_("The unified social credit code “%(v)s” is not valid (GB 32100-2015 check failed).")
                          % {"v": customer.uscc},
                          fields={"uscc": [_("Enter a valid 18-character unified social credit code.")]}) from exc
    elif customer.kind == CustomerKind.PERSON:
        customer.uscc = ""
    if customer.pk is None:  # a new registration: the blacklist first (refuses its USCC / ID number)
        customer.blacklist_screen = _blacklist_screen(customer)
    clash = (Customer.objects.filter(uscc=customer.uscc, deleted_at__isnull=True)
             .exclude(pk=customer.pk).select_related("department").first()) if customer.uscc else None
    if clash is not None:
        _raise_uscc_conflict(clash)
    if customer.uscc:
        _refuse_reserved_uscc(customer, actor)


def _blacklist_screen(customer: Customer):
    """Screen a new customer against the blacklist (kept after the blacklisted record was deleted): a USCC or
    ID number match is refused (409 ``blacklisted``); the name / phone matches come back to be flagged."""
    from kehu.qualification.blacklist import screening

    return screening.screen_new_customer(name=customer.name, uscc=customer.uscc, phone_hashes=[customer.mobile_hash],
                                         id_number_hash=customer.id_number_hash, kind=customer.kind)


def _identifying_keys(customer: Customer) -> tuple[str, str, str, str]:
    return (customer.uscc or "", customer.id_number_hash or "", customer.name or "", customer.mobile_hash or "")


def _blacklist_screen_changed(customer: Customer, keys_before: tuple[str, str, str, str]):
    """Screen the identifying keys an edit changes, so a record typed without its USCC cannot take a
    blacklisted one afterwards: a USCC / ID number match is refused, a new name / phone match flagged. The
    disqualified customer's own entry is not a match for itself (it stays on record as it is)."""
    from kehu.qualification.blacklist import screening

    uscc, id_hash, name, mobile_hash = keys_before
    if _identifying_keys(customer) == keys_before or customer.status == Status.DISQUALIFIED:
        return None
    return screening.screen_new_customer(
        name=customer.name if customer.name != name else "",
        uscc=customer.uscc if customer.uscc != uscc else "",
        phone_hashes=[customer.mobile_hash] if customer.mobile_hash != mobile_hash else [],
        id_number_hash=customer.id_number_hash if customer.id_number_hash != id_hash else "",
        kind=customer.kind)


def _blacklist_flag(actor, customer: Customer, *, source: str = "create") -> list[dict]:
    """Record the blacklist name / phone matches of a just-saved customer for review; its warnings."""
    from kehu.qualification.blacklist import screening

    screen = getattr(customer, "blacklist_screen", None)
    if screen is None or not screen.flags:
        return []
    screening.flag(actor=actor, screen=screen, source=source, subject=customer.name, customer=customer)
    return screen.warnings()


class UsccOfDeletedCustomer(Conflict):
    """The USCC belongs to a soft-deleted customer, which keeps it reserved: restore that one instead of
    registering a second archive of the same company. ``restorable`` is its id when the actor may restore it."""

    code = "uscc_of_deleted_customer"

    def __init__(self, message: str, *, restorable: Customer | None, fields=None):
        super().__init__(message, fields=fields)
        self.restorable = restorable


def _refuse_reserved_uscc(customer: Customer, actor) -> None:
    deleted = (Customer.objects.filter(uscc=customer.uscc, deleted_at__isnull=False, merged_into__isnull=True,
                                       erased_at__isnull=True).exclude(pk=customer.pk)
               .select_related("department").order_by("-deleted_at").first())
    if deleted is None:
        return
    mine = actor is not None and in_scope(actor, owner_id=deleted.owner_id, department_id=deleted.department_id)
    if mine:
        message = _("This unified social credit code belongs to the deleted customer “%(n)s”: restore it instead of "
                    "registering the company again.") % {"n": deleted.name}
    else:
        message = _("This unified social credit code belongs to a deleted customer (department: %(d)s), which keeps "
                    "it reserved: ask that department to restore it.") % {
            "d": deleted.department.name if deleted.department_id else _("no department")}
    raise UsccOfDeletedCustomer(message, restorable=deleted if mine else None,
                                fields={"uscc": [_("Reserved by a deleted customer.")]})


class PossibleDuplicate(Conflict):
    """Customers with the same name core exist: the caller confirms (``confirm_duplicate``) or opens one.
    ``candidates`` are those in the actor's scope; ``elsewhere`` counts the others (never named)."""

    code = "possible_duplicate"

    def __init__(self, message: str, *, candidates: list[Customer], elsewhere: int):
        super().__init__(message, fields={"name": [_("Possible duplicate of an existing customer.")]})
        self.candidates, self.elsewhere = candidates, elsewhere


def _refuse_possible_duplicate(actor, customer: Customer, data: dict) -> None:
    if customer.kind != CustomerKind.ORGANIZATION or data.get("confirm_duplicate"):
        return
    found, elsewhere = selectors.customer_name_duplicates(actor=actor, name=customer.name, uscc=customer.uscc)
    if found or elsewhere:
        raise PossibleDuplicate(
            _("%(n)d customer(s) with the same name (legal form and region aside) already exist: open the existing "
              "one, or confirm that this is a different company.") % {"n": len(found) + elsewhere},
            candidates=found, elsewhere=elsewhere)


def _refuse_second_person(customer: Customer) -> None:
    """One person, one record: a second registration of the same ID number is refused (naming nobody)."""
    if customer.id_number_hash and Customer.objects.filter(
            id_number_hash=customer.id_number_hash, deleted_at__isnull=True).exclude(pk=customer.pk).exists():
        raise Conflict(_("A person with this ID number is already registered."),
                       fields={"id_number": [_("Already registered.")]}, code="duplicate_id_number")


def _mobile_warnings(mobile_hash: str, *, customer_id: int | None = None, contact_id: int | None = None) -> list[dict]:
    """A warning (not a refusal) when another person already has this mobile: a family phone is possible."""
    if not mobile_hash:
        return []
    customers = Customer.objects.filter(mobile_hash=mobile_hash, deleted_at__isnull=True)
    contacts = Contact.objects.filter(mobile_hash=mobile_hash, customer__deleted_at__isnull=True, erased_at__isnull=True)
    if customer_id is not None:
        customers = customers.exclude(pk=customer_id)
    if contact_id is not None:
        contacts = contacts.exclude(pk=contact_id)
    if customers.exists() or contacts.exists():
        return [{"code": "same_mobile", "field": "mobile",
                 "message": _("Another person in the archive has the same mobile number: check that this is not "
                              "the same person registered twice.")}]
    return []


def _raise_uscc_conflict(clash: Customer):
    # Say it is taken and by which department, nothing else the caller might not be allowed to see.
    dept = clash.department.name if clash.department_id else _("no department")
    raise Conflict(_("This unified social credit code is already registered (owner's department: %(d)s).")
                   % {"d": dept}, fields={"uscc": [_("Already registered.")]}, code="duplicate_uscc")


def _validate_custom(values: dict | None, *, existing: dict | None = None) -> dict:
    """Type-check custom field values against the declared definitions."""
    merged = dict(existing or {})
    values = values or {}
    if not isinstance(values, dict):
        raise Invalid(_("Custom fields must be an object."), fields={"custom": [_("Must be an object.")]})
    definitions = {d.key: d for d in CustomFieldDefinition.objects.all()}
    errors: dict[str, list[str]] = {}
    for key, value in values.items():
        d = definitions.get(key)
        if d is None:
            errors[f"custom.{key}"] = [_("No such custom field.")]
            continue
        if value in (None, ""):
            merged.pop(key, None)
            continue
        try:
            merged[key] = _coerce_custom(d, value)
        except (TypeError, ValueError, InvalidOperation):
            errors[f"custom.{key}"] = [_("Expected a value of type “%(t)s”.") % {"t": d.get_field_type_display()}]
    for key, d in definitions.items():
        if d.required and merged.get(key) in (None, ""):
            errors.setdefault(f"custom.{key}", [_("This field is required.")])
    if errors:
        raise Invalid(_("Some custom fields are not valid."), fields=errors)
    return merged


def _coerce_custom(d: CustomFieldDefinition, value):
    if d.field_type == FieldType.TEXT:
        if not isinstance(value, str) or len(value) > 1000:
            raise ValueError
        return value
    if d.field_type == FieldType.NUMBER:
        if isinstance(value, bool):
            raise ValueError
        number = Decimal(str(value))
        # Bounded before int(): "1e999999999" would otherwise expand into a billion digits.
        if not number.is_finite() or (number and number.adjusted() >= CUSTOM_NUMBER_MAX_DIGITS):
            raise ValueError
        return float(number) if number != number.to_integral_value() else int(number)
    if d.field_type == FieldType.DATE:
        return dt.date.fromisoformat(str(value)).isoformat()
    if d.field_type == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError
        return value
    if d.field_type == FieldType.CHOICE:
        if value not in d.choices:
            raise ValueError
        return value
    raise ValueError


def _resolve_owner(actor, owner_id: int | None, current: User | None = None) -> User:
    if owner_id is None:
        return current or actor
    if current is not None and owner_id == current.pk:
        return current
    owner = selectors.assignable_owner_get(actor=actor, owner_id=owner_id)
    if owner is None:
        raise Invalid(_("You cannot make this user the owner."), fields={"owner": [_("Not assignable by you.")]})
    return owner


def _resolve_tags(tag_ids: list[int] | None) -> list[Tag] | None:
    if tag_ids is None:
        return None
    tags = list(Tag.objects.filter(pk__in=set(tag_ids)))
    if len(tags) != len(set(tag_ids)):
        raise Invalid(_("Unknown tag."), fields={"tags": [_("Unknown tag.")]})
    return tags


def _customer_state(c: Customer) -> dict:
    state = {f: getattr(c, f) for f in CUSTOMER_FIELDS}
    state.update(owner=c.owner_id, department=c.department_id, custom=c.custom,
                 mobile=c.mobile_masked, id_number=c.id_number_masked)
    return state


def _writable_customer(actor, customer_id: int) -> Customer:
    _require(actor, Perm.CUSTOMER_WRITE)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id, for_update=True)
    if customer.erased_at is not None:
        raise Conflict(_("This customer's personal data was erased; the record is closed."), code="erased")
    return customer


# ---------------------------------------------------------------- lawful basis (PIPL 13, 29; 000 1.1)

# The personal fields of a person (a person customer or a contact) stored only with a recorded basis.
CUSTOMER_PERSONAL_FIELDS = ("mobile", "id_number")
CONTACT_PERSONAL_FIELDS = ("mobile", "birthday", "traits")
SENSITIVE_PERSONAL_FIELDS = ("id_number",)


class _Basis:
    """A legal basis given with a write: which one, for what purpose, through which channel."""

    __slots__ = ("basis", "purpose", "channel", "evidence", "sensitive")

    def __init__(self, basis: str, purpose: str, channel: str, evidence: str, sensitive: bool = False):
        self.basis, self.purpose, self.channel, self.evidence, self.sensitive = basis, purpose, channel, evidence, sensitive


def _parse_basis(raw, *, sensitive: bool = False, default_channel: str = "") -> _Basis | None:
    """A basis from the ``basis`` (or ``id_number_consent``) value of a write, or None if none was given."""
    if raw in (None, "", {}):
        return None
    if not isinstance(raw, dict):
        raw = {"basis": raw}
    key = "id_number_consent" if sensitive else "basis"
    basis = LegalBasis.CONSENT if sensitive else (raw.get("basis") or "")
    purpose = (raw.get("purpose") or "").strip()
    errors = {}
    if basis not in LegalBasis.values:
        errors[key] = [_("Choose the legal basis: consent, performance of a contract or a legal duty.")]
    if not purpose:
        errors[f"{key}.purpose"] = [_("Say for what purpose the personal information is collected.")]
    elif len(purpose) > 200:
        errors[f"{key}.purpose"] = [_("At most 200 characters.")]
    if errors:
        raise Invalid(_("The legal basis is incomplete."), fields=errors, code="lawful_basis_invalid")
    channel = ((raw.get("channel") or "").strip() or default_channel or str(LegalBasis(basis).label))[:50]
    return _Basis(basis, purpose, channel, (raw.get("evidence") or "").strip()[:300], sensitive)


def _basis_on_record(customer_id: int | None, contact_id: int | None) -> tuple[bool, bool]:
    """(any live basis, a live separate consent for sensitive information) of one person."""
    if customer_id is None:
        return False, False
    live = Consent.objects.filter(customer_id=customer_id, contact_id=contact_id, status=ConsentStatus.GRANTED)
    flags = set(live.values_list("sensitive", flat=True).distinct())
    return bool(flags), True in flags


def _lawful_basis_required(*, newly_filled: list[str], data: dict, on_record: tuple[bool, bool],
                           default_channel: str = "") -> list[_Basis]:
    """The bases to record with a write that fills personal fields for the first time: refused (422) when
    no basis is on record and none is given; an ID number also needs its own, separate consent."""
    if not newly_filled:
        return []
    has_basis, has_sensitive = on_record
    general = _parse_basis(data.get("basis"), default_channel=default_channel)
    sensitive = (_parse_basis(data.get("id_number_consent"), sensitive=True, default_channel=default_channel)
                 if any(f in SENSITIVE_PERSONAL_FIELDS for f in newly_filled) else None)
    errors: dict[str, list[str]] = {}
    if not has_basis and general is None and sensitive is None:
        for f in newly_filled:
            errors[f] = [_("Record the legal basis and purpose before storing this personal information.")]
        errors["basis"] = [_("Required when personal information is first recorded.")]
    if any(f in SENSITIVE_PERSONAL_FIELDS for f in newly_filled) and not has_sensitive and sensitive is None:
        errors["id_number"] = [_("The ID number is sensitive personal information: record the person's separate, "
                                 "explicit consent to it.")]
        errors["id_number_consent"] = [_("Required to record an ID number.")]
    if errors:
        raise Invalid(_("Personal information is stored only with a recorded legal basis and purpose (PIPL 13): "
                        "say whether the person consented, it is needed for a contract with them, or the law "
                        "requires it, and for what purpose. An ID number also needs the person's separate consent."),
                      fields=errors, code="lawful_basis_required")
    return [b for b in (general, sensitive) if b is not None]


def _record_bases(actor, customer: Customer, contact: Contact | None, bases: list[_Basis]) -> None:
    """Write the bases given with a write as consent records (same transaction; history and audit)."""
    for b in bases:
        consent = Consent.objects.create(customer=customer, contact=contact, recorded_by=actor, granted_at=timezone.now(),
                                         basis=b.basis, sensitive=b.sensitive, purpose=b.purpose, channel=b.channel,
                                         evidence=b.evidence)
        changes = {"basis": [None, b.basis], "purpose": [None, b.purpose], "channel": [None, b.channel],
                   "sensitive": [None, b.sensitive], "contact": [None, contact.name if contact else None]}
        _history(actor=actor, customer_id=customer.pk, obj=consent, action="create", changes=changes)
        audit_record(actor=actor, action="consent.create", obj=consent, changes=changes)


def _filled(obj, fields: Iterable[str]) -> set[str]:
    """Which personal fields of a customer or contact hold a value."""
    out = set()
    for f in fields:
        value = getattr(obj, f"{f}_enc") if f in ("mobile", "id_number") else getattr(obj, f)
        if value:
            out.add(f)
    return out


# ---------------------------------------------------------------- customers

def customer_create(*, actor, data: dict) -> Customer:
    """Register a customer. The owner defaults to the actor; the department follows the owner.
    Validation, pinyin keys and encryption happen before the transaction opens, so the database's
    write lock is held only for the inserts (the USCC constraint still decides a race)."""
    _require(actor, Perm.CUSTOMER_WRITE)
    owner = _resolve_owner(actor, data.get("owner"))
    customer = Customer(**{f: data[f] for f in CUSTOMER_FIELDS if data.get(f) is not None})
    customer.name = (customer.name or "").strip()
    # Not chosen by the writer: a company starts pending account opening (kehu.qualification); later moves go
    # through kehu.qualification.status.customer_status_change only.
    customer.status = initial_status(customer.kind)
    customer.owner = owner
    customer.department_id = owner.department_id
    customer.created_by = actor
    _apply_region(customer, data)
    _set_mobile(customer, data.get("mobile") if customer.kind == CustomerKind.PERSON else None)
    _set_id_number(customer, data.get("id_number") if customer.kind == CustomerKind.PERSON else None)
    customer.custom = _validate_custom(data.get("custom"))
    tags = _resolve_tags(data.get("tags"))
    _check_uscc(customer, actor)  # first: it compacts "9133 0106…" to the 18 characters the model allows
    _clean(customer, exclude=["owner", "department", "created_by"])
    bases = _lawful_basis_required(newly_filled=sorted(_filled(customer, CUSTOMER_PERSONAL_FIELDS)), data=data,
                                   on_record=(False, False))
    _refuse_second_person(customer)
    _refuse_possible_duplicate(actor, customer, data)
    tokens = _apply_name_keys(customer)
    changes = _diff({}, _customer_state(customer))
    if tags:
        changes["tags"] = [[], sorted(str(t) for t in tags)]
    with transaction.atomic():
        try:
            with transaction.atomic():
                customer.save(force_insert=True)
        except IntegrityError as exc:  # a concurrent registration of the same USCC won the race
            clash = Customer.objects.filter(uscc=customer.uscc, deleted_at__isnull=True).first()
            if clash is not None:
                _raise_uscc_conflict(clash)
            raise Conflict(_("The customer could not be saved: %(e)s") % {"e": exc}) from exc
        if tags:
            customer.tags.set(tags)
        _write_tokens(customer.pk, tokens, replace=False)
        _history(actor=actor, customer_id=customer.pk, obj=customer, action="create", changes=changes)
        audit_record(actor=actor, action="customer.create", obj=customer, changes=changes)
        _record_bases(actor, customer, None, bases)
        flagged = _blacklist_flag(actor, customer)
    customer.warnings = _mobile_warnings(customer.mobile_hash, customer_id=customer.pk) + flagged
    return customer


@transaction.atomic
def customer_update(*, actor, customer_id: int, data: dict, expected: Expected | None = None) -> Customer:
    """Change some fields of a customer; only the fields present in ``data`` change. ``expected``: the
    version the writer read (a stale one is refused, see kehu.concurrency.versioning); None (imports,
    ERP, internal callers) skips the check but still raises the version."""
    customer = _writable_customer(actor, customer_id)
    before = _customer_state(customer)
    keys_before = _identifying_keys(customer)
    filled_before = _filled(customer, CUSTOMER_PERSONAL_FIELDS)
    before_tags = sorted(str(t) for t in customer.tags.all())
    for f in CUSTOMER_FIELDS:
        if f in data and data[f] is not None and f != "status":  # status: customer_status_change only
            setattr(customer, f, data[f].strip() if isinstance(data[f], str) else data[f])
    _apply_region(customer, data)
    if "owner" in data and data["owner"] is not None:
        owner = _resolve_owner(actor, data["owner"], current=customer.owner)
        customer.owner = owner
        customer.department_id = owner.department_id
    if customer.kind == CustomerKind.PERSON:
        if "mobile" in data:
            _set_mobile(customer, data["mobile"])
        if "id_number" in data:
            _set_id_number(customer, data["id_number"])
    else:
        _set_mobile(customer, None)
        _set_id_number(customer, None)
    if "custom" in data and data["custom"] is not None:
        customer.custom = _validate_custom(data["custom"], existing=customer.custom)
    tags = _resolve_tags(data.get("tags"))
    _check_uscc(customer, actor)  # first: it compacts "9133 0106…" to the 18 characters the model allows
    _clean(customer, exclude=["owner", "department", "created_by"])
    _refuse_second_person(customer)
    customer.blacklist_screen = _blacklist_screen_changed(customer, keys_before)  # a blacklisted USCC: refused
    newly = sorted(_filled(customer, CUSTOMER_PERSONAL_FIELDS) - filled_before)
    bases = _lawful_basis_required(newly_filled=newly, data=data,
                                   on_record=_basis_on_record(customer.pk, None) if newly else (True, True))
    after = _customer_state(customer)
    changes = _diff(before, after)
    if tags is not None:
        after_tags = sorted(str(t) for t in tags)
        if after_tags != before_tags:
            changes["tags"] = [before_tags, after_tags]
    version_check(customer, expected, fields=changes)
    customer.warnings = (_mobile_warnings(customer.mobile_hash, customer_id=customer.pk)
                         if before["mobile"] != after["mobile"] else [])
    if not changes:
        return customer
    if "tags" in changes:
        customer.tags.set(tags)
    if before["name"] != after["name"]:
        _write_tokens(customer.pk, _apply_name_keys(customer), replace=True)
    try:
        with transaction.atomic():
            save_versioned(customer, fields=changes, expected=expected)
    except IntegrityError:
        clash = Customer.objects.filter(uscc=customer.uscc, deleted_at__isnull=True).exclude(pk=customer.pk).first()
        if clash is not None:
            _raise_uscc_conflict(clash)
        raise
    _history(actor=actor, customer_id=customer.pk, obj=customer, action="update", changes=changes)
    audit_record(actor=actor, action="customer.update", obj=customer, changes=changes)
    _record_bases(actor, customer, None, bases)
    customer.warnings += _blacklist_flag(actor, customer, source="update")
    return customer


@transaction.atomic
def customer_delete(*, actor, customer_id: int) -> None:
    """Soft-delete: the record leaves every list; its USCC stays reserved for it (customer_restore brings it
    back); history and audit stay."""
    _require(actor, Perm.CUSTOMER_DELETE)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id, for_update=True)
    customer.deleted_at = timezone.now()
    customer.save(update_fields=["deleted_at", "updated_at"])
    _history(actor=actor, customer_id=customer.pk, obj=customer, action="delete", changes={})
    audit_record(actor=actor, action="customer.delete", obj=customer)


@transaction.atomic
def customer_open_assigned(*, actor, customer_id: int) -> Customer:
    """Open (read) a customer outside the actor's scope that the actor is assigned to work on: the record comes
    back for a masked, read-only page, and every such access is audited ("assigned access")."""
    from kehu.customers.assignments import assigned_via

    customer = selectors.customer_assigned_get(actor=actor, customer_id=customer_id)
    audit_record(actor=actor, action="customer.assigned_access", obj=customer,
                 changes={"via": assigned_via(actor, customer.pk)})
    return customer


@transaction.atomic
def customer_restore(*, actor, customer_id: int) -> Customer:
    """Bring a soft-deleted customer back (its USCC was kept reserved for it); history and audit say so."""
    _require(actor, Perm.CUSTOMER_WRITE)
    customer = selectors.deleted_customer_get(actor=actor, customer_id=customer_id, for_update=True)
    if customer.uscc and Customer.objects.filter(uscc=customer.uscc, deleted_at__isnull=True).exists():
        raise Conflict(_("Another live customer has this unified social credit code; merge them instead."),
                       code="duplicate_uscc")
    deleted_at = customer.deleted_at
    customer.deleted_at = None
    customer.save(update_fields=["deleted_at", "updated_at"])
    changes = {"deleted_at": [deleted_at.isoformat(), None]}
    _history(actor=actor, customer_id=customer.pk, obj=customer, action="restore", changes={})
    audit_record(actor=actor, action="customer.restore", obj=customer, changes=changes)
    return customer


@transaction.atomic
def customer_reveal(*, actor, customer_id: int, field: str) -> str:
    """Return one confidential value of a person customer in clear, and audit that it was seen."""
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    return _reveal(actor, customer, customer, field, {"mobile": "mobile_enc", "id_number": "id_number_enc"})


def _reveal(actor, customer: Customer, obj, field: str, encrypted: dict[str, str]) -> str:
    level = SENSITIVE_FIELDS.get(field)
    # birthday and traits exist on contacts only; a customer has just its encrypted identifiers.
    if level is None or (field not in encrypted
                         and (field not in ("birthday", "traits") or not isinstance(obj, Contact))):
        raise Invalid(_("“%(f)s” is not a field that can be revealed.") % {"f": field},
                      fields={"field": [_("Not revealable.")]})
    if not actor.can_read_level(level) or not in_scope(actor, owner_id=customer.owner_id,
                                                       department_id=customer.department_id):
        raise Forbidden(_("Your role may not see this field in clear."))
    if field in encrypted:
        value = protection.decrypt(getattr(obj, encrypted[field]))
    elif field == "birthday":
        value = obj.birthday.isoformat() if obj.birthday else ""
    else:
        value = obj.traits
    audit_record(actor=actor, action=f"{obj._meta.model_name}.reveal", obj=obj, changes={"field": field})
    return value


# ---------------------------------------------------------------- contacts

def _contact_state(c: Contact) -> dict:
    state = {f: getattr(c, f) for f in CONTACT_FIELDS}
    state.update(reports_to=c.reports_to_id, mobile=c.mobile_masked,
                 birthday=protection.mask_date(c.birthday), traits=protection.mask_text(c.traits))
    return state


def _resolve_reports_to(customer: Customer, contact: Contact | None, reports_to_id: int | None) -> Contact | None:
    if reports_to_id is None:
        return None
    superior = Contact.objects.filter(pk=reports_to_id, customer=customer).first()
    if superior is None:
        raise Invalid(_("The superior must be a contact of the same customer."),
                      fields={"reports_to": [_("Not a contact of this customer.")]})
    if contact is not None and contact.pk is not None:
        # Walk up from the proposed superior: meeting the contact itself would close a loop.
        node, seen = superior, set()
        while node is not None and node.pk not in seen:
            if node.pk == contact.pk:
                raise Invalid(_("A contact cannot report to someone who reports to them."),
                              fields={"reports_to": [_("This would make a loop in the org chart.")]})
            seen.add(node.pk)
            node = node.reports_to
    return superior


def _parse_birthday(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise Invalid(_("Enter the birthday as YYYY-MM-DD."), fields={"birthday": [_("Invalid date.")]}) from exc


@transaction.atomic
def contact_create(*, actor, customer_id: int, data: dict) -> Contact:
    """Add a contact to a customer within the actor's scope."""
    customer = _writable_customer(actor, customer_id)
    contact = Contact(customer=customer, **{f: data[f] for f in CONTACT_FIELDS if data.get(f) is not None})
    contact.name = (contact.name or "").strip()
    contact.traits = data.get("traits") or ""
    contact.birthday = _parse_birthday(data.get("birthday"))
    _set_mobile(contact, data.get("mobile"))
    contact.reports_to = _resolve_reports_to(customer, None, data.get("reports_to"))
    _clean(contact, exclude=["customer", "reports_to"])
    bases = _lawful_basis_required(newly_filled=sorted(_filled(contact, CONTACT_PERSONAL_FIELDS)), data=data,
                                   on_record=(False, False))
    contact.save()
    changes = _diff({}, _contact_state(contact))
    _history(actor=actor, customer_id=customer.pk, obj=contact, action="create", changes=changes)
    audit_record(actor=actor, action="contact.create", obj=contact, changes=changes)
    _record_bases(actor, customer, contact, bases)
    contact.warnings = _mobile_warnings(contact.mobile_hash, contact_id=contact.pk)
    Customer.objects.filter(pk=customer.pk).update(updated_at=timezone.now())
    return contact


def _writable_contact(actor, contact_id: int) -> Contact:
    _require(actor, Perm.CUSTOMER_WRITE)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id, for_update=True)
    if contact.erased_at is not None:
        raise Conflict(_("This contact's personal data was erased; the record is closed."), code="erased")
    return contact


@transaction.atomic
def contact_update(*, actor, contact_id: int, data: dict, expected: Expected | None = None) -> Contact:
    """Change some fields of a contact; ``expected`` as in customer_update."""
    contact = _writable_contact(actor, contact_id)
    before = _contact_state(contact)
    filled_before = _filled(contact, CONTACT_PERSONAL_FIELDS)
    for f in CONTACT_FIELDS:
        if f in data and data[f] is not None:
            setattr(contact, f, data[f].strip() if isinstance(data[f], str) else data[f])
    if "traits" in data and data["traits"] is not None:
        contact.traits = data["traits"]
    if "birthday" in data:
        contact.birthday = _parse_birthday(data["birthday"])
    if "mobile" in data:
        _set_mobile(contact, data["mobile"])
    if "reports_to" in data:
        contact.reports_to = _resolve_reports_to(contact.customer, contact, data["reports_to"])
    _clean(contact, exclude=["customer", "reports_to"])
    newly = sorted(_filled(contact, CONTACT_PERSONAL_FIELDS) - filled_before)
    bases = _lawful_basis_required(newly_filled=newly, data=data, on_record=_basis_on_record(
        contact.customer_id, contact.pk) if newly else (True, True))
    changes = _diff(before, _contact_state(contact))
    version_check(contact, expected, fields=changes)
    contact.warnings = (_mobile_warnings(contact.mobile_hash, contact_id=contact.pk)
                        if "mobile" in changes else [])
    if not changes:
        return contact
    save_versioned(contact, fields=changes, expected=expected)
    _history(actor=actor, customer_id=contact.customer_id, obj=contact, action="update", changes=changes)
    audit_record(actor=actor, action="contact.update", obj=contact, changes=changes)
    _record_bases(actor, contact.customer, contact, bases)
    return contact


@transaction.atomic
def contact_delete(*, actor, contact_id: int) -> None:
    contact = _writable_contact(actor, contact_id)
    customer_id, pk, name = contact.customer_id, contact.pk, contact.name
    contact.delete()
    contact.pk = pk
    _history(actor=actor, customer_id=customer_id, obj=contact, action="delete", changes={"name": [name, None]})
    audit_record(actor=actor, action="contact.delete", object_type="customers.contact", object_id=pk,
                 object_repr=name)


@transaction.atomic
def contact_reveal(*, actor, contact_id: int, field: str = "mobile") -> str:
    """Return one confidential value of a contact in clear, and audit that it was seen."""
    contact = selectors.contact_get(actor=actor, contact_id=contact_id)
    return _reveal(actor, contact.customer, contact, field, {"mobile": "mobile_enc"})


# ---------------------------------------------------------------- consents

@transaction.atomic
def consent_create(*, actor, customer_id: int, data: dict) -> Consent:
    """Record a consent (purpose, scope, channel, evidence) of the customer or one of its contacts."""
    customer = _writable_customer(actor, customer_id)
    contact = None
    if data.get("contact") is not None:
        contact = Contact.objects.filter(pk=data["contact"], customer=customer).first()
        if contact is None:
            raise Invalid(_("The contact must belong to this customer."), fields={"contact": [_("Unknown contact.")]})
    basis = data.get("basis") or LegalBasis.CONSENT
    sensitive = bool(data.get("sensitive"))
    if sensitive and basis != LegalBasis.CONSENT:
        raise Invalid(_("Sensitive personal information needs the person's own consent, not another basis."),
                      fields={"sensitive": [_("Only a consent can be a separate consent.")]})
    consent = Consent(customer=customer, contact=contact, recorded_by=actor, basis=basis, sensitive=sensitive,
                      granted_at=data.get("granted_at") or timezone.now(),
                      **{f: (data.get(f) or "").strip() for f in CONSENT_FIELDS})
    _clean(consent, exclude=["customer", "contact", "recorded_by"])
    consent.save()
    changes = {f: [None, getattr(consent, f)] for f in CONSENT_FIELDS}
    changes.update(basis=[None, basis], sensitive=[None, sensitive])
    changes["contact"] = [None, contact.name if contact else None]
    _history(actor=actor, customer_id=customer.pk, obj=consent, action="create", changes=changes)
    audit_record(actor=actor, action="consent.create", obj=consent, changes=changes)
    return consent


@transaction.atomic
def consent_withdraw(*, actor, consent_id: int) -> Consent:
    """Mark a consent withdrawn (撤回同意) from now on."""
    consent = selectors.consent_get(actor=actor, consent_id=consent_id, for_update=True)
    _writable_customer(actor, consent.customer_id)
    if consent.status == ConsentStatus.WITHDRAWN:
        raise Conflict(_("This consent was already withdrawn."), code="already_withdrawn")
    consent.status = ConsentStatus.WITHDRAWN
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["status", "withdrawn_at"])
    changes = {"status": ["granted", "withdrawn"]}
    _history(actor=actor, customer_id=consent.customer_id, obj=consent, action="withdraw", changes=changes)
    audit_record(actor=actor, action="consent.withdraw", obj=consent, changes=changes)
    _remove_unfounded(actor, consent)
    return consent


def _remove_unfounded(actor, consent: Consent) -> None:
    """After a withdrawal, erase the personal fields of that person no remaining basis holds: all of them
    when no basis is left, the sensitive ones when no separate consent is left (PIPL 15, 47)."""
    has_basis, has_sensitive = _basis_on_record(consent.customer_id, consent.contact_id)
    if consent.contact_id is not None:
        target, fields = Contact.objects.select_for_update().get(pk=consent.contact_id), CONTACT_PERSONAL_FIELDS
    else:
        target = Customer.objects.select_for_update().get(pk=consent.customer_id)
        fields = CUSTOMER_PERSONAL_FIELDS if target.kind == CustomerKind.PERSON else ()
    if not has_basis:
        doomed = [f for f in fields if f in _filled(target, fields)]
    elif not has_sensitive:
        doomed = [f for f in fields if f in SENSITIVE_PERSONAL_FIELDS and f in _filled(target, fields)]
    else:
        doomed = []
    if doomed:
        _erase_fields(actor, target, doomed, reason={"withdrawn_consent": consent.pk})


def _clear_field(obj, field: str) -> None:
    if field == "mobile":
        _set_mobile(obj, None)
    elif field == "id_number":
        _set_id_number(obj, None)
    elif field == "birthday":
        obj.birthday = None
    else:
        setattr(obj, field, "")


def _erase_fields(actor, obj, fields: list[str], *, reason: dict) -> None:
    """Clear some personal fields of one person and blank their old values in the timeline (the erasure
    path for part of a person); history and audit say which fields went and why, never their values."""
    mobiles = [protection.decrypt(obj.mobile_enc)] if "mobile" in fields else []
    id_numbers = [protection.decrypt(obj.id_number_enc)] if "id_number" in fields and isinstance(obj, Customer) else []
    for f in fields:
        _clear_field(obj, f)
    obj.save()
    bump_after_save(obj, fields=fields)
    if any(mobiles) or any(id_numbers):  # copies outside the archive go too (import files and previews)
        for hook in ERASURE_HOOKS:
            hook(mobiles=[m for m in mobiles if m], id_numbers=[n for n in id_numbers if n])
    customer_id = obj.customer_id if isinstance(obj, Contact) else obj.pk
    _blank_history(customer_id, {(obj._meta.model_name, obj.pk)}, keys=set(fields))
    changes = {f: ["—", "—"] for f in fields}
    _history(actor=actor, customer_id=customer_id, obj=obj, action="erase", changes=changes)
    audit_record(actor=actor, action=f"{obj._meta.model_name}.personal_data_removed", obj=obj,
                 changes={"fields": list(fields), **reason})


def _blank_history(customer_id: int, objects: set[tuple[str, int]], keys: set[str] | None = None) -> None:
    """Blank the old and new values of ``keys`` (all when None) in the timeline rows of ``objects``."""
    for h in ChangeRecord.objects.filter(customer_id=customer_id):
        if (h.object_type, h.object_id) in objects:
            touched = {k for k in h.changes if keys is None or k in keys}
            if touched:
                h.changes = {k: (["—", "—"] if k in touched else v) for k, v in h.changes.items()}
                h.save(update_fields=["changes"])


# ---------------------------------------------------------------- tags and custom fields

@transaction.atomic
def tag_create(*, actor, category: str, name: str) -> Tag:
    """Create a tag in a category (the category is created on first use)."""
    _require(actor, Perm.CATALOG_MANAGE)
    category, name = (category or "").strip(), (name or "").strip()
    if not category or not name:
        raise Invalid(_("Category and name are required."),
                      fields={k: [_("This field is required.")] for k, v in (("category", category), ("name", name)) if not v})
    cat, _created = TagCategory.objects.get_or_create(name=category[:50])
    if Tag.objects.filter(category=cat, name=name).exists():
        raise Conflict(_("This tag already exists."), fields={"name": [_("Already exists.")]})
    tag = Tag.objects.create(category=cat, name=name[:50])
    audit_record(actor=actor, action="tag.create", obj=tag)
    return tag


@transaction.atomic
def custom_field_define(*, actor, key: str, label: str, field_type: str, choices: list | None = None,
                        required: bool = False) -> CustomFieldDefinition:
    """Declare a custom customer field."""
    _require(actor, Perm.CATALOG_MANAGE)
    definition = CustomFieldDefinition(key=key, label=label, field_type=field_type, choices=choices or [],
                                       required=required)
    if field_type == FieldType.CHOICE and not definition.choices:
        raise Invalid(_("A choice field needs its choices."), fields={"choices": [_("Required for choice fields.")]})
    _clean(definition)
    if CustomFieldDefinition.objects.filter(key=key).exists():
        raise Conflict(_("A custom field with this key exists."), fields={"key": [_("Already exists.")]})
    definition.save()
    audit_record(actor=actor, action="customfield.create", obj=definition,
                 changes={"key": [None, key], "type": [None, field_type]})
    return definition


# ---------------------------------------------------------------- data-subject rights (PIPL)

def subject_export(*, actor, customer_id: int | None = None, contact_id: int | None = None) -> dict:
    """Everything held on one person (a person customer or a contact), in clear; audited."""
    _require(actor, Perm.PRIVACY)
    with transaction.atomic():
        if contact_id is not None:
            contact = selectors.contact_get(actor=actor, contact_id=contact_id)
            person = _contact_export(contact)
            person["customer"] = {"id": contact.customer_id, "name": contact.customer.name}
            person["consents"] = [_consent_export(c) for c in contact.consents.all().order_by("id")]
            obj = contact
        else:
            customer = selectors.customer_get(actor=actor, customer_id=customer_id)
            if customer.kind != CustomerKind.PERSON:
                raise Invalid(_("Only a person customer is a data subject; export its contacts one by one."))
            person = {f: getattr(customer, f) for f in CUSTOMER_FIELDS}
            person.update(id=customer.pk, mobile=protection.decrypt(customer.mobile_enc),
                          id_number=protection.decrypt(customer.id_number_enc), custom=customer.custom,
                          created_at=customer.created_at.isoformat(), updated_at=customer.updated_at.isoformat())
            person["contacts"] = [_contact_export(c) for c in customer.contacts.all().order_by("id")]
            person["consents"] = [_consent_export(c) for c in customer.consents.all().order_by("id")]
            obj = customer
        person["history"] = [
            {"at": h.at.isoformat(), "by": h.actor_name, "object": h.object_type, "action": h.action,
             "changes": h.changes}
            for h in ChangeRecord.objects.filter(
                customer_id=obj.customer_id if contact_id is not None else obj.pk,
                object_type=obj._meta.model_name, object_id=obj.pk).order_by("at", "id")
        ]
        audit_record(actor=actor, action=f"{obj._meta.model_name}.subject_export", obj=obj)
    return {"exported_at": timezone.now().isoformat(), "subject": person}


def _contact_export(c: Contact) -> dict:
    return {"id": c.pk, "name": c.name, "title": c.title, "role": c.role, "email": c.email, "wechat": c.wechat,
            "mobile": protection.decrypt(c.mobile_enc), "birthday": c.birthday.isoformat() if c.birthday else None,
            "preferences": c.preferences, "traits": c.traits, "reports_to": c.reports_to_id,
            "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat()}


def _consent_export(c: Consent) -> dict:
    return {"id": c.pk, "purpose": c.purpose, "scope": c.scope, "channel": c.channel, "evidence": c.evidence,
            "status": c.status, "granted_at": c.granted_at.isoformat(),
            "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}


ERASED_NAME = "已删除个人信息"

# Apps that keep copies of a person's data outside the archive (import files and previews) register a purge
# here: the erasure calls each, in its transaction, with the person's identifiers in clear before clearing them.
ERASURE_HOOKS: list = []


def register_erasure_hook(hook) -> None:
    """``hook(mobiles=[...], id_numbers=[...])``, called by subject_erase; registered once per process."""
    if hook not in ERASURE_HOOKS:
        ERASURE_HOOKS.append(hook)


@transaction.atomic
def subject_erase(*, actor, customer_id: int | None = None, contact_id: int | None = None) -> None:
    """Anonymise one person (PIPL erasure): personal fields cleared, history values blanked; the audit
    log keeps that it happened and by whom, never the erased values."""
    _require(actor, Perm.PRIVACY)
    now = timezone.now()
    if contact_id is not None:
        contact = selectors.contact_get(actor=actor, contact_id=contact_id, for_update=True)
        targets, customer_id_for_history = [contact], contact.customer_id
        obj = contact
    else:
        customer = selectors.customer_get(actor=actor, customer_id=customer_id, for_update=True)
        if customer.kind != CustomerKind.PERSON:
            raise Invalid(_("Only a person customer can be erased; erase its contacts one by one."))
        targets, customer_id_for_history = [customer, *customer.contacts.all()], customer.pk
        obj = customer
    if obj.erased_at is not None:
        raise Conflict(_("Already erased."), code="already_erased")
    mobiles = [protection.decrypt(t.mobile_enc) for t in targets]
    id_numbers = [protection.decrypt(t.id_number_enc) for t in targets if isinstance(t, Customer)]
    for t in targets:
        t.name = ERASED_NAME
        _set_mobile(t, None)
        if isinstance(t, Customer):
            _set_id_number(t, None)
            t.address = t.needs = t.preferences = t.pain_points = ""
            t.custom = {}
            t.deleted_at = now
            t.erased_at = now
            t.save()
            _write_tokens(t.pk, _apply_name_keys(t), replace=True)
            t.save(update_fields=["name_normalized", "name_pinyin", "name_initials", "name_core", "name_sort"])
        else:
            t.title = t.email = t.wechat = t.preferences = t.traits = ""
            t.birthday = None
            t.erased_at = now
            t.save()
            Consent.objects.filter(contact=t).update(evidence="")
    # History rows kept their old values (masked for confidential fields, clear for names):
    # blank them so nothing of the person survives outside the audit trace of the erasure itself.
    erased_ids = {(t._meta.model_name, t.pk) for t in targets}
    # The consents the erased people gave name them too (evidence, the contact's name in history).
    consents = Consent.objects.filter(**({"customer": obj} if isinstance(obj, Customer) else {"contact": obj}))
    consents.update(evidence="")
    erased_ids |= {("consent", pk) for pk in consents.values_list("pk", flat=True)}
    _blank_history(customer_id_for_history, erased_ids)
    for hook in ERASURE_HOOKS:
        hook(mobiles=[m for m in mobiles if m], id_numbers=[n for n in id_numbers if n])
    _history(actor=actor, customer_id=customer_id_for_history, obj=obj, action="erase", changes={})
    audit_record(actor=actor, action=f"{obj._meta.model_name}.erase", object_type=obj._meta.label_lower,
                 object_id=obj.pk, object_repr=ERASED_NAME)


# ---------------------------------------------------------------- bulk registration (demo, bench, import)

def customer_bulk_create(*, actor, rows: list[dict], batch_size: int = 2000, basis: dict | None = None,
                         channel: str = "") -> int:
    """Register many customers with their contacts: the same validation as customer_create, written
    in batches (one transaction per batch), with history and one audit entry per customer.
    Each row: customer fields + "owner" (User) + optional "contacts" (list of contact dicts).
    Personal information needs a legal basis: a row's (or a contact's) own "basis", else the
    whole batch's ``basis``; a person's ID number also its row's "id_number_consent"."""
    _require(actor, Perm.CUSTOMER_WRITE)
    default = _parse_basis(basis, default_channel=channel) if basis else None
    created = 0
    for start in range(0, len(rows), batch_size):
        created += _bulk_batch(actor, rows[start:start + batch_size], default, channel, start)
    return created


class _NewCustomer:
    """What audit_record_many needs of a customer written by the bulk path (label, pk, str)."""

    __slots__ = ("pk", "name")
    _meta = Customer._meta

    def __init__(self, pk: int, name: str):
        self.pk, self.name = pk, name

    def __str__(self) -> str:
        return self.name


class _Columns:
    """Scratch target of _set_mobile/_set_id_number in the bulk path (no model instance needed)."""


def _allocate_ids(model, n: int) -> list[int]:
    """``n`` fresh primary keys of ``model`` for an explicit-id insert (inside the write transaction)."""
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
            return [r[0] for r in cur.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the one write lock, so nobody else allocates; AUTOINCREMENT
        # never reuses a deleted id, so start above both MAX(id) and the table's sqlite_sequence entry.
        cur.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
        high = cur.fetchone()[0] or 0
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cur.fetchone()
        high = max(high, row[0] if row and row[0] else 0)
    return list(range(high + 1, high + 1 + n))


def _insert_sql(model, attnames: tuple[str, ...]) -> tuple[str, tuple]:
    """INSERT of ``attnames`` plus every other concrete column of ``model`` at its default (the defaults'
    prepared values are returned, to append to each row)."""
    cols, defaults = _copy_columns(model, attnames)
    q = connection.ops.quote_name
    sql = (f"INSERT INTO {q(model._meta.db_table)} ({', '.join(cols)}) "
           f"VALUES ({', '.join(['%s'] * len(cols))})")
    return sql, defaults


# From this many customers in a batch, PostgreSQL checks the batch's foreign keys once per statement
# (kehu.bulk_fk) instead of queuing one trigger event per row and key (≈ 12 per customer with its contacts).
BULK_FK_CHECK_AFTER = 500
# PostgreSQL's COPY path; off = the generic executemany (what test_bulk_paths_write_the_same_rows compares it with).
BULK_COPY = True


def _bulk_write(cur, writes: list[tuple]) -> None:
    """Insert a bulk batch's prepared rows: ``writes`` = [(model, attnames, rows, fresh)], in dependency order;
    ``fresh`` maps the foreign-key columns that point at rows of this same batch to their model.
    SQLite: one executemany per table. PostgreSQL: COPY (no per-row statement, no parameter binding); with
    many rows and the right to (kehu.bulk_fk), into a staging table first, the foreign keys to existing rows
    (owners, departments, the actor) checked once per statement and those to the batch's own rows by one
    anti-join after the insert, then INSERT … SELECT with the per-row trigger events off."""
    if connection.vendor != "postgresql" or not BULK_COPY:
        for model, attnames, rows, _fresh in writes:
            sql, extra = _insert_sql(model, attnames)
            cur.executemany(sql, [(*r, *extra) for r in rows] if extra else rows)
        return
    n = len(writes[0][2])
    tables = [model._meta.db_table for model, *_rest in writes]
    staged = bulk_fk.available(cur, tables=tables, rows=n, min_rows=BULK_FK_CHECK_AFTER)
    for model, attnames, rows, fresh in writes:
        cols, extra = _copy_columns(model, attnames)
        bulk_fk.copy_rows(cur, table=model._meta.db_table, cols=cols, rows=rows, extra=extra, staged=staged,
                          min_rows=BULK_FK_CHECK_AFTER,
                          fresh={column: ref._meta.db_table for column, ref in fresh.items()})


def _copy_columns(model, attnames: tuple[str, ...]) -> tuple[list[str], tuple]:
    """The quoted columns of _insert_sql's INSERT and the defaults to append to each row."""
    rest = [f for f in model._meta.concrete_fields if f.attname not in attnames and not f.primary_key]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    q = connection.ops.quote_name
    cols = [q(model._meta.get_field(a).column if a != "id" else "id") for a in attnames] + [q(f.column) for f in rest]
    return cols, defaults


_BULK_CUSTOMER_COLUMNS = ("id", *CUSTOMER_FIELDS, "owner_id", "department_id", "custom", "mobile_enc", "mobile_hash",
                          "mobile_masked", "id_number_enc", "id_number_hash", "id_number_masked", "name_normalized",
                          "name_pinyin", "name_initials", "name_core", "created_by_id", "created_at", "updated_at",
                          "mobile_last4", "name_sort", *REGION_CODES)
_BULK_CONTACT_COLUMNS = ("id", "customer_id", *CONTACT_FIELDS, "reports_to_id", "mobile_enc", "mobile_hash",
                         "mobile_masked", "birthday", "traits", "created_at", "updated_at", "mobile_last4")
_BULK_CONSENT_COLUMNS = ("customer_id", "contact_id", "purpose", "channel", "evidence", "basis", "sensitive",
                         "status", "granted_at", "recorded_by_id")
_BULK_CHANGE_COLUMNS = ("customer_id", "at", "actor_id", "actor_name", "object_type", "object_id", "action",
                        "changes")


def _bulk_bases(row: dict, newly: list[str], default: _Basis | None, channel: str, number: int) -> list[_Basis]:
    """The bases of one bulk row's person (its own, else the batch's); errors name the row."""
    if not newly:
        return []
    data = {"basis": row.get("basis"), "id_number_consent": row.get("id_number_consent")}
    if (default is not None and not data["basis"] and not data["id_number_consent"]
            and not any(f in SENSITIVE_PERSONAL_FIELDS for f in newly)):
        # The batch's basis, already parsed once: re-parsing it per person was a tenth of a bulk load.
        return [default]
    if default is not None and not data["basis"]:
        data["basis"] = {"basis": default.basis, "purpose": default.purpose, "channel": default.channel,
                         "evidence": default.evidence}
    try:
        return _lawful_basis_required(newly_filled=newly, data=data, on_record=(False, False),
                                      default_channel=channel)
    except Invalid as exc:
        raise Invalid(_("Row %(n)d: %(e)s") % {"n": number, "e": exc.message}, fields=exc.fields,
                      code=exc.code) from exc


def _screening_subject(pk: int, kind: str, name: str, uscc: str, phones: list[str], values: tuple, owner) -> tuple:
    from kehu.qualification.blacklist.screening import Subject

    id_hash = values[_BULK_CUSTOMER_COLUMNS.index("id_number_hash")]
    return (Subject(key=pk, name=name, uscc=uscc or "", kind=kind, phone_hashes=tuple(p for p in phones if p),
                    id_number_hash=id_hash or ""), {"customer_id": pk, "subject": name, "owner_id": owner.pk,
                                                    "department_id": owner.department_id})


def _blacklist_screen_bulk(screened: list[tuple], offset: int) -> tuple:
    """The blacklist screening of a bulk batch (a few indexed queries): a USCC / ID number match refuses the
    batch naming its row; the name / phone matches are returned to be flagged after the insert."""
    from kehu.qualification.blacklist import screening

    screens = screening.screen_many([subject for subject, _info in screened])
    if screens:
        numbers = {subject.key: offset + i + 1 for i, (subject, _info) in enumerate(screened)}
        screening.refuse_bulk(screens, row_numbers=numbers)
    return screens, {subject.key: info for subject, info in screened}


def _blacklist_flag_bulk(actor, flags: tuple) -> None:
    from kehu.qualification.blacklist import screening

    screens, subjects = flags
    if screens:
        screening.flag_many(actor=actor, screens=screens, source="bulk", subjects=subjects)


@transaction.atomic
def _bulk_batch(actor, rows: list[dict], default: _Basis | None = None, channel: str = "", offset: int = 0) -> int:
    # Same checks as before (USCC check digit and uniqueness, mobiles, ID numbers, birthdays, name keys),
    # but rows go to the database as prepared tuples through executemany with ids allocated up front:
    # model instances, bulk_create and the reports_to UPDATE pass cost more than the validation itself.
    now = timezone.now()
    ops = connection.ops
    now_db = ops.adapt_datetimefield_value(now)
    customer_defaults = {f: Customer._meta.get_field(f).get_default() for f in CUSTOMER_FIELDS}
    custom_db = Customer._meta.get_field("custom").get_db_prep_save({}, connection)
    changes_field = ChangeRecord._meta.get_field("changes")
    actor_id = actor.pk if actor and actor.pk else None
    actor_name = actor.get_username() if actor_id else "system"
    customer_ids = _allocate_ids(Customer, len(rows))
    n_contacts = sum(len(row.get("contacts") or ()) for row in rows)
    contact_ids = iter(_allocate_ids(Contact, n_contacts)) if n_contacts else iter(())
    customers, contacts, documents, news, seen_uscc, consents, seen_ids = [], [], [], [], set(), [], set()
    screened: list = []
    scratch = _Columns()
    for i, (pk, row) in enumerate(zip(customer_ids, rows, strict=True)):
        owner = row.get("owner") or actor
        values = {f: row[f] if row.get(f) is not None else customer_defaults[f] for f in CUSTOMER_FIELDS}
        region = regions.match(values["province"], values["city"], values["district"])
        values.update(province=region["province"], city=region["city"], district=region["district"])
        kind, name = values["kind"], values["name"]
        values["status"] = initial_status(kind)
        if kind == CustomerKind.PERSON:
            _set_mobile(scratch, row.get("mobile"))
            _set_id_number(scratch, row.get("id_number"))
        else:
            _set_mobile(scratch, None)
            _set_id_number(scratch, None)
        newly = [f for f in CUSTOMER_PERSONAL_FIELDS if getattr(scratch, f"{f}_enc")]
        if scratch.id_number_hash:
            if scratch.id_number_hash in seen_ids:
                raise Conflict(_("Row %(n)d: the same person (ID number) twice.") % {"n": offset + i + 1},
                               code="duplicate_id_number")
            seen_ids.add(scratch.id_number_hash)
        consents.extend((pk, None, b) for b in _bulk_bases(row, newly, default, channel, offset + i + 1))
        if kind == CustomerKind.ORGANIZATION and values["uscc"]:
            try:
                values["uscc"] = normalize_uscc(values["uscc"])
            except InvalidValue as exc:
                raise Invalid(_("Row %(n)d: the unified social credit code is not valid.") % {"n": i + 1},
                              fields={"uscc": [values["uscc"]]}) from exc
            if values["uscc"] in seen_uscc:
                raise Conflict(_("Row %(n)d: duplicate unified social credit code.") % {"n": i + 1})
            seen_uscc.add(values["uscc"])
        keys = search.name_keys(name)
        documents.append(search_index.bulk_rows(pk, keys.tokens))
        customers.append((pk, *values.values(), owner.pk, owner.department_id, custom_db,
                          scratch.mobile_enc, scratch.mobile_hash, scratch.mobile_masked, scratch.id_number_enc,
                          scratch.id_number_hash, scratch.id_number_masked, keys.normalized[:200],
                          keys.pinyin[:800], keys.initials[:200], dedupe.name_core(name)[:200], actor_id, now_db,
                          now_db, scratch.mobile_last4, keys.sort, region["province_code"],
                          region["city_code"], region["district_code"]))
        news.append(_NewCustomer(pk, name))
        phones = [scratch.mobile_hash]
        row_contacts = row.get("contacts") or ()
        ids = [next(contact_ids) for _cd in row_contacts]
        for cid, cd in zip(ids, row_contacts, strict=True):
            idx = cd.get("reports_to_index")
            superior = ids[idx] if idx is not None else None
            _set_mobile(scratch, cd.get("mobile"))
            phones.append(scratch.mobile_hash)
            birthday = _parse_birthday(cd.get("birthday"))
            newly = [f for f, v in (("mobile", scratch.mobile_enc), ("birthday", birthday),
                                    ("traits", cd.get("traits"))) if v]
            consents.extend((pk, cid, b) for b in _bulk_bases(cd, newly, default, channel, offset + i + 1))
            contacts.append((cid, pk, *(cd[f] if cd.get(f) is not None else _CONTACT_DEFAULTS[f] for f in CONTACT_FIELDS),
                             superior if superior != cid else None, scratch.mobile_enc, scratch.mobile_hash,
                             scratch.mobile_masked, ops.adapt_datefield_value(birthday), cd.get("traits") or "",
                             now_db, now_db, scratch.mobile_last4))
        screened.append(_screening_subject(pk, kind, name, values["uscc"], phones, customers[-1], owner))
    flags = _blacklist_screen_bulk(screened, offset)
    if seen_uscc:
        clash = Customer.objects.filter(uscc__in=seen_uscc, deleted_at__isnull=True).first()
        if clash is not None:
            _raise_uscc_conflict(clash)
        reserved = Customer.objects.filter(uscc__in=seen_uscc, deleted_at__isnull=False, merged_into__isnull=True,
                                           erased_at__isnull=True).first()
        if reserved is not None:
            _refuse_reserved_uscc(Customer(uscc=reserved.uscc), actor)
    if seen_ids:
        if Customer.objects.filter(id_number_hash__in=seen_ids, deleted_at__isnull=True).exists():
            raise Conflict(_("A person with this ID number is already registered."), code="duplicate_id_number")
    consent_rows = [(cust, cont, b.purpose, b.channel, b.evidence, b.basis, b.sensitive, ConsentStatus.GRANTED, now_db,
                     actor_id) for cust, cont, b in consents]
    change_rows = [(c.pk, now_db, actor_id, actor_name, "customer", c.pk, "create",
                    changes_field.get_db_prep_save({"name": [None, c.name]}, connection)) for c in news]
    with connection.cursor() as cur:
        writes = [(Customer, _BULK_CUSTOMER_COLUMNS, customers, {}),
                  (SearchDocument, ("customer_id", "terms"), documents, {"customer_id": Customer}),
                  (Contact, _BULK_CONTACT_COLUMNS, contacts, {"customer_id": Customer, "reports_to_id": Contact}),
                  (Consent, _BULK_CONSENT_COLUMNS, consent_rows, {"customer_id": Customer, "contact_id": Contact}),
                  (ChangeRecord, _BULK_CHANGE_COLUMNS, change_rows, {"customer_id": Customer})]
        _bulk_write(cur, [w for w in writes if w[2]])
    bases: dict[int, list[str]] = defaultdict(list)
    for cust, cont, b in consents:
        bases[cust].append(f"{'contact' if cont else 'customer'}:{b.basis}{':sensitive' if b.sensitive else ''}:{b.purpose}")
    _blacklist_flag_bulk(actor, flags)
    audit_record_many(actor=actor, action="customer.create", objects=news,
                      changes=[{"name": [None, c.name], "bulk": True, **({"bases": bases[c.pk]} if c.pk in bases else {})}
                               for c in news])
    return len(news)


# ---------------------------------------------------------------- key rotation

# Every model that keeps an encrypted personal value as `<field>_enc` beside its keyed lookup hash
# `<field>_hash`. Apps outside the archive register theirs in AppConfig.ready() (the complainant's phone, the
# blacklist's phones and ID number), so a rotation of KEHU_FIELD_KEYS / KEHU_LOOKUP_KEY reaches them all.
_PROTECTED_FIELDS: dict[str, tuple[type, tuple[str, ...]]] = {}


def register_protected_fields(model, *fields: str) -> None:
    _PROTECTED_FIELDS[model._meta.label_lower] = (model, tuple(fields))


register_protected_fields(Customer, "mobile", "id_number")
register_protected_fields(Contact, "mobile")


def field_keys_rotate(*, actor, batch_size: int = 2000) -> dict[str, int]:
    """Re-encrypt every stored personal value with the first of KEHU_FIELD_KEYS and recompute the
    lookup hashes with the current KEHU_LOOKUP_KEY, in every registered model. Batched, one transaction
    per batch, resumable (re-running it is harmless); one audit entry at the end. A hash stored without its
    ciphertext (a blacklist phone recorded before the ciphertext was kept) cannot be recomputed: those rows
    are counted as `<model>_hash_only` so the operator knows they no longer match after a lookup-key change."""
    counts = {}
    for model, fields in _PROTECTED_FIELDS.values():
        done, hash_only, last_id = 0, 0, 0
        while True:
            with transaction.atomic():
                batch = list(model.objects.filter(pk__gt=last_id).order_by("pk")
                             .only("pk", *[f"{f}_enc" for f in fields], *[f"{f}_hash" for f in fields])[:batch_size])
                if not batch:
                    break
                changed = []
                for obj in batch:
                    dirty = False
                    for f in fields:
                        token = getattr(obj, f"{f}_enc")
                        if token:
                            setattr(obj, f"{f}_enc", protection.rotate(token))
                            setattr(obj, f"{f}_hash", protection.lookup_hash(protection.decrypt(getattr(obj, f"{f}_enc"))))
                            dirty = True
                        elif getattr(obj, f"{f}_hash"):
                            hash_only += 1
                    if dirty:
                        changed.append(obj)
                model.objects.bulk_update(changed, [x for f in fields for x in (f"{f}_enc", f"{f}_hash")],
                                          batch_size=500)
                done += len(changed)
                last_id = batch[-1].pk
        counts[model._meta.model_name] = done
        if hash_only:
            counts[f"{model._meta.model_name}_hash_only"] = hash_only
    with transaction.atomic():
        audit_record(actor=actor, action="keys.rotate", object_type="system", changes=counts)
    return counts
