"""Screening of new customers against the blacklist (黑名单筛查): the one place every registration path asks.

- a USCC (or a person's ID number) of an active entry → refused: 409 ``blacklisted`` (naming the entry's
  category, nothing about the company that the caller may not see);
- a company name with the same name core (杭州华星化工有限公司 ≈ 华星化工（杭州）有限公司) or a known phone
  → let through and flagged: a ``ScreeningHit`` for a manager's review, and a warning to the caller.

Every check is a handful of index look-ups on the entry table (never on the customers), so it costs the
same at 1,000 or 1,000,000 customers, and holds after the blacklisted customer row was deleted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from kehu.errors import Conflict

CHUNK = 900  # bound parameters per IN list, within every database's limit
MIN_CORE = 2  # a shorter name core says nothing about a company


class Blacklisted(Conflict):
    code = "blacklisted"


@dataclass(frozen=True)
class Hit:
    entry_id: int
    matched_on: str  # uscc / id_number / name / phone
    category: str


@dataclass
class Screen:
    """What screening found for one subject: ``refuse`` (a USCC / ID number hit) and ``flags`` (name, phone)."""

    refuse: Hit | None = None
    flags: list[Hit] = field(default_factory=list)

    def warnings(self) -> list[dict]:
        return [{"code": "blacklist_match", "field": "phone" if h.matched_on == "phone" else "name",
                 "message": _("This resembles a blacklisted customer (%(m)s): a manager will review it.")
                 % {"m": _match_label(h.matched_on)}} for h in self.flags]


def _match_label(kind: str) -> str:
    from kehu.qualification.blacklist.models import MatchKind

    return str(MatchKind(kind).label)


def phone_hash(raw: str) -> str:
    """The archive's keyed lookup hash of a phone (normalised first); "" when it is not a phone number."""
    from kehu.access import protection
    from kehu.customers.validation import InvalidValue, normalize_mobile

    try:
        return protection.lookup_hash(normalize_mobile(raw))
    except InvalidValue:
        digits = "".join(ch for ch in str(raw or "") if ch.isdigit())
        return protection.lookup_hash(digits) if len(digits) >= 7 else ""


def core_of(name: str) -> str:
    from kehu.customers import dedupe

    core = dedupe.name_core(name or "")[:200]
    return core if len(core) >= MIN_CORE else ""


def _refusal(hit: Hit) -> Blacklisted:
    from kehu.qualification.blacklist.models import ReasonCategory

    field_name = "uscc" if hit.matched_on == "uscc" else "id_number"
    return Blacklisted(
        _("This customer is on the blacklist (disqualified: %(c)s) and cannot be registered again. "
          "Ask the sales department.") % {"c": ReasonCategory(hit.category).label},
        fields={field_name: [_("Blacklisted.")]})


