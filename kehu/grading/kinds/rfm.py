"""RFM quintiles with named segments (RFM 模型). Recency = days from the last order to the review date,
frequency = orders, monetary = amount, over the look-back. Each is scored 1–5 by quintile: a customer's
score is 1 + ⌊5 × (customers strictly worse) / customers⌋, so equal values score equally whatever the
row order. A score from ``high_from`` up is high (H); the segment is named by the three letters."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from functools import partial

from django.utils.translation import gettext as _

from .base import Errors, Graded, months_back, positive_int, require_mapping, text, window_of

SEGMENT_KEYS = ("HHH", "LHH", "HLH", "LLH", "HHL", "LHL", "HLL", "LLL")

DEFAULT_CONFIG = {
    "months": 12,
    "high_from": 3,
    "segments": {
        "HHH": "重要价值",
        "LHH": "重要保持",
        "HLH": "重要发展",
        "LLH": "重要挽留",
        "HHL": "一般价值",
        "LHL": "一般保持",
        "HLL": "一般发展",
        "LLL": "一般挽留",
    },
}


def validate(config) -> dict:
    config = require_mapping(config)
    errors = Errors()
    out: dict = {"months": positive_int(config, "months", errors, default=12),
                 "high_from": positive_int(config, "high_from", errors, default=3, maximum=5)}
    segments = config.get("segments")
    if not isinstance(segments, dict) or set(segments) != set(SEGMENT_KEYS):
        errors.add("segments", _("Name all eight segments: %(keys)s (R, F, M each High or Low).")
                   % {"keys": ", ".join(SEGMENT_KEYS)})
        out["segments"] = {}
    else:
        out["segments"] = {}
        for key in SEGMENT_KEYS:
            name = segments[key]
            if not isinstance(name, str) or not name.strip() or len(name.strip()) > 40:
                errors.add(f"segments.{key}", _("Each grade needs a name of 1 to 40 characters."))
            else:
                out["segments"][key] = name.strip()
        if len(set(out["segments"].values())) != len(out["segments"]):
            errors.add("segments", _("Grade names must be different from each other."))
    errors.raise_if_any()
    return out


def levels(config: dict) -> list[str]:
    """Lowest to highest, by the weight of M, then F, then R."""
    order = sorted(SEGMENT_KEYS, key=lambda k: (k[2] == "H", k[1] == "H", k[0] == "H"))
    return [config["segments"][k] for k in order]


def quintile_scores(values: dict[int, Decimal | None], *, lower_is_better: bool = False) -> dict[int, int]:
    """1–5 by the share of customers strictly worse; None is the worst value."""
    n = len(values)
    if n == 0:
        return {}
    counts = Counter(values.values())
    ordered = sorted((v for v in counts if v is not None), reverse=not lower_is_better)  # best first
    if None in counts:
        ordered.append(None)
    score_of: dict = {}
    seen = 0
    for v in ordered:  # customers strictly worse than a value = those after its tie group
        seen += counts[v]
        score_of[v] = 1 + (5 * (n - seen)) // n
    return {cid: score_of[v] for cid, v in values.items()}


def grade(config: dict, *, rows, customers: dict, previous: dict, as_of: dt.date) -> dict[int, Graded]:
    months = months_back(as_of, config["months"])
    window = window_of(rows, months)
    sums, last = window.sums, window.last
    zero = Decimal(0)
    empty: dict = {}
    recency = {cid: (Decimal((as_of - last[cid]).days) if cid in last else None) for cid in customers}
    frequency = {cid: sums.get(cid, empty).get("order_count", zero) for cid in customers}
    monetary = {cid: sums.get(cid, empty).get("amount", zero) for cid in customers}
    r = quintile_scores(recency, lower_is_better=True)
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    high = config["high_from"]
    segments = config["segments"]

    def explain(cid: int, key: str) -> dict:  # built when read: a preview reads only its sample's
        return {
            "kind": "rfm",
            "rule": "quintile_segment",
            "recency_days": text(recency[cid]),
            "frequency": text(frequency[cid]),
            "monetary": text(monetary[cid]),
            "scores": {"R": r[cid], "F": f[cid], "M": m[cid]},
            "high_from": high,
            "segment": key,
            "previous_grade": previous.get(cid),
        }

    # The same explanation as compact JSON without the dict (test_kinds.py proves it is json.dumps of explain).
    prev_json: dict = {}
    tail = f',"high_from":{high},"segment":"'

    def explain_text(cid: int, key: str) -> str:
        prev = previous.get(cid)
        prev_text = prev_json.get(prev)
        if prev_text is None:
            prev_text = prev_json[prev] = _dump(prev)
        days = recency[cid]
        return (f'{{"kind":"rfm","rule":"quintile_segment","recency_days":'
                f'{"null" if days is None else chr(34) + text(days) + chr(34)},"frequency":"{text(frequency[cid])}",'
                f'"monetary":"{text(monetary[cid])}","scores":{{"R":{r[cid]},"F":{f[cid]},"M":{m[cid]}}}'
                f'{tail}{key}","previous_grade":{prev_text}}}')

    # The explanation without previous_grade as PostgreSQL prints the stored jsonb (base.jsonb_text: keys by
    # length, then bytes): a run skips a customer whose stored row already says this (services.compute).
    canonical_tail = f', "high_from": {high}, "recency_days": '

    def canonical_text(cid: int, key: str) -> str:
        days = recency[cid]
        return (f'{{"kind": "rfm", "rule": "quintile_segment", "scores": {{"F": {f[cid]}, "M": {m[cid]}, '
                f'"R": {r[cid]}}}, "segment": "{key}", "monetary": "{text(monetary[cid])}", '
                f'"frequency": "{text(frequency[cid])}"{canonical_tail}'
                f'{"null" if days is None else chr(34) + text(days) + chr(34)}}}')

    out: dict[int, Graded] = {}
    letters = {s: ("H" if s >= high else "L") for s in range(1, 6)}
    for cid in customers:
        key = letters[r[cid]] + letters[f[cid]] + letters[m[cid]]
        out[cid] = Graded(segments[key], explain=partial(explain, cid, key), text=partial(explain_text, cid, key),
                          canonical=partial(canonical_text, cid, key))
    return out


_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
