"""Importing orders and payments from CSV/XLSX (the ERP's history, a salesperson's sheet).

kehu/imports is built around customer rows (its mapping, validation and commit are the customer
archive's), so orders get this dedicated service instead, reusing kehu/imports/parsing.py's reader
(encoding detection, delimiter sniffing, XLSX streaming, Chinese date forms):

- ``dry_run=True`` reads and validates every row and reports the errors (row number, messages);
  nothing is written;
- otherwise valid rows are written in batches (``batch_size`` rows per transaction, one bulk insert
  and one audit entry per batch), invalid rows are reported and skipped;
- resumable: a row whose ``external_id`` was already imported (same source) is skipped, so running
  the same file again after an interruption writes only what is missing.

Customers are found in the actor's scope by id (客户编号), unified social credit code or exact name.
Imported history is not checked against the payment terms (those guard new orders)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu import bulk_fk
from kehu.access.models import User
from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.customers.gates import Action, blocked_ids, refusal
from kehu.customers.models import Customer
from kehu.customers.selectors import customer_base
from kehu.errors import Forbidden, Invalid
from kehu.imports import parsing
from kehu.orders import services
from kehu.orders.models import Order, Payment, Source, to_tonnes

DEFAULT_BATCH = 5_000
ID_BLOCK = 4_096  # customer ids looked up per query
MAX_REPORTED_ERRORS = 1_000

# field → header aliases (compared lower-case without spaces and decorations)
ORDER_COLUMNS = {
    "customer_id": ("客户编号", "客户id", "customerid", "customer_id"),
    "customer": ("客户名称", "客户", "公司名称", "customer", "customername"),
    "uscc": ("统一社会信用代码", "信用代码", "uscc"),
    "external_id": ("订单号", "订单编号", "外部编号", "单号", "externalid", "external_id", "orderno"),
    "order_date": ("订单日期", "下单日期", "日期", "orderdate", "order_date", "date"),
    "delivered_on": ("发货日期", "交货日期", "提货日期", "deliveredon", "delivered_on"),
    "product_line": ("产品线", "产品", "品种", "productline", "product_line", "product"),
    "quantity": ("数量", "提货量", "quantity", "qty"),
    "unit": ("单位", "unit"),
    "amount": ("金额", "订单金额", "含税金额", "amount"),
    "gross_margin": ("毛利", "毛利额", "grossmargin", "gross_margin", "margin"),
    "channel": ("渠道", "销售渠道", "channel"),
    "sales_rep": ("业务员", "销售代表", "salesrep", "sales_rep"),
}
PAYMENT_COLUMNS = {
    "customer_id": ORDER_COLUMNS["customer_id"],
    "customer": ORDER_COLUMNS["customer"],
    "uscc": ORDER_COLUMNS["uscc"],
    "external_id": ("回款单号", "单号", "外部编号", "externalid", "external_id"),
    "order_external_id": ("订单号", "订单编号", "orderexternalid", "order_external_id"),
    "due_date": ("应收日期", "到期日", "应付日期", "duedate", "due_date"),
    "paid_date": ("回款日期", "付款日期", "实收日期", "paiddate", "paid_date"),
    "amount": ("金额", "回款金额", "应收金额", "amount"),
}
CHANNEL_WORDS = {"直销": "direct", "代理": "agent", "代理商": "agent", "独家代理": "agent", "经销": "dealer",
                 "经销商": "dealer", "网拍": "online", "网上": "online", "线上": "online", "其他": "other"}


def _norm(text: str) -> str:
    return re.sub(r"[\s*＊:：]|[(（]\s*(必填|选填)\s*[)）]", "", str(text)).lower()


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: int = 0
    valid: int = 0
    written: int = 0
    skipped_existing: int = 0
    batches: int = 0
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("kind", "dry_run", "rows", "valid", "written", "skipped_existing",
                                              "batches", "error_count", "errors")}


def _mapping(headers: list[str], columns: dict) -> dict[str, int]:
    aliases = {_norm(a): key for key, names in columns.items() for a in names}
    found: dict[str, int] = {}
    for i, h in enumerate(headers):
        key = aliases.get(_norm(h))
        if key and key not in found:
            found[key] = i
    return found


class _Customers:
    """Customer lookups in the actor's scope, cached per file (one query per distinct key)."""

    def __init__(self, actor):
        self.base = customer_base(actor=actor)
        self.cache: dict[tuple[str, str], int | None] = {}
        self.ids: dict[int, bool] = {}

    def find(self, cid: str, uscc: str, name: str) -> int | None:
        if cid:
            pk = int(cid) if cid.isdigit() and 0 < int(cid) < 2**63 else None
            if pk is None:
                return None
            if pk not in self.ids:
                # One query for the block of ids around it: files list customers by id in runs.
                low = pk - pk % ID_BLOCK
                found = set(self.base.filter(pk__gte=low, pk__lt=low + ID_BLOCK).values_list("pk", flat=True))
                self.ids.update({i: i in found for i in range(low, low + ID_BLOCK)})
            return pk if self.ids[pk] else None
        if uscc:
            key = ("uscc", uscc.upper())
            if key not in self.cache:
                self.cache[key] = self.base.filter(uscc=uscc.upper()).values_list("pk", flat=True).first()
            return self.cache[key]
        if name:
            key = ("name", name)
            if key not in self.cache:
                pks = list(self.base.filter(name=name).values_list("pk", flat=True)[:2])
                self.cache[key] = pks[0] if len(pks) == 1 else None
            return self.cache[key]
        return None


