"""Reading import files, ORM-free: CSV (encoding detected strictly, delimiter sniffed) and XLSX (openpyxl
read-only, streamed); header → field mapping; the date forms Chinese sheets use."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.errors import Invalid
from kehu.imports.storage import open_binary, open_text

XLSX_MAGIC = b"PK\x03\x04"
CHUNK = 1 << 20
DELIMITERS = (",", "\t", ";")

# field key → (label, header aliases). The aliases are compared after _norm_header (lower case, no
# spaces, no "*" / "(必填)" decorations, full-width brackets folded).
FIELDS: dict[str, tuple] = {
    "name": (gettext_lazy("Customer name"), ("客户名称", "公司名称", "企业名称", "单位名称", "名称", "客户",
                                             "customername", "name", "company", "companyname")),
    "kind": (gettext_lazy("Customer type"), ("客户类型", "类型", "客户类别", "kind", "type", "customertype")),
    "uscc": (gettext_lazy("Unified social credit code"), ("统一社会信用代码", "信用代码", "社会信用代码",
                                                         "uscc", "creditcode")),
    "industry": (gettext_lazy("Industry"), ("行业", "所属行业", "industry")),
    "scale": (gettext_lazy("Scale"), ("规模", "企业规模", "scale", "size")),
    "province": (gettext_lazy("Province"), ("省份", "省", "所在省份", "province")),
    "city": (gettext_lazy("City"), ("城市", "市", "所在城市", "city")),
    "district": (gettext_lazy("District"), ("区县", "区/县", "区", "县", "district")),
    "address": (gettext_lazy("Address"), ("地址", "详细地址", "通讯地址", "address")),
    "source": (gettext_lazy("Source channel"), ("客户来源", "来源", "来源渠道", "source")),
    "stage": (gettext_lazy("Lifecycle stage"), ("阶段", "客户阶段", "合作阶段", "stage")),
    "owner": (gettext_lazy("Owner"), ("负责人", "客户经理", "所属客户经理", "销售员", "owner")),
    "id_number": (gettext_lazy("ID number"), ("身份证号", "身份证号码", "idnumber")),
    "needs": (gettext_lazy("Business needs"), ("业务需求", "需求", "needs")),
    "contact_name": (gettext_lazy("Contact name"), ("联系人", "联系人姓名", "contact", "contactname")),
    "contact_title": (gettext_lazy("Contact title"), ("职务", "职位", "联系人职务", "title")),
    "contact_mobile": (gettext_lazy("Mobile"), ("手机", "手机号", "手机号码", "联系电话", "联系人手机", "电话",
                                               "mobile", "phone")),
    "contact_email": (gettext_lazy("Email"), ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail")),
    "contact_wechat": (gettext_lazy("WeChat ID"), ("微信", "微信号", "wechat")),
    "contact_birthday": (gettext_lazy("Contact birthday"), ("生日", "出生日期", "联系人生日", "birthday")),
    # The legal basis of the row's personal information (PIPL 13), instead of one chosen for the whole file.
    "legal_basis": (gettext_lazy("Legal basis"), ("法律依据", "处理依据", "合法性基础", "授权依据", "legalbasis", "basis")),
    "basis_purpose": (gettext_lazy("Purpose of the processing"), ("处理目的", "使用目的", "收集目的", "purpose")),
    "id_number_consent": (gettext_lazy("Separate consent to the ID number"),
                          ("身份证单独同意", "单独同意", "身份证授权", "idnumberconsent", "idconsent")),
}

_DECORATIONS = re.compile(r"[\s*＊:：]|[(（]\s*(必填|选填|required|optional)\s*[)）]")


def _norm_header(text: str) -> str:
    return _DECORATIONS.sub("", str(text or "")).replace("（", "(").replace("）", ")").lower()


_ALIASES = {_norm_header(a): key for key, (_label, aliases) in FIELDS.items() for a in aliases}


def auto_mapping(headers: list[str], saved: dict[str, str] | None = None) -> list[str]:
    """The field of each column ('' = ignored): a saved mapping (by header text) first, then the aliases;
    a field is taken by its first column only."""
    saved = {_norm_header(k): v for k, v in (saved or {}).items()}
    used: set[str] = set()
    result = []
    for h in headers:
        key = _norm_header(h)
        f = saved.get(key) if key in saved else _ALIASES.get(key, "")
        if f and (f not in FIELDS or f in used):
            f = ""
        used.add(f)
        result.append(f or "")
    return result


def check_mapping(columns: list[str], n_headers: int) -> list[str]:
    """A user's mapping (one field key or '' per column): known keys, each once, the name mapped."""
    if len(columns) != n_headers:
        raise Invalid(_("The mapping must name a field (or nothing) for each of the %(n)d columns.") % {"n": n_headers},
                      fields={"columns": [_("Wrong number of columns.")]})
    seen: set[str] = set()
    for f in columns:
        if not f:
            continue
        if f not in FIELDS:
            raise Invalid(_("Unknown field “%(f)s”.") % {"f": f}, fields={"columns": [_("Unknown field.")]})
        if f in seen:
            raise Invalid(_("The field “%(f)s” is mapped to two columns.") % {"f": FIELDS[f][0]},
                          fields={"columns": [_("Each field at most once.")]})
        seen.add(f)
    if "name" not in seen:
        raise Invalid(_("Map a column to the customer name."), fields={"columns": [_("The name is required.")]})
    return list(columns)


