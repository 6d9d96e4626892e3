"""Import previews, error reports and messages masked by the archive's rules (信息分级): the columns mapped to a
sensitive field (mobile, ID number, birthday — kehu.customers.models.SENSITIVE_FIELDS) go through the archive's
own maskers (kehu.access.protection), and mobiles and ID numbers found anywhere else in a cell or a message
(an unmapped "备用电话" column, a note) are masked the same way. Clear values only through an explicit,
audited reveal by a role that reads the field's level, as for the archive's reveal and the export's."""

from __future__ import annotations

import re

from kehu.access import protection
from kehu.customers.models import SENSITIVE_FIELDS

# import column field → the archive's field whose sensitivity and mask it takes
ARCHIVE_FIELD = {"contact_mobile": "mobile", "id_number": "id_number", "contact_birthday": "birthday"}
MASKERS = {"mobile": protection.mask_mobile, "id_number": protection.mask_id_number,
           "birthday": protection.mask_date, "traits": protection.mask_text}
# Columns whose values are business identifiers, never a person's: left as they are.
PLAIN_COLUMNS = {"uscc"}

_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9A-Za-z])")
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def mask_free_text(text: str) -> str:
    """Mobiles and ID numbers inside any text, masked with the archive's maskers."""
    if not text or not isinstance(text, str):
        return text
    text = _ID.sub(lambda m: protection.mask_id_number(m[1]), text)
    return _MOBILE.sub(lambda m: protection.mask_mobile(m[1] + m[2] + m[3]), text)


def mask_cell(field: str, value: str) -> str:
    archive = ARCHIVE_FIELD.get(field)
    if archive is not None and value:
        return MASKERS[archive](value)
    if field in PLAIN_COLUMNS:
        return value
    return mask_free_text(value)


def sensitive_level():
    """The highest level among the fields an import file can carry: the level a role needs to reveal a row."""
    return max(SENSITIVE_FIELDS[f] for f in ARCHIVE_FIELD.values())


def mask_row(columns: list[str], cells: list[str]) -> list[str]:
    """One row of a file (as text), each cell masked by the field its column is mapped to."""
    return [mask_cell(columns[i] if i < len(columns) else "", c) for i, c in enumerate(cells)]


def mask_rows(columns: list[str], rows: list[list[str]]) -> list[list[str]]:
    return [mask_row(columns, r) for r in rows]


def mask_messages(messages: list[str]) -> list[str]:
    return [mask_free_text(m) for m in messages]