def _cell(row: list, mapping: dict, name: str) -> str:
    i = mapping.get(name)
    return parsing.cell_text(row[i]) if i is not None and i < len(row) else ""


FAST_FIELDS = ("order_date", "delivered_on", "product_line", "quantity", "unit", "amount", "gross_margin", "channel",
               "sales_rep")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_QUANTITY = re.compile(r"\d{1,13}(?:\.\d{1,3})?")  # ≤ MAX_QUANTITY, ≤ 3 places
_AMOUNT = re.compile(r"\d{1,14}(?:\.\d{1,2})?")  # ≤ MAX_AMOUNT, ≤ 2 places, ≥ 0
_MARGIN = re.compile(r"-?\d{1,14}(?:\.\d{1,2})?")
_UNIT_WORDS = {"": "t", "t": "t", "kg": "kg", "piece": "piece", "吨": "t", "千克": "kg", "公斤": "kg", "件": "piece"}


def _fast_order(row: list, index: tuple) -> dict | None:
    """What ``services.clean_order`` returns for a plain text row — ISO dates, plain decimals, a known unit and
    channel, no sales rep — in a few checks instead of the general cleaning; None for any other row (the
    general path then decides and words the errors). kehu/orders/tests/test_import_fast.py proves both agree."""
    n = len(row)
    try:
        cells = [row[i].strip() if i is not None and i < n else "" for i in index]
    except AttributeError:  # an XLSX cell (number, date): the general path
        return None
    day, delivered, line, quantity, unit, amount, margin, channel, rep = cells
    if rep or not line or len(line) > 100 or not _ISO_DATE.fullmatch(day) or not _QUANTITY.fullmatch(quantity) \
            or not _AMOUNT.fullmatch(amount) or (margin and not _MARGIN.fullmatch(margin)) \
            or (delivered and not _ISO_DATE.fullmatch(delivered)):
        return None
    unit = _UNIT_WORDS.get(unit)
    channel = CHANNEL_WORDS.get(channel, channel) or "direct"
    if unit is None or channel not in services.CHANNELS:
        return None
    try:
        order_date = dt.date.fromisoformat(day)
        delivered_on = dt.date.fromisoformat(delivered) if delivered else None
    except ValueError:
        return None
    if delivered_on is not None and delivered_on < order_date:
        return None
    q = Decimal(quantity)
    if not q:
        return None
    return {"order_date": order_date, "delivered_on": delivered_on, "product_line": line, "quantity": q,
            "unit": unit, "amount": Decimal(amount), "currency": "CNY",
            "gross_margin": Decimal(margin) if margin else None, "channel": channel, "sales_rep": None,
            "quantity_t": to_tonnes(q, unit)}


def _date_cell(row: list, mapping: dict, name: str):
    i = mapping.get(name)
    value = row[i] if i is not None and i < len(row) else None
    if value in (None, ""):
        return None
    try:
        return parsing.parse_date(value)
    except (ValueError, OverflowError):
        return str(value)  # the service's cleaning reports it