def _lookup(*, usccs: Iterable[str] = (), id_hashes: Iterable[str] = (), cores: Iterable[str] = (),
            phones: Iterable[str] = ()) -> dict[str, dict[str, list[tuple[int, str]]]]:
    """{match kind: {key: [(entry id, category)]}} for the active entries having any of the keys: one UNION ALL
    of indexed IN look-ups per 900 keys of each kind (a single registration: one query)."""
    from django.db.models import CharField, Value

    from kehu.qualification.blacklist.models import BlacklistEntry, BlacklistPhone, EntryState

    out: dict[str, dict[str, list[tuple[int, str]]]] = {"uscc": {}, "id_number": {}, "name": {}, "phone": {}}
    active = BlacklistEntry.objects.filter(state=EntryState.ACTIVE)
    wanted = {kind: sorted({k for k in keys if k}) for kind, keys in (
        ("uscc", usccs), ("id_number", id_hashes), ("name", cores), ("phone", phones))}
    columns = {"uscc": "uscc", "id_number": "id_number_hash", "name": "name_core"}
    if all(len(v) <= 1 for k, v in wanted.items() if k != "phone") and len(wanted["phone"]) <= 20:
        return _lookup_one(wanted, out)  # one registration: one precompiled statement, no ORM compile
    rounds = max((len(v) + CHUNK - 1) // CHUNK for v in wanted.values())
    for i in range(rounds):
        parts = []
        for kind, keys in wanted.items():
            chunk = keys[i * CHUNK:(i + 1) * CHUNK]
            if not chunk:
                continue
            tag = Value(kind, output_field=CharField())
            if kind == "phone":
                parts.append(BlacklistPhone.objects.filter(phone_hash__in=chunk, entry__state=EntryState.ACTIVE)
                             .annotate(match_kind=tag).values_list("match_kind", "phone_hash", "entry_id", "entry__category")
                             .order_by())
            else:
                column = columns[kind]
                parts.append(active.filter(**{f"{column}__in": chunk}).annotate(match_kind=tag)
                             .values_list("match_kind", column, "pk", "category").order_by())
        if not parts:
            continue
        query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        for kind, key, pk, category in query:
            out[kind].setdefault(key, []).append((pk, category))
    return out


def _lookup_one(wanted: dict[str, list[str]], out: dict) -> dict:
    """The look-up of one registration as a single UNION ALL statement through the bare cursor (the ORM's
    compilation costs more than the four index probes themselves)."""
    from django.db import connection

    from kehu.qualification.blacklist.models import BlacklistEntry, BlacklistPhone

    q = connection.ops.quote_name
    entry, phone = q(BlacklistEntry._meta.db_table), q(BlacklistPhone._meta.db_table)
    parts, params = [], []
    for kind, column in (("uscc", "uscc"), ("id_number", "id_number_hash"), ("name", "name_core")):
        if wanted[kind]:
            parts.append(f"SELECT '{kind}', {column}, id, category FROM {entry} WHERE state = 'active' "
                         f"AND {column} = %s")
            params.append(wanted[kind][0])
    if wanted["phone"]:
        parts.append(f"SELECT 'phone', p.phone_hash, p.entry_id, e.category FROM {phone} p JOIN {entry} e "
                     f"ON e.id = p.entry_id WHERE e.state = 'active' AND p.phone_hash IN "
                     f"({', '.join(['%s'] * len(wanted['phone']))})")
        params.extend(wanted["phone"])
    if not parts:
        return out
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(parts), params)
        for kind, key, pk, category in cur.fetchall():
            out[kind].setdefault(key, []).append((pk, category))
    return out


def _screen_one(found: dict, *, uscc: str, id_hash: str, core: str, phones: Sequence[str]) -> Screen:
    screen = Screen()
    for kind, key in (("uscc", uscc), ("id_number", id_hash)):
        if key and found[kind].get(key):
            pk, category = found[kind][key][0]
            screen.refuse = Hit(pk, kind, category)
            return screen
    seen: set[int] = set()
    for kind, keys in (("name", [core]), ("phone", phones)):
        for key in keys:
            for pk, category in found[kind].get(key, ()) if key else ():
                if pk not in seen:
                    seen.add(pk)
                    screen.flags.append(Hit(pk, kind, category))
    return screen


def screen_new_customer(*, name: str = "", uscc: str = "", phones: Iterable[str] = (),
                        phone_hashes: Iterable[str] = (), id_number_hash: str = "",
                        kind: str = "organization", refuse: bool = True) -> Screen:
    """Screen one new customer. Raises Blacklisted (409) on a USCC or ID number match when ``refuse``;
    returns the name / phone matches to flag. ``phones`` are raw numbers, ``phone_hashes`` already hashed."""
    hashes = [h for h in (*phone_hashes, *(phone_hash(p) for p in phones)) if h]
    core = core_of(name) if kind == "organization" else ""
    found = _lookup(usccs=[uscc], id_hashes=[id_number_hash], cores=[core], phones=hashes)
    screen = _screen_one(found, uscc=uscc or "", id_hash=id_number_hash or "", core=core, phones=hashes)
    if screen.refuse is not None and refuse:
        raise _refusal(screen.refuse)
    return screen


@dataclass(frozen=True)
class Subject:
    """One row of a set-based screening (bulk registration, import)."""

    key: int  # the row's customer id (bulk) or row number (import)
    name: str = ""
    uscc: str = ""
    kind: str = "organization"
    phone_hashes: tuple[str, ...] = ()
    id_number_hash: str = ""


