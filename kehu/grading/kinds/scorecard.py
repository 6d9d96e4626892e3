"""Weighted multi-dimension scorecard (综合评分, 000 2.1): value (volume, margin, payment timeliness,
growth) from the transactions, strategy (influence, fit, stability) and interaction (responsiveness,
cooperation, satisfaction) scored by hand; each dimension 0–100, weighted (weights sum to 1), the total
placed in score bands → 核心 / 重点 / 普通 / 潜在·边缘."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import partial

from django.utils.translation import gettext as _

from .base import (
    METRICS,
    Errors,
    Graded,
    as_decimal,
    grade_name,
    jsonb_key,
    months_back,
    positive_int,
    require_mapping,
    text,
    window_of,
)

# Values derived from the transactions; "manual" reads the hand score from the customer's facts.
DERIVED = (*METRICS, "margin_rate", "on_time_rate", "growth", "lifetime_amount", "active_month_share")
SOURCES = (*DERIVED, "manual")
HUNDRED = Decimal(100)

DEFAULT_CONFIG = {
    "months": 12,
    "missing_score": 0,
    "dimensions": [
        {"key": "volume", "group": "value", "source": "amount", "weight": 0.15, "zero": 0, "full": 1000000},
        {"key": "margin", "group": "value", "source": "margin_rate", "weight": 0.10, "zero": 0, "full": 0.3},
        {"key": "payment", "group": "value", "source": "on_time_rate", "weight": 0.15, "zero": 0.5, "full": 1},
        {"key": "growth", "group": "value", "source": "growth", "weight": 0.10, "zero": -0.2, "full": 0.5},
        {"key": "influence", "group": "strategy", "source": "manual", "weight": 0.10},
        {"key": "fit", "group": "strategy", "source": "manual", "weight": 0.10},
        {"key": "stability", "group": "strategy", "source": "manual", "weight": 0.10},
        {"key": "responsiveness", "group": "interaction", "source": "manual", "weight": 0.05},
        {"key": "cooperation", "group": "interaction", "source": "manual", "weight": 0.05},
        {"key": "satisfaction", "group": "interaction", "source": "manual", "weight": 0.10},
    ],
    "bands": [
        {"grade": "核心", "min": 80},
        {"grade": "重点", "min": 60},
        {"grade": "普通", "min": 40},
        {"grade": "潜在·边缘", "min": 0},
    ],
}


def validate(config) -> dict:
    config = require_mapping(config)
    errors = Errors()
    out: dict = {"months": positive_int(config, "months", errors, default=12)}
    missing = as_decimal(config.get("missing_score", 0), errors, "missing_score")
    if missing is not None and not 0 <= missing <= HUNDRED:
        errors.add("missing_score", _("Enter a score from 0 to 100."))
    out["missing_score"] = missing
    dims = config.get("dimensions")
    out["dimensions"] = []
    if not isinstance(dims, list) or not dims:
        errors.add("dimensions", _("List at least one dimension with a key, a source and a weight."))
    else:
        keys = set()
        total = Decimal(0)
        for i, dim in enumerate(dims):
            if not isinstance(dim, dict):
                errors.add(f"dimensions.{i}", _("Each dimension needs a key, a source and a weight."))
                continue
            key = dim.get("key")
            if not isinstance(key, str) or not key.strip() or key in keys:
                errors.add(f"dimensions.{i}.key", _("Give each dimension its own key."))
            keys.add(key)
            source = dim.get("source")
            if source not in SOURCES:
                errors.add(f"dimensions.{i}.source",
                           _("Choose one of: %(choices)s.") % {"choices": ", ".join(SOURCES)})
            weight = as_decimal(dim.get("weight"), errors, f"dimensions.{i}.weight")
            if weight is not None and not 0 < weight <= 1:
                errors.add(f"dimensions.{i}.weight", _("A weight is above 0 and at most 1."))
            total += weight or 0
            item = {"key": key, "group": str(dim.get("group") or ""), "source": source, "weight": weight}
            if source in DERIVED:
                zero = as_decimal(dim.get("zero"), errors, f"dimensions.{i}.zero")
                full = as_decimal(dim.get("full"), errors, f"dimensions.{i}.full")
                if zero is not None and full is not None and zero == full:
                    errors.add(f"dimensions.{i}.full", _("The value scoring 100 must differ from the one scoring 0."))
                item.update(zero=zero, full=full)
            out["dimensions"].append(item)
        if abs(total - 1) > Decimal("0.0001"):
            errors.add("dimensions", _("The weights add up to %(total)s; they must add up to 1.")
                       % {"total": text(total)})
    bands = config.get("bands")
    out["bands"] = []
    if not isinstance(bands, list) or not bands:
        errors.add("bands", _("List at least one score band with a grade and a lowest score (min)."))
    else:
        last = None
        for i, band in enumerate(bands):
            if not isinstance(band, dict):
                errors.add(f"bands.{i}", _("Each band needs a grade and a lowest score (min)."))
                continue
            name = grade_name(band.get("grade"), errors, f"bands.{i}.grade")
            low = as_decimal(band.get("min"), errors, f"bands.{i}.min")
            if low is not None and not 0 <= low <= HUNDRED:
                errors.add(f"bands.{i}.min", _("Enter a score from 0 to 100."))
            elif low is not None and last is not None and low >= last:
                errors.add(f"bands.{i}.min", _("List the bands from the highest score down."))
            if low is not None:
                last = low
            out["bands"].append({"grade": name, "min": low})
        names = [b["grade"] for b in out["bands"]]
        if len(set(names)) != len(names):
            errors.add("bands", _("Grade names must be different from each other."))
    errors.raise_if_any()
    return out


def levels(config: dict) -> list[str]:
    return [b["grade"] for b in reversed(config["bands"])]


def derived_values(sums: dict[str, Decimal], halves: tuple[Decimal, Decimal, int], months: list[dt.date],
                   facts: dict, sources=None) -> dict[str, Decimal | None]:
    """``halves``: the amount of the window's older and newer half and the months with an amount (base.Window).
    ``sources``: the derived values wanted (None: all; the sums are always there)."""
    values: dict[str, Decimal | None] = dict(sums)
    amount = sums["amount"]
    if sources is None or "margin_rate" in sources:
        values["margin_rate"] = sums["gross_margin"] / amount if amount else None
    if sources is None or "on_time_rate" in sources:
        due = sums["due_amount"]
        values["on_time_rate"] = min(sums["paid_on_time_amount"] / due, Decimal(1)) if due else Decimal(1)
    first, second, active = halves
    if sources is None or "growth" in sources:
        if first:
            values["growth"] = (second - first) / first
        else:
            values["growth"] = Decimal(1) if second else Decimal(0)
    if sources is None or "lifetime_amount" in sources:
        lifetime = facts.get("lifetime_amount")
        values["lifetime_amount"] = Decimal(str(lifetime)) if lifetime is not None else amount
    if sources is None or "active_month_share" in sources:
        values["active_month_share"] = Decimal(active) / len(months)
    return values


def scale(value: Decimal | None, zero: Decimal, full: Decimal) -> Decimal | None:
    if value is None:
        return None
    ratio = (value - zero) / (full - zero)
    return min(max(ratio, Decimal(0)), Decimal(1)) * HUNDRED


def needs(config: dict) -> dict:
    """What of the window a config reads: ``metrics`` (the sums), ``halves`` (the two half-window amounts, for
    growth), ``active`` (the months with an amount), ``lifetime`` (the lifetime amount). kehu.grading.metrics.window
    computes only those; the values a config does not read are never shown (only a dimension's source is)."""
    sources = {d["source"] for d in config["dimensions"]}
    wanted: set[str] = {s for s in sources if s in METRICS}
    if "margin_rate" in sources:
        wanted |= {"gross_margin", "amount"}
    if "on_time_rate" in sources:
        wanted |= {"due_amount", "paid_on_time_amount"}
    if "lifetime_amount" in sources:
        wanted.add("amount")  # a customer without any order history falls back to the window's amount
    return {"metrics": frozenset(wanted), "halves": "growth" in sources, "active": "active_month_share" in sources,
            "lifetime": "lifetime_amount" in sources}


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def grade(config: dict, *, rows, customers: dict, previous: dict, as_of: dt.date,
          kind: str = "scorecard", texts: bool = False, canonical=()) -> dict[int, Graded]:
    """The total of every customer and its band; the explanation of a customer is built when read (a preview
    reads its sample's), as a dict (``explain``) or straight as its compact JSON (``explanation_text``, what a
    run stores; test_kinds.py proves it is the JSON of the dict). ``texts``: every customer's JSON text built
    while grading (a run stores them all: one pass instead of a total and then the text)."""
    months = months_back(as_of, config["months"])
    window = window_of(rows, months)
    sums, halves = window.sums, window.halves
    empty = {m: Decimal(0) for m in METRICS}
    no_halves = (Decimal(0), Decimal(0), 0)
    zero, hundred = Decimal(0), HUNDRED
    missing_score = config["missing_score"]
    dims = [(d["key"], d["source"], d["weight"], d.get("zero"), d.get("full")) for d in config["dimensions"]]
    bands = config["bands"]
    last_band = bands[-1]

    sources = {source for _k, source, _w, _l, _f in dims if source != "manual"}

    def parts_of(cid: int, facts: dict):
        """(total, [(shown value, score, missing) per dimension]) — the eager kind's arithmetic, in its order."""
        values = derived_values(sums.get(cid, empty), halves.get(cid, no_halves), months, facts, sources)
        hand = facts.get("scores") or {}
        total = Decimal(0)
        out = []
        for key, source, weight, low, full in dims:
            if source == "manual":
                raw = hand.get(key)
                score = None if raw is None else min(max(Decimal(str(raw)), zero), hundred)
                shown = None if raw is None else text(Decimal(str(raw)))
            else:
                score = scale(values[source], low, full)
                shown = text(values[source])
            missing = score is None
            if missing:
                score = missing_score
            total += score * weight
            out.append((shown, score, missing))
        return total, out

    one = Decimal(1)
    # Per dimension: (key, hand-scored, source, weight, zero, full − zero, what a missing value adds).
    plan = [(key, source == "manual", source, weight, low, None if source == "manual" else full - low,
             missing_score * weight) for key, source, weight, low, full in dims]

    def total_of(cid: int, facts: dict) -> Decimal:
        """parts_of's total alone, inlined (a preview grades a million customers with it): ``scale`` and the
        missing score's product written out — the same operations on the same values, in the same order."""
        values = derived_values(sums.get(cid, empty), halves.get(cid, no_halves), months, facts, sources)
        hand = facts.get("scores") or {}
        total = Decimal(0)
        for key, manual, source, weight, low, span, absent in plan:
            if manual:
                raw = hand.get(key)
                if raw is None:
                    total += absent
                    continue
                score = min(max(Decimal(str(raw)), zero), hundred)
            else:
                value = values[source]
                if value is None:
                    total += absent
                    continue
                score = min(max((value - low) / span, zero), one) * hundred
            total += score * weight
        return total

    def band_of(total: Decimal) -> dict:
        for band in bands:
            if total >= band["min"]:
                return band
        return last_band

    def explain(cid: int, facts: dict) -> dict:
        total, parts = parts_of(cid, facts)
        chosen = band_of(total)
        return {
            "kind": kind,
            "rule": "score_band",
            "score": text(round(total, 2)),
            "band_min": text(chosen["min"]),
            "dimensions": {key: {"value": shown, "score": text(round(score, 2)), "weight": text(weight),
                                 "missing": missing}
                           for (key, _s, weight, _l, _f), (shown, score, missing) in zip(dims, parts, strict=True)},
            "previous_grade": previous.get(cid),
        }

    # The explanation's JSON without the dict: the constant pieces once per run — a dimension without a value
    # (no hand score, no payments …) is one constant fragment.
    head = f'{{"kind":{_dumps(kind)},"rule":"score_band","score":"'
    missing_text = text(round(missing_score, 2))
    fragments = []
    for i, (key, source, weight, _l, _f) in enumerate(dims):
        start = f'{"," if i else ""}{_dumps(key)}:{{"value":'
        tail = f',"weight":"{text(weight)}","missing":'
        fragments.append((start, tail, f'{start}null,"score":"{missing_text}"{tail}true}}', source == "manual", key,
                          source))
    band_json = {id(b): f'","band_min":"{text(b["min"])}","dimensions":{{' for b in bands}
    prev_json: dict = {}

    def explain_text(cid: int, facts: dict) -> str:
        return text_and_band(cid, facts)[0]

    def scored(cid: int, facts: dict) -> tuple[Decimal, list[tuple[Decimal, str] | None]]:
        """The total and each dimension's (score, value as shown), None where missing: the same arithmetic as
        parts_of, in the same order (scale written out as in total_of)."""
        values = derived_values(sums.get(cid, empty), halves.get(cid, no_halves), months, facts, sources)
        hand = facts.get("scores") or {}
        total = Decimal(0)
        out: list[tuple[Decimal, str] | None] = []
        for key, manual, source, weight, low, span, absent_adds in plan:
            if manual:
                raw = hand.get(key)
                if raw is None:
                    total += absent_adds
                    out.append(None)
                    continue
                score = min(max(Decimal(str(raw)), zero), hundred)
                shown = text(Decimal(str(raw)))
            else:
                value = values[source]
                if value is None:
                    total += absent_adds
                    out.append(None)
                    continue
                score = min(max((value - low) / span, zero), one) * hundred
                shown = format(value.normalize(), "f")
            total += score * weight
            out.append((score, shown))
        return total, out

    def text_and_band(cid: int, facts: dict) -> tuple[str, dict]:
        total, scores = scored(cid, facts)
        out = [absent if got is None else
               f'{start}"{got[1]}","score":"{format(round(got[0], 2).normalize(), "f")}"{tail}false}}'
               for (start, tail, absent, *_rest), got in zip(fragments, scores, strict=True)]
        prev = previous.get(cid)
        prev_text = prev_json.get(prev)
        if prev_text is None:
            prev_text = prev_json[prev] = _dumps(prev)
        chosen = band_of(total)
        return "".join((head, text(round(total, 2)), band_json[id(chosen)], *out,
                        '},"previous_grade":', prev_text, "}")), chosen

    # The same explanation without previous_grade as PostgreSQL prints the stored jsonb (base.jsonb_text): keys
    # by length then bytes — the dimensions in jsonb's order of their keys.
    canonical_head = f'{{"kind": {_dumps(kind)}, "rule": "score_band", "score": "'
    order = sorted(range(len(dims)), key=lambda i: jsonb_key(dims[i][0]))
    canonical_fragments = []
    for key, _source, weight, _l, _f in dims:
        tail = f', "weight": "{text(weight)}", "missing": '
        canonical_fragments.append((f'{_dumps(key)}: {{"score": "', tail,
                                    f'{_dumps(key)}: {{"score": "{missing_text}", "value": null{tail}true}}'))
    canonical_band = {id(b): f'", "band_min": "{text(b["min"])}", "dimensions": {{' for b in bands}

    def canonical_and_band(cid: int, facts: dict) -> tuple[str, dict]:
        total, scores = scored(cid, facts)
        parts = [absent if got is None else
                 f'{start}{format(round(got[0], 2).normalize(), "f")}", "value": "{got[1]}"{tail}false}}'
                 for (start, tail, absent), got in zip(canonical_fragments, scores, strict=True)]
        chosen = band_of(total)
        return "".join((canonical_head, text(round(total, 2)), canonical_band[id(chosen)],
                        ", ".join([parts[i] for i in order]), "}}")), chosen

    out: dict[int, Graded] = {}
    for cid, facts in customers.items():
        facts = facts or {}
        if cid in canonical:  # a run compares this customer's stored row first: its JSON text only if it differs
            stored, chosen = canonical_and_band(cid, facts)
            out[cid] = Graded(chosen["grade"], explain=partial(explain, cid, facts),
                              text=partial(explain_text, cid, facts), canonical=stored.__str__)
            continue
        if texts:  # a run stores every text: build it while grading, in one pass
            stored, chosen = text_and_band(cid, facts)
            out[cid] = Graded(chosen["grade"], explain=partial(explain, cid, facts), text=stored.__str__)
            continue
        total = total_of(cid, facts)
        out[cid] = Graded(band_of(total)["grade"], explain=partial(explain, cid, facts),
                          text=partial(explain_text, cid, facts))
    return out
