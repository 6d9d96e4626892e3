"""Importing orders and payments from CSV/XLSX (the ERP's history, a salesperson's sheet).

kehu/imports is built around customer rows (its mapping, validation and commit are the customer
archive's), so orders get this dedicated service instead, reusing kehu/imports/parsing.py's reader
(encoding detection, delimiter sniffing, XLSX streaming, Chinese date forms):

- ``dry_run=True`` reads and validates every row and reports the errors (row number, messages);
  nothing is written;
- otherwise valid rows are written in batches (``batch_size`` rows per transaction — 5,000; 20,000 on
  PostgreSQL, where each batch is validated in SQL — one bulk insert
  and one audit entry per batch), invalid rows are reported and skipped;
- resumable: a row whose ``external_id`` was already imported (same source) is skipped, so running
  the same file again after an interruption writes only what is missing.

Customers are found in the actor's scope by id (客户编号), unified social credit code or exact name.
Imported history is not checked against the payment terms (those guard new orders). A row with a control
character (NUL …) in a read cell is a row error (PostgreSQL cannot store NUL).

Orders on PostgreSQL (``_PgOrders``): each batch's cells go as text into a temporary staging table (one COPY)
and are looked up, validated and converted in SQL — the customer in scope, the plain-row rules of
``_fast_order``, the external ids already imported — and the good rows are written with one ``INSERT …
SELECT … ON CONFLICT DO NOTHING``. Rows SQL does not pass go through the general cleaning as on SQLite, for
their messages (the same as SQLite's, the dry run's the same as the commit's) or, when the general cleaning
accepts them (2026/3/1, 1,200.5, a sales rep, XLSX cells), to be written as SQLite writes them.
kehu/orders/tests/test_import_sql.py proves both paths report and write the same."""

from __future__ import annotations

import csv
import datetime as dt
import io
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
# PostgreSQL validates a batch in SQL: larger batches mean fewer per-batch statements (staging DDL, COPY, the
# checks, the foreign-key check, the audit entry) and one customers-table lock per 20,000 rows (bulk_fk).
PG_BATCH = 20_000
PG_LOCK_CUSTOMERS_AFTER = 10_000  # rows of a batch: lock the customers table (SHARE) instead of each row
ID_BLOCK = 4_096  # customer ids looked up per query
MAX_REPORTED_ERRORS = 1_000
SQL_VALIDATION = True  # orders on PostgreSQL: staged as text and validated in SQL (_PgOrders)

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


def _control_message(row: list, mapping: dict, columns: dict) -> str:
    fields = [name for name in columns if (i := mapping.get(name)) is not None and i < len(row)
              and parsing.has_control(row[i])]
    return _("%(f)s contains a control character (such as NUL) that cannot be stored.") % {"f": "、".join(fields)}


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
                 batch_size: int | None = None, source: str = Source.IMPORT) -> ImportReport:
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
    if kind == "orders" and connection.vendor == "postgresql" and SQL_VALIDATION:
        pg = _PgOrders(actor=actor, mapping=mapping, report=report, source=source, dry_run=dry_run, users=users,
                       usernames=usernames)
        rows: list[tuple[int, list]] = []
        batch_size = batch_size or PG_BATCH
        for item in parsing.iter_data_rows(Path(path), info):
            rows.append(item)
            if len(rows) >= batch_size:
                pg.batch(rows)
                rows = []
        if rows:
            pg.batch(rows)
        return report
    batch_size = batch_size or DEFAULT_BATCH
    seen_external: set[str] = set()
    batch: list[tuple[int, dict]] = []
    mapping_index = tuple(mapping.values())
    fast_index = tuple(mapping.get(name) for name in FAST_FIELDS)
    for number, row in parsing.iter_data_rows(Path(path), info):
        report.rows += 1
        errors: list[str] = []
        ext = _cell(row, mapping, "external_id") or None
        if any(parsing.has_control(row[i]) for i in mapping_index if i < len(row)):
            # NUL and the other control characters: refused as the customer import and the API refuse them
            # (PostgreSQL cannot store NUL; SQLite would keep it silently).
            if ext is not None:
                seen_external.add(ext)
            report.error_count += 1
            if len(report.errors) < MAX_REPORTED_ERRORS:
                report.errors.append({"row": number, "messages": [_control_message(row, mapping, columns)]})
            continue
        customer_id = customers.find(_cell(row, mapping, "customer_id"), _cell(row, mapping, "uscc"),
                                     _cell(row, mapping, "customer"))
        if customer_id is None:
            errors.append(_("Customer not found in your scope (or the name is ambiguous)."))
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
            bulk_fk.copy_rows(cur, table=table, cols=cols, rows=rows, staged=bulk, min_rows=BULK_FK_CHECK_AFTER)
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