def screen_many(subjects: Sequence[Subject]) -> dict[int, Screen]:
    """Screen many rows at once: four indexed IN queries per 900 keys, whatever the number of rows. Returns
    {row key: Screen} for the rows that matched anything; raises nothing (the caller decides)."""
    cores = {s.key: core_of(s.name) if s.kind == "organization" else "" for s in subjects}
    found = _lookup(usccs=[s.uscc for s in subjects], id_hashes=[s.id_number_hash for s in subjects],
                    cores=cores.values(), phones=[h for s in subjects for h in s.phone_hashes])
    if not any(found.values()):
        return {}
    out = {}
    for s in subjects:
        screen = _screen_one(found, uscc=s.uscc, id_hash=s.id_number_hash, core=cores[s.key],
                             phones=s.phone_hashes)
        if screen.refuse is not None or screen.flags:
            out[s.key] = screen
    return out


def refuse_bulk(screens: dict[int, Screen], *, row_numbers: dict[int, int] | None = None) -> None:
    """Raise Blacklisted for the first refused row of a bulk registration (naming its row number)."""
    for key, screen in screens.items():
        if screen.refuse is not None:
            err = _refusal(screen.refuse)
            n = (row_numbers or {}).get(key, key)
            raise Blacklisted(_("Row %(n)d: %(e)s") % {"n": n, "e": err.message}, fields=err.fields)


def flag(*, actor, screen: Screen, source: str, subject: str, customer=None, object_type: str = "",
         object_id: str = "", owner_id: int | None = None, department_id: int | None = None) -> int:
    """Record the name / phone matches of ``screen`` as hits to review (inside the caller's transaction)."""
    if not screen.flags:
        return 0
    from kehu.qualification.blacklist import services

    return services.hits_record(actor=actor, hits=[(h, {
        "customer_id": getattr(customer, "pk", None), "subject": subject, "object_type": object_type,
        "object_id": str(object_id or ""), "owner_id": owner_id if owner_id is not None else getattr(
            customer, "owner_id", None),
        "department_id": department_id if department_id is not None else getattr(customer, "department_id", None),
    }) for h in screen.flags], source=source)


def flag_many(*, actor, screens: dict[int, Screen], source: str, subjects: dict[int, dict]) -> int:
    """Record the flags of a set-based screening; ``subjects``: row key → {customer_id, subject, owner_id,
    department_id}."""
    from kehu.qualification.blacklist import services

    rows = [(h, subjects[key]) for key, screen in screens.items() for h in screen.flags if key in subjects]
    return services.hits_record(actor=actor, hits=rows, source=source) if rows else 0


def screen_existing_customer(*, actor, customer, source: str = "claim") -> Screen:
    """Screen a customer already in the archive before the company commits to it (a claim from the public
    pool): a USCC / ID number match with an active entry of another (e.g. deleted) record is refused, a
    name or phone match flagged. Phones: the customer's and its contacts'."""
    from kehu.customers.models import Contact
    from kehu.qualification.blacklist.models import BlacklistEntry

    hashes = [customer.mobile_hash] + list(Contact.objects.filter(
        customer_id=customer.pk, erased_at__isnull=True).exclude(mobile_hash="").values_list("mobile_hash", flat=True))
    screen = screen_new_customer(name=customer.name, uscc=customer.uscc, phone_hashes=hashes,
                                 id_number_hash=customer.id_number_hash, kind=customer.kind, refuse=False)
    own = set(BlacklistEntry.objects.filter(customer_id=customer.pk).values_list("pk", flat=True))
    if screen.refuse is not None and screen.refuse.entry_id not in own:
        raise _refusal(screen.refuse)
    screen.flags = [h for h in screen.flags if h.entry_id not in own]
    if screen.flags:
        flag(actor=actor, screen=screen, source=source, subject=customer.name, customer=customer)
    return screen


def blacklisted_usccs(codes: Iterable[str]) -> set[str]:
    """Those of ``codes`` that an active entry holds (one indexed query per 900 codes): an import's dry run
    marks such rows as errors."""
    return set(_lookup(usccs=codes)["uscc"])
