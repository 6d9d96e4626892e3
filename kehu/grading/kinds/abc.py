"""ABC / Pareto by contribution share (帕累托 80/20): customers ranked by a metric; A are those whose
cumulative share before them is under the first bound (the customer crossing 80 % is still A), and so on.
Equal values share a class (the tie group is placed where its first member starts), so the result never
depends on the order of the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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
    values = {cid: max(sums.get(cid, {}).get(config["metric"], Decimal(0)), Decimal(0)) for cid in customers}
    total = sum(values.values(), Decimal(0))
    n = len(values)
    out: dict[int, Graded] = {}
    before_by_value: dict[Decimal, Decimal] = {}
    running = Decimal(0)
    for _cid, v in ranked(values):
        before_by_value.setdefault(v, running)
        running += v
    rank_of_value: dict[Decimal, int] = {}
    for i, (_cid, v) in enumerate(ranked(values), start=1):
        rank_of_value.setdefault(v, i)
    for cid, v in values.items():
        before = before_by_value[v] / total if total > 0 else Decimal(1)
        share = v / total if total > 0 else Decimal(0)
        chosen = config["classes"][-1]
        if v > 0:
            for cls in config["classes"]:
                if before < cls["share"]:
                    chosen = cls
                    break
        out[cid] = Graded(chosen["grade"], {
            "kind": "abc",
            "rule": "cumulative_share_before_below",
            "metric": config["metric"],
            "value": text(v),
            "total": text(total),
            "share": text(round(share, 6)),
            "cumulative_share_before": text(round(before, 6)),
            "rank": rank_of_value[v],
            "customers": n,
            "bound": text(chosen["share"]),
            "previous_grade": previous.get(cid),
        })
    return out