# ---------------------------------------------------------------- orders on PostgreSQL: validated in SQL

# The cells staged per row, in the staging table's column order (after the row number).
STAGE_FIELDS = ("customer_id", "uscc", "customer", "external_id", "order_date", "delivered_on", "product_line",
                "quantity", "unit", "amount", "gross_margin", "channel", "sales_rep")
_STAGE = "orders_import_stage"
_CHECKED = "orders_import_checked"
_STAGE_DDL = (f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (n integer, cid text, uscc text, cname text, ext text, "
              "day text, delivered text, line text, qty text, unit text, amount text, margin text, channel text, "
              "rep text, dup boolean)")
_CHECKED_DDL = (f"CREATE TEMP TABLE IF NOT EXISTS {_CHECKED} (n integer, ext text, dup boolean, customer_id bigint, "
                "ok boolean, good boolean, existing boolean, order_date date, delivered_on date, product_line text, "
                "quantity numeric(16, 3), unit text, quantity_t numeric(16, 3), amount numeric(16, 2), "
                "gross_margin numeric(16, 2), channel text)")


def _iso_date(col: str) -> str:
    """SQL for ``dt.date.fromisoformat`` of a YYYY-MM-DD cell (ASCII digits), NULL for anything else — a
    regular expression and the month's length instead of a cast, which would abort the statement."""
    month_days = (f"EXTRACT(DAY FROM make_date(CAST(substr({col}, 1, 4) AS integer), "
                  f"CAST(substr({col}, 6, 2) AS integer), 1) + INTERVAL '1 month - 1 day')")
    return (f"CASE WHEN {col} ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' "
            f"AND substr({col}, 1, 4) <> '0000' THEN CASE WHEN CAST(substr({col}, 9, 2) AS integer) <= {month_days} "
            f"THEN CAST({col} AS date) END END")


def _mapped(col: str, words: dict[str, str], params: list) -> str:
    """SQL mapping a cell through ``words`` (NULL when it is not one of them)."""
    params.extend(x for pair in words.items() for x in pair)
    return f"(CASE {col} " + " ".join("WHEN %s THEN %s" for _w in words) + " END)"


def _scope_where(actor) -> tuple[str, list]:
    """The WHERE clause of ``customer_base(actor)`` over the unaliased customers table, with its parameters."""
    from django.core.exceptions import EmptyResultSet

    qs = customer_base(actor=actor).values("pk")
    compiler = qs.query.get_compiler(connection=connection)
    try:
        sql, params = compiler.compile(qs.query.where)
    except EmptyResultSet:
        return "false", []
    return sql or "true", list(params)


def _checked_sql(actor, source: str) -> tuple[str, list]:
    """The staged text cells of a batch → one row each in the checked table: the customer found in the actor's
    scope (by id, else USCC, else an unambiguous exact name — as ``_Customers.find``), whether the cells pass
    the plain-row rules of ``_fast_order`` (ISO dates, plain decimals, a known unit and channel, no sales rep),
    the converted values, and whether the external id is already imported from ``source``."""
    scope, scope_params = _scope_where(actor)
    params: list = []
    cid = ("CASE WHEN s.cid ~ '^[0-9]+$' AND CAST(s.cid AS numeric) BETWEEN 1 AND 9223372036854775807 "
           "THEN CAST(s.cid AS bigint) END")
    customer = (f"CASE WHEN s.cid IS NOT NULL THEN (SELECT id FROM customers_customer WHERE id = {cid} AND {scope}) "
                f"WHEN s.uscc IS NOT NULL THEN (SELECT id FROM customers_customer WHERE uscc = s.uscc AND {scope} "
                "ORDER BY name, id LIMIT 1) "
                "WHEN s.cname IS NOT NULL THEN (SELECT CASE WHEN count(*) = 1 THEN min(x.id) END FROM "
                f"(SELECT id FROM customers_customer WHERE name = s.cname AND {scope} LIMIT 2) x) END")
    params += scope_params * 3
    unit = _mapped("coalesce(s.unit, '')", _UNIT_WORDS, params)
    words = {**{c: c for c in services.CHANNELS}, **{w: c for w, c in CHANNEL_WORDS.items()
                                                       if c in services.CHANNELS}, "": "direct"}
    channel = _mapped("coalesce(s.channel, '')", words, params)
    qty_ok = r"s.qty ~ '^[0-9]{1,13}(\.[0-9]{1,3})?$'"
    amount_ok = r"s.amount ~ '^[0-9]{1,14}(\.[0-9]{1,2})?$'"
    margin_ok = r"s.margin ~ '^-?[0-9]{1,14}(\.[0-9]{1,2})?$'"
    inner = (
        f"SELECT s.n, s.ext, s.dup, {customer} AS customer_id, {_iso_date('s.day')} AS order_date, "
        f"{_iso_date('s.delivered')} AS delivered_on, s.line, s.delivered IS NOT NULL AS has_delivered, "
        f"CASE WHEN {qty_ok} THEN CAST(s.qty AS numeric(16, 3)) END AS quantity, {unit} AS unit, "
        f"CASE WHEN {amount_ok} THEN CAST(s.amount AS numeric(16, 2)) END AS amount, "
        f"s.margin IS NOT NULL AS has_margin, "
        f"CASE WHEN {margin_ok} THEN CAST(s.margin AS numeric(16, 2)) END AS gross_margin, "
        f"{channel} AS channel, s.rep IS NULL AS no_rep FROM {_STAGE} s")
    ok = ("coalesce(v.order_date IS NOT NULL AND (NOT v.has_delivered OR v.delivered_on >= v.order_date) "
          "AND v.line IS NOT NULL AND char_length(v.line) <= 100 AND v.quantity <> 0 AND v.unit IS NOT NULL "
          "AND v.amount IS NOT NULL AND (NOT v.has_margin OR v.gross_margin IS NOT NULL) "
          "AND v.channel IS NOT NULL AND v.no_rep, false)")
    # quantity_t as to_tonnes: kg → tonnes quantized to 0.001 with Decimal's default ROUND_HALF_EVEN, which
    # for q / 1000 is q rounded half-to-even to a whole number of kilograms.
    half_even = ("CASE WHEN v.quantity - trunc(v.quantity) = 0.5 AND mod(trunc(v.quantity), 2) = 0 "
                 "THEN trunc(v.quantity) ELSE round(v.quantity) END")
    sql = (
        f"INSERT INTO {_CHECKED} (n, ext, dup, customer_id, ok, good, existing, order_date, delivered_on, "
        "product_line, quantity, unit, quantity_t, amount, gross_margin, channel) "
        f"SELECT v.n, v.ext, v.dup, v.customer_id, {ok}, {ok} AND v.customer_id IS NOT NULL AND NOT v.dup, "
        # OFFSET 0 keeps this a probe of the unique index per row: unfenced, PostgreSQL hashes every order of the
        # source once per batch, and a million-row import reads its own growing orders again each batch.
        "v.ext IS NOT NULL AND EXISTS (SELECT 1 FROM orders_order o WHERE o.source = %s AND o.external_id = v.ext "
        "OFFSET 0), "
        "v.order_date, v.delivered_on, v.line, v.quantity, v.unit, "
        f"CASE v.unit WHEN 't' THEN v.quantity WHEN 'kg' THEN ({half_even}) / 1000 END, "
        f"v.amount, v.gross_margin, v.channel FROM ({inner} OFFSET 0) v")  # v computed once per row, not inlined
    return sql, [source, *params]


class _PgOrders:
    """The order import on PostgreSQL: each batch's text cells are COPYed as they are into a temporary staging
    table and looked up, validated and converted there; the good rows go into orders_order with one
    ``INSERT … SELECT … ON CONFLICT DO NOTHING``. Rows SQL does not pass are cleaned by ``_clean_order`` as on
    SQLite: for their messages, or — when the general cleaning accepts what the plain-row rules did not (a
    date as 2026/3/1, an XLSX serial date, 1,200.5, a sales rep) — to be written like SQLite writes them."""

    def __init__(self, *, actor, mapping: dict, report: ImportReport, source: str, dry_run: bool, users: dict,
                 usernames: dict):
        self.actor, self.mapping, self.report, self.source, self.dry_run = actor, mapping, report, source, dry_run
        self.users, self.usernames = users, usernames
        self.index = tuple(mapping.get(name) for name in STAGE_FIELDS)
        self.seen: set[str] = set()
        self.sql, self.params = _checked_sql(actor, source)

    def _cells(self, row: list) -> list[str] | None:
        """The row's staged cells as text, stripped; None when one holds a control character."""
        n = len(row)
        cells = [row[i] if i is not None and i < n else "" for i in self.index]
        try:
            if parsing.CONTROL.search("".join(cells)):
                return None
            cells = [c.strip() for c in cells]
        except TypeError:  # an XLSX cell (number, date): as the text the user typed
            if any(parsing.has_control(c) for c in cells):
                return None
            cells = [parsing.cell_text(c) for c in cells]
        cid = cells[0]
        if cid and not cid.isascii() and cid.isdigit():  # full-width digits: int() reads them, as find() does
            try:
                cells[0] = str(int(cid))
            except ValueError:
                pass
        if cells[1]:
            cells[1] = cells[1].upper()
        return cells

    def batch(self, rows: list[tuple[int, list]]) -> None:
        report = self.report
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        errors: list[dict] = []
        raw: dict[int, list] = {}
        for number, row in rows:
            report.rows += 1
            cells = self._cells(row)
            if cells is None:
                ext = _cell(row, self.mapping, "external_id")
                if ext:
                    self.seen.add(ext)
                errors.append({"row": number, "messages": [_control_message(row, self.mapping, ORDER_COLUMNS)]})
                continue
            ext = cells[3]
            dup = False
            if ext:
                dup = ext in self.seen
                self.seen.add(ext)
            raw[number] = row
            out.writerow((number, *cells, "t" if dup else "f"))
        with transaction.atomic(), connection.cursor() as cur:
            # The batch's statements are planned for thousands of rows: PostgreSQL would JIT-compile each one
            # (up to a second per statement, more than running it — measured with EXPLAIN ANALYZE at 5,000 rows).
            cur.execute("SET LOCAL jit = off")
            cur.execute(_STAGE_DDL)
            cur.execute(_CHECKED_DDL)
            cur.execute(f"TRUNCATE {_STAGE}, {_CHECKED}")
            with cur.cursor.copy(f"COPY {_STAGE} FROM STDIN (FORMAT csv)") as copy:
                copy.write(buf.getvalue())
            cur.execute(self.sql, self.params)
            cur.execute(f"SELECT n, customer_id, ok, dup FROM {_CHECKED} WHERE NOT good")
            rejected = cur.fetchall()
            extra: list[tuple[int, dict]] = []  # rows the general cleaning accepts
            for number, customer_id, ok, dup in rejected:
                messages = []
                if customer_id is None:
                    messages.append(_("Customer not found in your scope (or the name is ambiguous)."))
                if dup:
                    messages.append(_("The external id “%(e)s” appears twice in the file.") % {
                        "e": _cell(raw[number], self.mapping, "external_id")})
                values = None
                if not ok:
                    values, field_errors = _clean_order(raw[number], self.mapping, self.users, self.usernames)
                    for name, field_messages in field_errors.items():
                        messages.extend(f"{name}: {m}" for m in field_messages)
                if messages:
                    errors.append({"row": number, "messages": messages})
                else:
                    values.update(customer_id=customer_id, external_id=_cell(raw[number], self.mapping, "external_id") or None)
                    extra.append((number, values))
            errors.sort(key=lambda e: e["row"])
            report.error_count += len(errors)
            report.errors.extend(errors[:max(0, MAX_REPORTED_ERRORS - len(report.errors))])
            cur.execute(f"SELECT count(*), count(*) FILTER (WHERE existing) FROM {_CHECKED} WHERE good")
            good, existing = cur.fetchone()
            report.valid += good + len(extra)
            report.skipped_existing += existing
            cur.execute(f"SELECT DISTINCT k.customer_id FROM {_CHECKED} k JOIN customers_customer c "
                        "ON c.id = k.customer_id WHERE k.good AND NOT k.existing AND c.status <> 'active'")
            blocked = [r[0] for r in cur.fetchall()]
            if blocked:
                cur.execute(f"SELECT n, customer_id FROM {_CHECKED} WHERE good AND NOT existing "
                            "AND customer_id = ANY(%s) ORDER BY n", [blocked])
                refused = [(n, {"customer_id": c}) for n, c in cur.fetchall()]
                _refuse_blocked(refused, report)
            if extra:
                externals = [v["external_id"] for _n, v in extra if v["external_id"]]
                there = _existing_external_ids(Order._meta.db_table, self.source, externals) if externals else set()
                fresh = [(n, v) for n, v in extra if not v["external_id"] or v["external_id"] not in there]
                report.skipped_existing += len(extra) - len(fresh)
                extra = _refuse_blocked(fresh, report) if fresh else []
            if self.dry_run:
                return
            written = self._write(cur, blocked)
            tuples = []
            if extra:
                now = timezone.now()
                for _n, v in extra:
                    v = dict(v, source=self.source, created_by_id=self.actor.pk, created_at=now)
                    rep = v.get("sales_rep")
                    v["sales_rep_id"] = rep.pk if rep else None
                    tuples.append(tuple(v.get(c) for c in ORDER_INSERT))
                _insert(Order._meta.db_table, list(ORDER_INSERT), tuples)
            first, last, count = written
            numbers = [n for n in (first, last) if n is not None] + [n for n, _v in extra]
            if not count and not tuples:
                return
            audit_record(actor=self.actor, action="order.import", object_type=Order._meta.label_lower,
                         object_repr=_("%(n)d rows imported") % {"n": count + len(tuples)},
                         changes={"rows": count + len(tuples), "first_row": min(numbers), "last_row": max(numbers),
                                  "source": self.source})
        report.written += count + len(tuples)
        report.batches += 1

    def _write(self, cur, blocked: list[int]) -> tuple[int | None, int | None, int]:
        """The good rows that are neither imported already nor of a refused customer, in file order."""
        where = "good AND NOT existing" + (" AND customer_id <> ALL(%s)" if blocked else "")
        args = [blocked] if blocked else []
        cur.execute(f"SELECT min(n), max(n), count(*) FROM {_CHECKED} WHERE {where}", args)
        first, last, rows = cur.fetchone()
        if not rows:
            return None, None, 0
        cols = ", ".join(ORDER_INSERT)
        insert = (f"INSERT INTO orders_order ({cols}) SELECT customer_id, ext, %s, order_date, delivered_on, "
                  "product_line, quantity, unit, quantity_t, amount, 'CNY', gross_margin, channel, NULL, %s, %s "
                  f"FROM {_CHECKED} WHERE {where} ORDER BY n ON CONFLICT (source, external_id) DO NOTHING")
        args = [self.source, timezone.now(), self.actor.pk, *args]
        with bulk_fk.foreign_keys_checked(
                cur, stage=_CHECKED, rows=rows, min_rows=BULK_FK_CHECK_AFTER,
                lock_tables=frozenset({"customers_customer"}), lock_after=PG_LOCK_CUSTOMERS_AFTER,
                targets=[bulk_fk.Target("orders_order", staged={"customer_id": "customer_id"},
                                        values={"created_by_id": self.actor.pk})]):
            cur.execute(insert, args)
            written = cur.rowcount  # before the context's own statements reset it
        self.report.skipped_existing += rows - written  # imported meanwhile by another import of the file
        return first, last, written
