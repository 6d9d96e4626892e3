"""What makes a customer record need review (定期复核): the rule table in one place, ORM-light.

* stale — not updated, and not confirmed current, for ``KEHU_REVIEW_STALE_MONTHS`` months;
* incomplete — a field required for its kind is empty (REQUIRED_FIELDS);
* invalid — a stored value fails today's validation (USCC check digit, mobile number), which older
  data imported around the services can carry."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kehu.access import protection
from kehu.customers.models import CustomerKind
from kehu.customers.validation import InvalidValue, normalize_mobile, normalize_uscc

# Fields each kind of customer must have (标准化存储: 字段完整). Keys are the names users see; the
# column to test for emptiness is FIELD_COLUMNS[name] when it differs.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    CustomerKind.ORGANIZATION: ("uscc", "industry", "city", "address"),
    CustomerKind.PERSON: ("mobile", "city"),
}
FIELD_COLUMNS = {"mobile": "mobile_enc"}
FIELD_LABELS = {"uscc": _("Unified social credit code"), "industry": _("Industry"), "city": _("City"),
                "address": _("Address"), "mobile": _("Mobile")}
# The columns a scan reads for these rules.
COLUMNS = ("id", "kind", "owner_id", "department_id", "updated_at", "uscc", "industry", "city", "address",
           "mobile_enc")


def stale_months() -> int:
    return int(getattr(settings, "KEHU_REVIEW_STALE_MONTHS", 12))


def due_working_days() -> int:
    return int(getattr(settings, "KEHU_REVIEW_DUE_WORKING_DAYS", 14))


def months_before(at: dt.datetime, months: int) -> dt.datetime:
    """``at`` moved back by calendar months (31 March − 1 month = 28/29 February)."""
    year, month = divmod(at.month - 1 - months, 12)
    year += at.year
    month += 1
    for day in (at.day, 30, 29, 28):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError("unreachable")


def missing_fields(row: dict) -> list[str]:
    """The required fields of ``row`` (a dict of COLUMNS) that are empty."""
    return [f for f in REQUIRED_FIELDS.get(row["kind"], ()) if not row.get(FIELD_COLUMNS.get(f, f))]


def invalid_fields(row: dict) -> list[str]:
    """The stored values of ``row`` that today's validation refuses."""
    bad = []
    if row["kind"] == CustomerKind.ORGANIZATION and row.get("uscc"):
        try:
            normalize_uscc(row["uscc"])
        except InvalidValue:
            bad.append("uscc")
    if row["kind"] == CustomerKind.PERSON and row.get("mobile_enc"):
        try:
            normalize_mobile(protection.decrypt(row["mobile_enc"]))
        except InvalidValue:
            bad.append("mobile")
    return bad


def field_labels(names: list[str]) -> str:
    return "、".join(str(FIELD_LABELS.get(n, n)) for n in names)
