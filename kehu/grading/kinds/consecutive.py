"""Consecutive-period thresholds (连续期达标), e.g. the telecom rule: spend > 300 / 500 / 800 a month
for 6 consecutive months → 3 / 4 / 5 stars. A month at or below a bound breaks that tier's run."""

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
    monthly,
    months_back,
    positive_int,
    require_mapping,
    text,
)

DEFAULT_CONFIG = {
    "metric": "amount",
    "months": 6,
    "tiers": [
        {"grade": "三星", "above": 300},
        {"grade": "四星", "above": 500},
        {"grade": "五星", "above": 800},
    ],
    "default_grade": "普通",
}


def validate(config) -> dict:
    config = require_mapping(config)
    errors = Errors()
    out: dict = {}
    if config.get("metric") not in METRICS:
        errors.add("metric", _("Choose one of: %(choices)s.") % {"choices": ", ".join(METRICS)})
    out["metric"] = config.get("metric")
    out["months"] = positive_int(config, "months", errors, default=6)
    tiers = config.get("tiers")
    out["tiers"] = []
    if not isinstance(tiers, list) or not tiers:
        errors.add("tiers", _("List at least one tier, each with a grade and a monthly bound (above)."))
    else:
        last = None
        for i, tier in enumerate(tiers):
            if not isinstance(tier, dict):
                errors.add(f"tiers.{i}", _("Each tier needs a grade and a monthly bound (above)."))
                continue
            name = grade_name(tier.get("grade"), errors, f"tiers.{i}.grade")
            bound = as_decimal(tier.get("above"), errors, f"tiers.{i}.above")
            if bound is not None and last is not None and bound <= last:
                errors.add(f"tiers.{i}.above", _("Bounds must rise from one tier to the next."))
            if bound is not None:
                last = bound
            out["tiers"].append({"grade": name, "above": bound})
    out["default_grade"] = grade_name(config.get("default_grade"), errors, "default_grade")
    names = [t["grade"] for t in out["tiers"]] + [out["default_grade"]]
    if len(set(names)) != len(names):
        errors.add("tiers", _("Grade names must be different from each other."))
    errors.raise_if_any()
    return out


def levels(config: dict) -> list[str]:
    return [config["default_grade"]] + [t["grade"] for t in config["tiers"]]


def grade(config: dict, *, rows, customers: dict, previous: dict, as_of: dt.date) -> dict[int, Graded]:
    months = months_back(as_of, config["months"])
    per = monthly(rows, config["metric"], months)
    out: dict[int, Graded] = {}
    for cid in customers:
        values = [per.get(cid, {}).get(m, Decimal(0)) for m in months]
        lowest = min(values)
        chosen = None
        for tier in config["tiers"]:
            if lowest > tier["above"]:
                chosen = tier
        out[cid] = Graded(chosen["grade"] if chosen else config["default_grade"], {
            "kind": "consecutive",
            "rule": "every_month_above" if chosen else "default",
            "metric": config["metric"],
            "months": {m.isoformat()[:7]: text(v) for m, v in zip(months, values, strict=True)},
            "lowest_month": text(lowest),
            "above": text(chosen["above"]) if chosen else None,
            "previous_grade": previous.get(cid),
        })
    return out
