"""What every grading kind shares: the input shapes, config errors, and exact arithmetic helpers.

A kind is a pure module (no ORM) with ``DEFAULT_CONFIG``, ``validate(config) -> config`` (normalised,
or ConfigError with per-field messages) and ``grade(config, *, rows, customers, previous, as_of)`` that
returns ``{customer_id: Graded}``. Rows are per customer per month (``{"customer_id", "month", metric…}``);
``customers`` maps every customer to grade to its per-customer facts (first order month, hand scores);
``previous`` maps a customer to its current grade. The result depends only on these values, never on the
order of the rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# The per-month metrics the SQL computes for every customer (kehu.grading.metrics).
METRICS = ("quantity_t", "amount", "gross_margin", "order_count", "due_amount", "paid_on_time_amount")


class ConfigError(ValueError):
    """A policy config that a kind cannot use; ``fields`` says which part and why."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = {k: [str(m) for m in v] for k, v in fields.items()}
        first = next(iter(self.fields.items()))
        super().__init__(f"{first[0]}: {first[1][0]}")


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Graded:
    """A customer's grade and its explanation. A kind may give ``explain`` (a callable returning the
    explanation) instead of the explanation itself: it is built on first read, so a preview of a million
    customers builds only its sample's explanations (ABC, RFM). Equal when grade and explanation are."""

    __slots__ = ("grade", "_explanation", "_explain", "_text", "_canonical")

    def __init__(self, grade: str, explanation: dict | None = None, *, explain=None, text=None, canonical=None):
        self.grade = grade
        self._explanation = explanation if explanation is not None or explain is not None else {}
        self._explain = explain
        self._text = text
        self._canonical = canonical

    def canonical_text(self) -> str | None:
        """The explanation without its ``previous_grade`` as PostgreSQL prints it as ``jsonb`` (``jsonb_text``:
        keys by length then bytes, ``", "`` and ``": "``), when the kind gives it (``canonical``, a callable):
        a run compares its digest with the stored row's to skip staging a row that would not change. None when
        the kind gives none (the row is then staged and compared in SQL, as before)."""
        return self._canonical() if self._canonical is not None else None

    def explanation_text(self) -> str:
        """The explanation as a run stores it: compact JSON (``ensure_ascii`` off). A kind with a lazy
        explanation may give ``text``, a callable writing the same text without the dict (ABC)."""
        if self._text is not None and self._explanation is None:
            return self._text()
        return _dumps(self.explanation)

    @property
    def computed_grade(self) -> str:
        """What the rule computed (an explanation's ``computed_grade``; a lazy explanation never holds one)."""
        if self._explanation is None:
            return self.grade
        return self._explanation.get("computed_grade", self.grade)

    @property
    def explanation(self) -> dict:
        if self._explanation is None:
            self._explanation = self._explain()
            self._explain = None
        return self._explanation

    def __eq__(self, other):
        if not isinstance(other, Graded):
            return NotImplemented
        return self.grade == other.grade and self.explanation == other.explanation

    __hash__ = None

    def __repr__(self) -> str:
        return f"Graded(grade={self.grade!r}, explanation={self.explanation!r})"


class Errors:
    """Collects messages per field so one validation reports every problem at once."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.fields.setdefault(key, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.fields:
            raise ConfigError(self.fields)


def as_decimal(value, errors: Errors | None = None, key: str = "") -> Decimal | None:
    if isinstance(value, bool):
        value = None
    try:
        d = Decimal(str(value)) if value is not None else None
    except (InvalidOperation, ValueError):
        d = None
    if d is None or not d.is_finite():
        if errors is not None:
            errors.add(key, _("Enter a number."))
        return None
    return d


def require_mapping(config) -> dict:
    if not isinstance(config, Mapping):
        raise ConfigError({"__all__": [_("The configuration must be a mapping of settings.")]})
    return dict(config)


def positive_int(config: dict, key: str, errors: Errors, *, default: int, maximum: int = 120) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        errors.add(key, _("Enter a whole number from 1 to %(max)s.") % {"max": maximum})
        return default
    return value


def grade_name(value, errors: Errors, key: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 40:
        errors.add(key, _("Each grade needs a name of 1 to 40 characters."))
        return ""
    return value.strip()


def rising_tiers(tiers, errors: Errors, *, bound: str, missing: str, incomplete: str, not_rising: str) -> list[dict]:
    """Validate a list of ``{"grade", <bound>}`` tiers whose bounds rise from one tier to the next (the
    threshold and consecutive-period kinds); the messages name the kind's own bound."""
    out: list[dict] = []
    if not isinstance(tiers, list) or not tiers:
        errors.add("tiers", missing)
        return out
    last = None
    for i, tier in enumerate(tiers):
        if not isinstance(tier, dict):
            errors.add(f"tiers.{i}", incomplete)
            continue
        name = grade_name(tier.get("grade"), errors, f"tiers.{i}.grade")
        value = as_decimal(tier.get(bound), errors, f"tiers.{i}.{bound}")
        if value is not None and last is not None and value <= last:
            errors.add(f"tiers.{i}.{bound}", not_rising)
        if value is not None:
            last = value
        out.append({"grade": name, bound: value})
    return out