def order_import(*, actor, path: Path, file_name: str, kind: str = "orders", dry_run: bool = True,
                 batch_size: int = DEFAULT_BATCH, source: str = Source.IMPORT) -> ImportReport:
    """Validate (dry run) or import the orders or payments of a CSV/XLSX file; see the module doc."""
    need = Perm.ORDER_WRITE if kind == "orders" else Perm.PAYMENT_WRITE
    if kind not in ("orders", "payments"):
        raise Invalid(_("Import orders or payments."), fields={"kind": [_("Unknown kind.")]})
    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(need):
        raise Forbidden(_("You are not allowed to do this."))
    info = parsing.inspect(Path(path), file_name, preview_rows=0)
    columns = ORDER_COLUMNS if kind == "orders" else PAYMENT_COLUMNS
    mapping = _mapping(info.headers, columns)
    required = ("order_date", "product_line", "quantity", "amount") if kind == "orders" else ("amount",)
    missing = [c for c in required if c not in mapping]
    if not ({"customer_id", "customer", "uscc"} & set(mapping)):
        missing.append("customer")
    if missing:
        raise Invalid(_("Columns missing: %(c)s.") % {"c": ", ".join(missing)},
                      fields={"file": [_("Columns missing: %(c)s.") % {"c": ", ".join(missing)}]}, code="bad_columns")
    report = ImportReport(kind=kind, dry_run=dry_run)
    customers = _Customers(actor)
    users = {u.pk: u for u in User.objects.filter(is_active=True)} if "sales_rep" in mapping else {}
    usernames = {u.username: u.pk for u in users.values()}
    seen_external: set[str] = set()
    batch: list[tuple[int, dict]] = []
    fast_index = tuple(mapping.get(name) for name in FAST_FIELDS)
    for number, row in parsing.iter_data_rows(Path(path), info):
        report.rows += 1
        errors: list[str] = []
        customer_id = customers.find(_cell(row, mapping, "customer_id"), _cell(row, mapping, "uscc"),
                                     _cell(row, mapping, "customer"))
        if customer_id is None:
            errors.append(_("Customer not found in your scope (or the name is ambiguous)."))
        ext = _cell(row, mapping, "external_id") or None
        if ext is not None:
            if ext in seen_external:
                errors.append(_("The external id “%(e)s” appears twice in the file.") % {"e": ext})
            seen_external.add(ext)
        values = _fast_order(row, fast_index) if kind == "orders" else None
        if values is not None:
            field_errors = {}
        elif kind == "orders":
            values, field_errors = _clean_order(row, mapping, users, usernames)
        else:
            values, field_errors = _clean_payment(row, mapping)
        for name, messages in field_errors.items():
            errors.extend(f"{name}: {m}" for m in messages)
        if errors:
            report.error_count += 1
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append({"row": number, "messages": errors})
            continue
        report.valid += 1
        values.update(customer_id=customer_id, external_id=ext)
        batch.append((number, values))
        if len(batch) >= batch_size:
            _flush(actor, kind, batch, report, source, dry_run)
            batch = []
    if batch:
        _flush(actor, kind, batch, report, source, dry_run)
    return report


def _clean_order(row: list, mapping: dict, users: dict, usernames: dict) -> tuple[dict, dict]:
    """The general path: the row's cells as the order service reads them, cleaned by it."""
    rep = _cell(row, mapping, "sales_rep")
    data = {"order_date": _date_cell(row, mapping, "order_date"),
            "delivered_on": _date_cell(row, mapping, "delivered_on"),
            "product_line": _cell(row, mapping, "product_line"),
            "quantity": _cell(row, mapping, "quantity"), "unit": _cell(row, mapping, "unit") or "t",
            "amount": _cell(row, mapping, "amount"), "gross_margin": _cell(row, mapping, "gross_margin"),
            "channel": CHANNEL_WORDS.get(_cell(row, mapping, "channel"), _cell(row, mapping, "channel")),
            "sales_rep": usernames.get(rep, rep) if rep else None}
    return services.clean_order(data, users=users)


