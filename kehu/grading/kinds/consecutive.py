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
    grade_name,
    monthly,
    months_back,
    positive_int,
    require_mapping,
    rising_tiers,
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
    out["tiers"] = rising_tiers(
        config.get("tiers"), errors, bound="above",
        missing=_("List at least one tier, each with a grade and a monthly bound (above)."),
        incomplete=_("Each tier needs a grade and a monthly bound (above)."),
        not_rising=_("Bounds must rise from one tier to the next."))
    out["default_grade"] = grade_name(config.get("default_grade"), errors, "default_grade")
    names = [t["grade"] for t in out["tiers"]] + [out["default_grade"]]
    if len(set(names)) != len(names):
        errors.add("tiers", _("Grade names must be different from each other."))
    errors.raise_if_any()
    return out


def levels(config: dict) -> list[str]:
    return [config["default_grade"]] + [t["grade"] for t in config["tiers"]]


def needs_first_order(config: dict) -> bool:
    return False


def context(config: dict, as_of: dt.date) -> dict:
    months = months_back(as_of, config["months"])
    return {"months": months, "keys": [m.isoformat()[:7] for m in months]}


def decide(config: dict, ctx: dict, values: list[Decimal], first_order_month: dt.date | None,
           prev: str | None) -> tuple[str, tuple]:
    """One customer's grade from its per-month values (oldest first): the highest tier every month is above."""
    lowest = min(values)
    chosen = None
    for tier in config["tiers"]:
        if lowest > tier["above"]:
            chosen = tier
    return (chosen["grade"] if chosen else config["default_grade"]), (lowest, chosen)


def explain(config: dict, ctx: dict, values: list[Decimal], detail: tuple, final: str, prev: str | None) -> dict:
    lowest, chosen = detail
    return {
        "kind": "consecutive",
        "rule": "every_month_above" if chosen else "default",
        "metric": config["metric"],
        "months": {k: text(v) for k, v in zip(ctx["keys"], values, strict=True)},
        "lowest_month": text(lowest),
        "above": text(chosen["above"]) if chosen else None,
        "previous_grade": prev,
    }


def grade(config: dict, *, rows, customers: dict, previous: dict, as_of: dt.date) -> dict[int, Graded]:
    ctx = context(config, as_of)
    months = ctx["months"]
    per = monthly(rows, config["metric"], months)
    out: dict[int, Graded] = {}
    for cid in customers:
        values = [per.get(cid, {}).get(m, Decimal(0)) for m in months]
        prev = previous.get(cid)
        final, detail = decide(config, ctx, values, None, prev)
        out[cid] = Graded(final, explain(config, ctx, values, detail, final, prev))
    return out