def month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def months_back(as_of: dt.date, n: int) -> list[dt.date]:
    """The n months ending with the month of ``as_of``, oldest first."""
    y, m = as_of.year, as_of.month
    out = []
    for _i in range(n):
        out.append(dt.date(y, m, 1))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


def monthly(rows: Iterable[Mapping], metric: str, months: list[dt.date]) -> dict[int, dict[dt.date, Decimal]]:
    """customer → month → summed metric, over the given months (a month without a row counts 0)."""
    wanted = set(months)
    out: dict[int, dict[dt.date, Decimal]] = {}
    for row in rows:
        month = month_start(row["month"])
        if month not in wanted:
            continue
        per = out.setdefault(row["customer_id"], {})
        per[month] = per.get(month, Decimal(0)) + Decimal(str(row.get(metric) or 0))
    return out


def totals(rows: Iterable[Mapping], months: list[dt.date]) -> dict[int, dict[str, Decimal]]:
    """customer → every metric summed over the given months."""
    wanted = set(months)
    out: dict[int, dict[str, Decimal]] = {}
    for row in rows:
        if month_start(row["month"]) not in wanted:
            continue
        per = out.setdefault(row["customer_id"], {m: Decimal(0) for m in METRICS})
        for m in METRICS:
            per[m] += Decimal(str(row.get(m) or 0))
    return out


@dataclass
class Window:
    """What the ABC, RFM and scorecard kinds read of a customer's months, summed over the policy's window:
    ``sums`` (customer → every metric, only customers with a row), ``last`` (customer → last order date in the
    window), ``halves`` (customer → amount of the window's older half, of its newer half, and the number of months
    with an amount). Built from ``monthly_rows`` by ``window_of`` (the pure kinds), or one row per customer in
    SQL by kehu.grading.metrics.window (a run on PostgreSQL): the same numbers (test_sql_equivalence.py)."""

    sums: dict[int, dict[str, Decimal]]
    last: dict[int, dt.date] = field(default_factory=dict)
    halves: dict[int, tuple[Decimal, Decimal, int]] = field(default_factory=dict)
    # customer → amount of every order up to the review date (metrics.window ``with_lifetime``; else empty)
    lifetime: dict[int, Decimal] = field(default_factory=dict)


def window_of(rows, months: list[dt.date]) -> Window:
    """``rows`` as a Window over ``months`` (a Window is returned as it is)."""
    if isinstance(rows, Window):
        return rows
    rows = list(rows)
    wanted = set(months)
    last: dict[int, dt.date] = {}
    by_month: dict[int, dict[dt.date, Decimal]] = {}
    for row in rows:
        month = month_start(row["month"])
        if month not in wanted:
            continue
        cid = row["customer_id"]
        per = by_month.setdefault(cid, {})
        per[month] = per.get(month, Decimal(0)) + Decimal(str(row.get("amount") or 0))
        if row.get("order_count"):
            day = row.get("last_order_date") or row["month"]
            if cid not in last or day > last[cid]:
                last[cid] = day
    half = len(months) // 2
    halves = {cid: (sum((per.get(m, Decimal(0)) for m in months[:half]), Decimal(0)),
                    sum((per.get(m, Decimal(0)) for m in months[half:]), Decimal(0)),
                    sum(1 for m in months if per.get(m)))
              for cid, per in by_month.items()}
    return Window(totals(rows, months), last, halves)


def jsonb_key(key: str) -> tuple[int, bytes]:
    """Where ``jsonb`` puts an object's key: by its UTF-8 length, then bytewise."""
    raw = key.encode()
    return len(raw), raw


def jsonb_text(value) -> str:
    """``value`` as PostgreSQL prints a ``jsonb`` (``jsonb::text``): object keys ordered by their UTF-8 length,
    then bytewise, ``", "`` between items and ``": "`` after a key, strings escaped as ``json.dumps`` with
    ``ensure_ascii`` off escapes them (the same characters). The reference the kinds' ``canonical`` texts are
    tested against (test_kinds.py) and, on PostgreSQL, the database itself (test_sql_equivalence.py)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_dumps(k)}: {jsonb_text(value[k])}" for k in sorted(value, key=jsonb_key)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    return _dumps(value)


def text(d: Decimal | None) -> str | None:
    """Decimals go into explanations (JSON) as plain strings without exponent noise."""
    if d is None:
        return None
    q = d.normalize()
    return format(q, "f")