def _clean_payment(row: list, mapping: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    data = {"due_date": _date_cell(row, mapping, "due_date"), "paid_date": _date_cell(row, mapping, "paid_date"),
            "amount": _cell(row, mapping, "amount")}
    values = {"due_date": services._date(data, "due_date", errors, required=True),
              "paid_date": services._date(data, "paid_date", errors, required=False),
              "amount": services._decimal(data, "amount", errors, required=True, places=2,
                                          maximum=services.MAX_AMOUNT, minimum=services.Decimal(0),
                                          strict_minimum=True),
              "order_external_id": _cell(row, mapping, "order_external_id") or None}
    return values, errors


ORDER_INSERT = ("customer_id", "external_id", "source", "order_date", "delivered_on", "product_line", "quantity",
                "unit", "quantity_t", "amount", "currency", "gross_margin", "channel", "sales_rep_id", "created_at",
                "created_by_id")
PAYMENT_INSERT = ("customer_id", "order_id", "external_id", "source", "due_date", "paid_date", "amount", "currency",
                  "created_at", "created_by_id")


BULK_FK_CHECK_AFTER = 1000  # rows of a batch; see kehu.bulk_fk


def _insert(table: str, cols: list[str], rows: list[tuple]) -> None:
    """The batch's rows, already validated, in one statement stream: COPY on PostgreSQL, executemany on
    SQLite (the ORM's bulk_create spends most of an import's time preparing values it need not)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            bulk = bulk_fk.available(cur, tables=[table], rows=len(rows), min_rows=BULK_FK_CHECK_AFTER)
            # With the foreign keys checked once per batch (kehu.bulk_fk) the rows go through a staging
            # table; otherwise straight in, each checked by its constraints at COMMIT.
            target = f"{table}_stage" if bulk else table
            if bulk:
                cur.execute(f"CREATE TEMP TABLE {target} ON COMMIT DROP AS SELECT {', '.join(cols)} FROM {table} "
                            "WITH NO DATA")
            with cur.cursor.copy(f"COPY {target} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if bulk:
                with bulk_fk.foreign_keys_checked(cur, stage=target, rows=len(rows), min_rows=BULK_FK_CHECK_AFTER,
                                                  targets=[bulk_fk.Target(table, staged={c: c for c in cols})],
                                                  known_available=True):
                    cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {target}")
                cur.execute(f"DROP TABLE {target}")
            return
        i = cols.index("created_at")
        stamp = connection.ops.adapt_datetimefield_value(rows[0][i]) if rows else None
        rows = [r[:i] + (stamp,) + r[i + 1:] for r in rows]
        cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})", rows)


def _existing_external_ids(table: str, source: str, externals: list[str]) -> set[str]:
    """Which of a batch's external ids (≤ batch size) are already imported from ``source``: one indexed
    query on (source, external_id); plain SQL because the ORM's ``__in`` prepares thousands of parameters
    one by one (a fifth of a PostgreSQL commit's time in the profile)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"SELECT external_id FROM {table} WHERE source = %s AND external_id = ANY(%s)",
                        [source, externals])
        else:
            cur.execute(f"SELECT external_id FROM {table} WHERE source = %s AND external_id IN "
                        f"({', '.join(['%s'] * len(externals))})", [source, *externals])
        return {row[0] for row in cur.fetchall()}


def _refuse_blocked(rows: list[tuple[int, dict]], report: ImportReport) -> list[tuple[int, dict]]:
    """Rows of customers business is refused for (pending admission, suspended, disqualified) become row
    errors naming the reason; one query for the batch (kehu.customers.gates.blocked_ids)."""
    blocked = blocked_ids(v["customer_id"] for _n, v in rows)
    if not blocked:
        return rows
    reasons: dict[int, str] = {}
    for customer in Customer.objects.filter(pk__in=list(blocked)):
        err = refusal(customer, Action.ORDER)
        reasons[customer.pk] = str(err.message) if err is not None else blocked[customer.pk]
    kept = []
    for number, values in rows:
        cid = values["customer_id"]
        if cid not in blocked:
            kept.append((number, values))
            continue
        report.valid -= 1
        report.error_count += 1
        if len(report.errors) < MAX_REPORTED_ERRORS:
            report.errors.append({"row": number, "messages": [reasons.get(cid) or blocked[cid]],
                                  "code": f"customer_{blocked[cid]}"})
    return kept


def _flush(actor, kind: str, batch: list[tuple[int, dict]], report: ImportReport, source: str,
           dry_run: bool) -> None:
    model = Order if kind == "orders" else Payment
    externals = [v["external_id"] for _n, v in batch if v["external_id"]]
    existing = _existing_external_ids(model._meta.db_table, source, externals) if externals else set()
    fresh = [(n, v) for n, v in batch if not v["external_id"] or v["external_id"] not in existing]
    report.skipped_existing += len(batch) - len(fresh)
    if kind == "orders" and fresh:
        fresh = _refuse_blocked(fresh, report)
    if dry_run or not fresh:
        return
    order_ids: dict[str, int] = {}
    if kind == "payments":
        refs = {v["order_external_id"] for _n, v in fresh if v.get("order_external_id")}
        if refs:
            order_ids = dict(Order.objects.filter(external_id__in=refs).values_list("external_id", "pk"))
    now = timezone.now()
    cols = list(ORDER_INSERT if kind == "orders" else PAYMENT_INSERT)
    rows = []
    for _n, v in fresh:
        v = dict(v, source=source, created_by_id=actor.pk, created_at=now)
        v.setdefault("currency", "CNY")
        if kind == "payments":
            ref = v.pop("order_external_id", None)
            v["order_id"] = order_ids.get(ref) if ref else None
        else:
            rep = v.get("sales_rep")
            v["sales_rep_id"] = rep.pk if rep else None
        rows.append(tuple(v.get(c) for c in cols))
    with transaction.atomic():
        _insert(model._meta.db_table, cols, rows)
        audit_record(actor=actor, action=f"{kind[:-1]}.import", object_type=model._meta.label_lower,
                     object_repr=_("%(n)d rows imported") % {"n": len(rows)},
                     changes={"rows": len(rows), "first_row": fresh[0][0], "last_row": fresh[-1][0],
                              "source": source})
    report.written += len(rows)
    report.batches += 1
