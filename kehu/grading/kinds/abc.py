"""ABC / Pareto by contribution share (帕累托 80/20): customers ranked by a metric; A are those whose
cumulative share before them is under the first bound (the customer crossing 80 % is still A), and so on.
Equal values share a class (the tie group is placed where its first member starts), so the result never
depends on the order of the rows."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from functools import partial

from django.utils.translation import gettext as _

from .base import (
    METRICS,
    Errors,
    Graded,
    as_decimal,
    grade_name,
    months_back,
    positive_int,
    require_mapping,
    text,
    window_of,
)

DEFAULT_CONFIG = {
    "metric": "amount",
    "months": 12,
    "classes": [
        {"grade": "A", "share": 0.8},
        {"grade": "B", "share": 0.95},
        {"grade": "C", "share": 1},
    ],
}


def validate(config) -> dict:
    config = require_mapping(config)
    errors = Errors()
    out: dict = {}
    if config.get("metric") not in METRICS:
        errors.add("metric", _("Choose one of: %(choices)s.") % {"choices": ", ".join(METRICS)})
    out["metric"] = config.get("metric")
    out["months"] = positive_int(config, "months", errors, default=12)
    classes = config.get("classes")
    out["classes"] = []
    if not isinstance(classes, list) or len(classes) < 2:
        errors.add("classes", _("List at least two classes, each with a grade and a cumulative share."))
    else:
        last = Decimal(0)
        for i, item in enumerate(classes):
            if not isinstance(item, dict):
                errors.add(f"classes.{i}", _("Each class needs a grade and a cumulative share."))
                continue
            name = grade_name(item.get("grade"), errors, f"classes.{i}.grade")
            share = as_decimal(item.get("share"), errors, f"classes.{i}.share")
            if share is not None and not (last < share <= 1):
                errors.add(f"classes.{i}.share",
                           _("Cumulative shares must rise, each above 0 and at most 1 (100 %)."))
            if share is not None:
                last = share
            out["classes"].append({"grade": name, "share": share})
        if out["classes"] and out["classes"][-1]["share"] is not None and out["classes"][-1]["share"] != 1:
            errors.add(f"classes.{len(classes) - 1}.share", _("The last class must reach 1 (100 %)."))
        names = [c["grade"] for c in out["classes"]]
        if len(set(names)) != len(names):
            errors.add("classes", _("Grade names must be different from each other."))
    errors.raise_if_any()
    return out


def levels(config: dict) -> list[str]:
    return [c["grade"] for c in reversed(config["classes"])]


def ranked(values: dict[int, Decimal]) -> list[tuple[int, Decimal]]:
    """Highest first; equal values by customer id, only to make the listing stable."""
    return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))


def lorenz(values) -> list[tuple[Decimal, Decimal]]:
    """Points of the Pareto (concentration) curve: (share of customers, share of the metric), from the
    largest customer down, starting at (0, 0). With no positive total the curve is the diagonal's ends."""
    vals = sorted((Decimal(str(v)) for v in values), reverse=True)
    total = sum(vals, Decimal(0))
    n = len(vals)
    points = [(Decimal(0), Decimal(0))]
    running = Decimal(0)
    for i, v in enumerate(vals, start=1):
        running += v
        points.append((Decimal(i) / n, running / total if total > 0 else Decimal(0)))
    return points


def grade(config: dict, *, rows, customers: dict, previous: dict, as_of: dt.date) -> dict[int, Graded]:
    months = months_back(as_of, config["months"])
    sums = window_of(rows, months).sums
    metric = config["metric"]
    zero = Decimal(0)
    empty: dict = {}
    values = {cid: max(sums.get(cid, empty).get(metric, zero), zero) for cid in customers}
    # Everything a class or an explanation needs depends only on the value: walk the distinct values once,
    # highest first (the sum of the larger values before a tie group, its first rank, its class), then give
    # each customer its value's class. Explanations are built only when read (a preview reads its sample's).
    counts = Counter(values.values())
    total = sum((v * k for v, k in counts.items()), zero)
    n = len(values)
    classes = config["classes"]
    last = classes[-1]
    placed: dict[Decimal, tuple] = {}  # value → (class, sum of the larger values, rank)
    running, rank = zero, 1
    for v in sorted(counts, reverse=True):
        before = running / total if total > 0 else Decimal(1)
        chosen = last
        if v > 0:
            for cls in classes:
                if before < cls["share"]:
                    chosen = cls
                    break
        placed[v] = (chosen, running, rank)
        running += v * counts[v]
        rank += counts[v]

    def explain(cid: int, v: Decimal) -> dict:
        chosen, larger, first = placed[v]
        before = larger / total if total > 0 else Decimal(1)
        share = v / total if total > 0 else zero
        return {
            "kind": "abc",
            "rule": "cumulative_share_before_below",
            "metric": metric,
            "value": text(v),
            "total": text(total),
            "share": text(round(share, 6)),
            "cumulative_share_before": text(round(before, 6)),
            "rank": first,
            "customers": n,
            "bound": text(chosen["share"]),
            "previous_grade": previous.get(cid),
        }

    # The same explanation as compact JSON, written without the dict (a run stores a million of these):
    # test_kinds.py proves it is json.dumps of ``explain``.
    head = (f'{{"kind":"abc","rule":"cumulative_share_before_below","metric":{_dump(metric)},"value":"')
    total_text = f'","total":"{text(total)}","share":"'
    tail = f',"customers":{n},"bound":"'
    prev_json: dict = {}

    def explain_text(cid: int, v: Decimal) -> str:
        chosen, larger, first = placed[v]
        before = larger / total if total > 0 else Decimal(1)
        share = v / total if total > 0 else zero
        prev = previous.get(cid)
        prev_text = prev_json.get(prev)
        if prev_text is None:
            prev_text = prev_json[prev] = _dump(prev)
        return (f'{head}{text(v)}{total_text}{text(round(share, 6))}","cumulative_share_before":"'
                f'{text(round(before, 6))}","rank":{first}{tail}{text(chosen["share"])}","previous_grade":{prev_text}}}')

    grade_of = {v: p[0]["grade"] for v, p in placed.items()}
    return {cid: Graded(grade_of[v], explain=partial(explain, cid, v), text=partial(explain_text, cid, v))
            for cid, v in values.items()}


_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