# ---------------------------------------------------------------- file kinds and encodings

@dataclass
class FileInfo:
    format: str  # "csv" | "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    preview: list[list[str]] = field(default_factory=list)


def detect_format(path: Path, file_name: str) -> str:
    with open_binary(path) as fh:
        head = fh.read(4)
    if head == XLSX_MAGIC or file_name.lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    return "csv"


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' when the whole file is valid UTF-8 (with or without BOM), else 'gb18030' when it is
    valid GB18030 (a superset of GBK and GB2312); anything else is refused — never a lossy guess."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            with open_binary(path) as fh:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise Invalid(_("The file's text encoding is not recognised: save it as UTF-8 or GBK/GB18030 CSV, or as XLSX."),
                  fields={"file": [_("Undecodable bytes.")]}, code="bad_encoding")


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the order comma, tab, semicolon
    return best if counts[best] else ","


# ---------------------------------------------------------------- rows

# Characters no cell may hold: NUL (PostgreSQL cannot store it; the API refuses it with 400) and the other
# C0 controls except tab, line feed and carriage return (no spreadsheet cell holds them; XLSX cannot).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control(value) -> bool:
    return isinstance(value, str) and CONTROL.search(value) is not None


def visible(text: str) -> str:
    """Text with its control characters replaced by U+FFFD (for headers and previews shown to the user)."""
    return CONTROL.sub("\ufffd", text) if isinstance(text, str) else text


def cell_text(value) -> str:
    """A cell as the text the user typed: 13812345678.0 → '13812345678', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _open_xlsx(path: Path):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    fh = open_binary(path)  # closed by iter_rows; a file object: no check of the name's suffix
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        return fh, wb, ws.iter_rows(values_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, IndexError, TypeError) as exc:
        fh.close()
        raise Invalid(_("The XLSX file is damaged or not a spreadsheet: %(e)s") % {"e": str(exc)[:200]},
                      fields={"file": [_("Cannot be read as XLSX.")]}, code="bad_xlsx") from exc


def iter_rows(path: Path, info: FileInfo) -> Iterator[list]:
    """Every row of the file, header included, as lists of raw cell values (strings for CSV)."""
    if info.format == "xlsx":
        fh, wb, rows = _open_xlsx(path)
        try:
            for row in rows:
                yield list(row)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
            raise Invalid(_("The XLSX file is damaged or not a spreadsheet: %(e)s") % {"e": str(exc)[:200]},
                          fields={"file": [_("Cannot be read as XLSX.")]}, code="bad_xlsx") from exc
        finally:
            wb.close()
            fh.close()
        return
    with open_text(path, info.encoding) as fh:
        try:
            yield from csv.reader(fh, delimiter=info.delimiter)
        except csv.Error as exc:
            raise Invalid(_("The CSV file cannot be read: %(e)s") % {"e": exc},
                          fields={"file": [_("Malformed CSV.")]}, code="bad_csv") from exc


def iter_data_rows(path: Path, info: FileInfo) -> Iterator[tuple[int, list]]:
    """(row number in the sheet, counting the header as 1, raw cells) for each non-blank data row."""
    rows = iter_rows(path, info)
    next(rows, None)
    for number, row in enumerate(rows, start=2):
        if any(v not in (None, "") and (not isinstance(v, str) or v.strip()) for v in row):
            yield number, row


def inspect(path: Path, file_name: str, *, preview_rows: int = 5) -> FileInfo:
    """Format, encoding, delimiter, header and the first rows of an uploaded file (422 if unreadable)."""
    info = FileInfo(format=detect_format(path, file_name))
    if info.format == "csv":
        info.encoding = detect_encoding(path)
        with open_text(path, info.encoding) as fh:
            first = fh.readline()
        info.delimiter = sniff_delimiter(first)
    rows = iter_rows(path, info)
    try:
        header = next(rows, None)
        if header is None or not any(cell_text(v) for v in header):
            raise Invalid(_("The file is empty or its first row (the column headers) is blank."),
                          fields={"file": [_("No header row.")]}, code="no_header")
        info.headers = [cell_text(v) for v in header]
        while info.headers and not info.headers[-1]:
            info.headers.pop()
        for row in rows:
            if len(info.preview) >= preview_rows:
                break
            if any(cell_text(v) for v in row):
                info.preview.append([cell_text(v) for v in row[:len(info.headers)]])
    finally:
        rows.close()
    return info


# ---------------------------------------------------------------- dates

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, counting Excel's phantom 1900-02-29


def parse_date(value) -> dt.date:
    """2025-03-01, 2025/3/1, 2025年3月1日, 2025.3.1, 20250301, an Excel serial number, or a date cell."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(value)
    text = str(value).strip()
    m = _DATE.fullmatch(text)
    if m is None:
        m = _COMPACT.fullmatch(text)
    if m is not None:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    if re.fullmatch(r"\d{1,5}(\.\d+)?", text):
        return _from_serial(float(text))
    raise ValueError(text)


def _from_serial(number: float) -> dt.date:
    if not 1 <= number < 2958466:  # 9999-12-31
        raise ValueError(number)
    return EXCEL_EPOCH + dt.timedelta(days=int(number))
