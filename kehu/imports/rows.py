"""Row-by-row validation of an import file with the archive's own rules: the same USCC checksum, mobile
normalisation, field lengths, owner assignability and USCC uniqueness as customer_create, plus
duplicates within the file. The dry run and the commit both use it, so a commit re-checks every row
against the database as it is then."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils.translation import gettext as _

from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.access.scopes import in_scope
from kehu.customers import dedupe
from kehu.customers import selectors as customer_selectors
from kehu.customers.models import Contact, Customer, CustomerKind, LegalBasis, Stage
from kehu.customers.validation import InvalidValue, normalize_id_number, normalize_mobile, normalize_uscc
from kehu.imports.parsing import cell_text, has_control, parse_date

KIND_VALUES = {
    "企业": CustomerKind.ORGANIZATION, "企业客户": CustomerKind.ORGANIZATION, "公司": CustomerKind.ORGANIZATION,
    "单位": CustomerKind.ORGANIZATION, "组织": CustomerKind.ORGANIZATION, "机构": CustomerKind.ORGANIZATION,
    "organization": CustomerKind.ORGANIZATION, "organisation": CustomerKind.ORGANIZATION,
    "company": CustomerKind.ORGANIZATION, "个人": CustomerKind.PERSON, "个人客户": CustomerKind.PERSON,
    "自然人": CustomerKind.PERSON, "person": CustomerKind.PERSON, "individual": CustomerKind.PERSON,
}
STAGE_VALUES = {"潜在": Stage.PROSPECT, "潜在客户": Stage.PROSPECT, "意向": Stage.INTENT, "意向客户": Stage.INTENT,
                "成交": Stage.CUSTOMER, "成交客户": Stage.CUSTOMER, "流失": Stage.LOST, "流失客户": Stage.LOST,
                **{s.value: s for s in Stage}}
BASIS_VALUES = {"同意": LegalBasis.CONSENT, "个人同意": LegalBasis.CONSENT, "授权同意": LegalBasis.CONSENT,
                "本人同意": LegalBasis.CONSENT, "合同": LegalBasis.CONTRACT, "合同履行": LegalBasis.CONTRACT,
                "履行合同": LegalBasis.CONTRACT, "法定义务": LegalBasis.LEGAL_DUTY, "法定职责": LegalBasis.LEGAL_DUTY,
                "法律规定": LegalBasis.LEGAL_DUTY, **{b.value: b for b in LegalBasis}}
YES_VALUES = {"是", "有", "已同意", "同意", "yes", "y", "true", "1", "√", "✓"}
_TEXT_FIELDS = ("name", "industry", "scale", "province", "city", "district", "address", "source", "needs")
_CONTACT_TEXT = {"contact_name": "name", "contact_title": "title", "contact_wechat": "wechat"}
_MAX_LEN = {f: Customer._meta.get_field(f).max_length or 5000 for f in _TEXT_FIELDS}
_CONTACT_MAX_LEN = {f: Contact._meta.get_field(f).max_length for f in ("name", "title", "wechat", "email")}
DEFAULT_REQUIRED = {CustomerKind.ORGANIZATION: ("name",), CustomerKind.PERSON: ("name", "mobile")}


def required_fields() -> dict:
    """Fields a row must have, per customer kind (KEHU_IMPORT_REQUIRED_FIELDS overrides)."""
    return getattr(settings, "KEHU_IMPORT_REQUIRED_FIELDS", DEFAULT_REQUIRED)


class RowValidator:
    """Checks rows for one importer. ``check_chunk`` takes (row number, cells) pairs and yields
    (row number, customer row for customer_bulk_create or None, errors)."""

    def __init__(self, *, actor, columns: list[str], basis: dict | None = None):
        self.actor = actor
        # The whole file's legal basis ({"basis", "purpose"}), for rows without their own.
        self.basis = basis if basis and basis.get("basis") else None
        self.columns = [(i, f) for i, f in enumerate(columns) if f]
        self.can_assign = actor.has_kehu_perm(Perm.CUSTOMER_ASSIGN)
        self.assignable = set(customer_selectors.assignable_owner_list(actor=actor).values_list("pk", flat=True))
        self.owners: dict[str, User | str] = {}
        self.seen_uscc: dict[str, int] = {}
        self.seen_mobile: dict[str, int] = {}
        self.required = required_fields()
        # Of the last chunk checked: row number → (name, ids of possible duplicates in scope, how many others).
        self.duplicates: dict[int, tuple[str, list[int], int]] = {}

    # ------------------------------------------------------------ owners
    def _owner(self, text: str) -> tuple[User | None, str | None]:
        if not text:
            return self.actor, None
        found = self.owners.get(text)
        if found is None:
            users = list(User.objects.filter(Q(username=text) | Q(display_name=text), is_active=True)[:3])
            exact = [u for u in users if u.username == text]
            if exact:
                found = exact[0]
            elif len(users) == 1:
                found = users[0]
            else:
                found = (_("The owner “%(o)s” is not a known user.") % {"o": text} if not users else
                         _("The owner “%(o)s” matches several users; give the user name.") % {"o": text})
            self.owners[text] = found
        if isinstance(found, str):
            return None, found
        if found.pk == self.actor.pk:
            return found, None
        if found.pk not in self.assignable:
            if not self.can_assign:
                return None, _("You may only import customers you own yourself (owner “%(o)s”).") % {"o": text}
            return None, _("The owner “%(o)s” is outside your scope.") % {"o": text}
        return found, None

    # ------------------------------------------------------------ one row
    def check_row(self, number: int, cells: list) -> tuple[dict, list[str]]:
        errors: list[str] = []
        raw = {f: (cells[i] if i < len(cells) else None) for i, f in self.columns}
        # NUL and other control characters: refused like the API refuses them (PostgreSQL cannot store NUL;
        # SQLite would keep it silently). The row's values are not repeated in the message.
        controlled = [f for f, x in raw.items() if has_control(x)]
        if controlled:
            return {"kind": CustomerKind.ORGANIZATION, "uscc": "", "name": ""}, [
                _("%(f)s contains a control character (such as NUL) that cannot be stored.")
                % {"f": "、".join(_label(f) for f in controlled)}]
        v = {f: cell_text(x) for f, x in raw.items()}
        kind_text = v.get("kind", "")
        kind = KIND_VALUES.get(kind_text.lower(), None) if kind_text else CustomerKind.ORGANIZATION
        if kind is None:
            errors.append(_("Unknown customer type “%(v)s” (企业 or 个人).") % {"v": kind_text})
            kind = CustomerKind.ORGANIZATION
        row: dict = {"kind": kind}
        for f in _TEXT_FIELDS:
            text = v.get(f, "")
            if len(text) > _MAX_LEN[f]:
                errors.append(_("%(f)s is longer than %(n)d characters.") % {"f": _label(f), "n": _MAX_LEN[f]})
            row[f] = text
        stage_text = v.get("stage", "")
        if stage_text:
            stage = STAGE_VALUES.get(stage_text.lower())
            if stage is None:
                errors.append(_("Unknown lifecycle stage “%(v)s”.") % {"v": stage_text})
            else:
                row["stage"] = stage
        uscc = v.get("uscc", "")
        if uscc and kind == CustomerKind.ORGANIZATION:
            try:
                uscc = normalize_uscc(uscc)
            except InvalidValue:
                errors.append(_("The unified social credit code “%(v)s” is not valid (GB 32100-2015 check failed).")
                              % {"v": uscc})
                uscc = ""
            if uscc:
                first = self.seen_uscc.setdefault(uscc, number)
                if first != number:
                    errors.append(_("Same unified social credit code as row %(n)d.") % {"n": first})
        elif kind == CustomerKind.PERSON:
            uscc = ""
        row["uscc"] = uscc
        owner, owner_error = self._owner(v.get("owner", ""))
        if owner_error:
            errors.append(owner_error)
        row["owner"] = owner
        # Mobile: a contact's, or a person customer's own when the row names no contact.
        mobile = ""
        if v.get("contact_mobile"):
            try:
                mobile = normalize_mobile(v["contact_mobile"])
            except InvalidValue:
                # The value is not repeated: error reports and job pages show messages to every role in scope.
                errors.append(_("The mobile number is not valid."))
            if mobile:
                first = self.seen_mobile.setdefault(mobile, number)
                if first != number:
                    errors.append(_("Same mobile number as row %(n)d.") % {"n": first})
        contact_name = v.get("contact_name", "")
        person_self = kind == CustomerKind.PERSON and not contact_name
        if kind == CustomerKind.PERSON:
            row["mobile"] = mobile if person_self else ""
            if v.get("id_number"):
                try:
                    row["id_number"] = normalize_id_number(v["id_number"])
                except InvalidValue:
                    errors.append(_("The ID number is not valid."))
        for f in self.required.get(kind, ()):
            if not (row.get(f) or (f == "mobile" and mobile)):
                errors.append(_("%(f)s is required.") % {"f": _label(f)})
        contact: dict = {}
        for src, dst in _CONTACT_TEXT.items():
            text = v.get(src, "")
            if len(text) > _CONTACT_MAX_LEN[dst]:
                errors.append(_("%(f)s is longer than %(n)d characters.") % {"f": _label(src), "n": _CONTACT_MAX_LEN[dst]})
            contact[dst] = text
        email = v.get("contact_email", "")
        if email:
            try:
                validate_email(email)
                if len(email) > _CONTACT_MAX_LEN["email"]:
                    raise ValidationError("too long")
            except ValidationError:
                errors.append(_("“%(v)s” is not a valid e-mail address.") % {"v": email})
        contact["email"] = email
        contact["mobile"] = "" if person_self else mobile
        birthday = raw.get("contact_birthday")
        if birthday not in (None, "") and cell_text(birthday):
            try:
                contact["birthday"] = parse_date(birthday)
                if not dt.date(1900, 1, 1) <= contact["birthday"] <= dt.date.today():
                    raise ValueError
            except (ValueError, OverflowError):
                contact.pop("birthday", None)
                errors.append(_("“%(v)s” is not a date (2025-03-01, 2025/3/1, 2025年3月1日 or an Excel date).")
                              % {"v": cell_text(birthday)})
        if any(contact.get(k) for k in ("title", "email", "wechat", "birthday")) or (contact["mobile"] and not person_self):
            if not contact_name:
                errors.append(_("The contact's name is required when contact details are given."))
        self._legal_basis(v, row, contact if contact_name else None, errors)
        if contact_name:
            row["contacts"] = [contact]
        return row, errors

    def _legal_basis(self, v: dict, row: dict, contact: dict | None, errors: list[str]) -> None:
        """The row's legal basis (its column, else the file's) for the personal information it carries
        (PIPL 13); an ID number also needs the separate-consent column (PIPL 29)."""
        text, purpose = v.get("legal_basis", ""), v.get("basis_purpose", "")[:200]
        basis = None
        if text:
            kind = BASIS_VALUES.get(text.lower())
            if kind is None:
                errors.append(_("Unknown legal basis “%(v)s” (同意, 合同 or 法定义务).") % {"v": text})
            elif not (purpose or (self.basis and self.basis.get("purpose"))):
                errors.append(_("The purpose of the processing is required with the legal basis."))
            else:
                basis = {"basis": kind, "purpose": purpose or self.basis["purpose"], "channel": "import"}
        elif self.basis:
            basis = {"basis": self.basis["basis"], "purpose": purpose or self.basis.get("purpose", ""),
                     "channel": "import"}
        personal = bool(row.get("mobile") or row.get("id_number")) or bool(
            contact and (contact.get("mobile") or contact.get("birthday")))
        if personal and basis is None and not text:
            errors.append(_("Personal information (mobile, ID number, birthday) needs a legal basis: fill the "
                            "legal basis column or choose one for the whole file."))
        if row.get("id_number"):
            if v.get("id_number_consent", "").lower() in YES_VALUES and basis:
                row["id_number_consent"] = {"purpose": basis["purpose"], "channel": "import"}
            else:
                errors.append(_("An ID number needs the person's separate consent: mark it in the "
                                "separate-consent column."))
        if basis and personal:
            row["basis"] = basis
            if contact is not None:
                contact["basis"] = basis

    def check_chunk(self, rows: Iterable[tuple[int, list]]) -> Iterator[tuple[int, dict | None, list[str]]]:
        """Check a chunk of rows; one query for the chunk's USCCs already in the archive."""
        checked = [(n, *self.check_row(n, cells)) for n, cells in rows]
        codes = sorted({r["uscc"] for _n, r, _e in checked if r["uscc"]})
        taken: set[str] = set()
        for i in range(0, len(codes), 900):  # within any database's limit of bound parameters
            taken.update(Customer.objects.filter(uscc__in=codes[i:i + 900], deleted_at__isnull=True)
                         .values_list("uscc", flat=True))
        reserved: set[str] = set()
        for i in range(0, len(codes), 900):
            reserved.update(Customer.objects.filter(uscc__in=codes[i:i + 900], deleted_at__isnull=False,
                                                    merged_into__isnull=True, erased_at__isnull=True)
                            .values_list("uscc", flat=True))
        from kehu.qualification.blacklist.screening import blacklisted_usccs

        blacklisted = blacklisted_usccs(codes)
        for _n, row, errors in checked:
            if row["uscc"] and row["uscc"] in blacklisted:
                errors.append(_("This unified social credit code belongs to a blacklisted (disqualified) customer."))
            elif row["uscc"] and row["uscc"] in taken:
                errors.append(_("This unified social credit code is already registered."))
            elif row["uscc"] and row["uscc"] in reserved:
                errors.append(_("This unified social credit code belongs to a deleted customer: restore it "
                                "instead of importing it again."))
        self._mark_duplicates(checked)
        for n, row, errors in checked:
            yield n, (None if errors else row), errors

    def _mark_duplicates(self, checked: list) -> None:
        """Valid organisation rows whose name core an existing customer has (the same rule as customer_create;
        one indexed query per chunk): the user then chooses to skip or keep them."""
        self.duplicates = {}
        cores = {n: dedupe.name_core(row["name"]) for n, row, errors in checked
                 if not errors and row["kind"] == CustomerKind.ORGANIZATION and row["name"]}
        wanted = sorted({c for c in cores.values() if c})
        existing: dict[str, list[tuple]] = {}
        for i in range(0, len(wanted), 900):
            for pk, core, uscc, owner_id, dept_id in Customer.objects.filter(
                    name_core__in=wanted[i:i + 900], deleted_at__isnull=True, kind=CustomerKind.ORGANIZATION
            ).values_list("pk", "name_core", "uscc", "owner_id", "department_id"):
                existing.setdefault(core, []).append((pk, uscc, owner_id, dept_id))
        rows = {n: row for n, row, _e in checked}
        for n, core in cores.items():
            uscc = rows[n]["uscc"]
            matches = [m for m in existing.get(core, ()) if not (uscc and m[1] and m[1] != uscc)]
            if matches:
                mine = [pk for pk, _u, o, d in matches if in_scope(self.actor, owner_id=o, department_id=d)]
                self.duplicates[n] = (rows[n]["name"], mine[:20], len(matches) - len(mine))


def _label(f: str) -> str:
    from kehu.imports.parsing import FIELDS

    f = "contact_mobile" if f == "mobile" else f
    return str(FIELDS[f][0]) if f in FIELDS else f
