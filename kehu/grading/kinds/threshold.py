"""Threshold tiers on a metric over a period (阈值分级), e.g. the polyolefin monthly pickup of 004 第13篇
第九条: 网拍 = newly developed; 普通 < 1000 t; 一星 1000–2000; 二星 2000–3000; 三星 ≥ 3000 t a month.
With ``one_level_per_review`` (依次升降) a customer moves at most one level per review."""

from __future__ import annotations

import datetime as dt
import json
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

AGGREGATES = ("average", "max", "min", "last", "total")

DEFAULT_CONFIG = {
    "metric": "quantity_t",
    "months": 3,
    "aggregate": "average",
    "tiers": [
        {"grade": "普通", "min": 0},
        {"grade": "一星", "min": 1000},
        {"grade": "二星", "min": 2000},
        {"grade": "三星", "min": 3000},
    ],
    "new_grade": "网拍",
    "new_customer_months": 3,
    "one_level_per_review": True,
}


def validate(config) -> dict:
    config = require_mapping(config)
    errors = Errors()
    out: dict = {}
    if config.get("metric") not in METRICS:
        errors.add("metric", _("Choose one of: %(choices)s.") % {"choices": ", ".join(METRICS)})
    out["metric"] = config.get("metric")
    out["months"] = positive_int(config, "months", errors, default=3)
    aggregate = config.get("aggregate", "average")
    if aggregate not in AGGREGATES:
        errors.add("aggregate", _("Choose one of: %(choices)s.") % {"choices": ", ".join(AGGREGATES)})
    out["aggregate"] = aggregate
    out["tiers"] = rising_tiers(
        config.get("tiers"), errors, bound="min",
        missing=_("List at least one tier, each with a grade and a lower bound (min)."),
        incomplete=_("Each tier needs a grade and a lower bound (min)."),
        not_rising=_("Lower bounds must rise from one tier to the next."))
    new_grade = config.get("new_grade")
    if new_grade in (None, ""):
        out["new_grade"] = None
    else:
        out["new_grade"] = grade_name(new_grade, errors, "new_grade")
    out["new_customer_months"] = positive_int(config, "new_customer_months", errors, default=3)
    names = [t["grade"] for t in out["tiers"]] + ([out["new_grade"]] if out["new_grade"] else [])
    if len(set(names)) != len(names):
        errors.add("tiers", _("Grade names must be different from each other."))
    flag = config.get("one_level_per_review", False)
    if not isinstance(flag, bool):
        errors.add("one_level_per_review", _("Enter true or false."))
    out["one_level_per_review"] = bool(flag)
    errors.raise_if_any()
    return out


def levels(config: dict) -> list[str]:
    """Grades from lowest to highest."""
    return ([config["new_grade"]] if config["new_grade"] else []) + [t["grade"] for t in config["tiers"]]


def tier_for(config: dict, value: Decimal) -> dict:
    chosen = config["tiers"][0]
    for tier in config["tiers"]:
        if value >= tier["min"]:
            chosen = tier
    return chosen


def _aggregate(kind: str, values: list[Decimal]) -> Decimal:
    if kind == "average":
        return sum(values, Decimal(0)) / len(values)
    if kind == "max":
        return max(values)
    if kind == "min":
        return min(values)
    if kind == "last":
        return values[-1]
    return sum(values, Decimal(0))


def is_new(config: dict, facts: dict, as_of: dt.date) -> bool:
    if not config["new_grade"]:
        return False
    first = (facts or {}).get("first_order_month")
    if first is None:
        return True
    return first.replace(day=1) >= months_back(as_of, config["new_customer_months"])[0]


def needs_first_order(config: dict) -> bool:
    """Whether a decision reads the customer's first order month (only with a new-customer grade)."""
    return bool(config["new_grade"])


def context(config: dict, as_of: dt.date) -> dict:
    """What every customer's decision under ``config`` at ``as_of`` shares (computed once per run)."""
    order = levels(config)
    months = months_back(as_of, config["months"])
    return {"months": months, "order": order, "keys": [m.isoformat()[:7] for m in months],
            "index": {g: i for i, g in enumerate(order)},
            "tier_min": {t["grade"]: text(t["min"]) for t in reversed(config["tiers"])},
            "new_since": months_back(as_of, config["new_customer_months"])[0] if config["new_grade"] else None}


def decide(config: dict, ctx: dict, values: list[Decimal], first_order_month: dt.date | None,
           prev: str | None) -> tuple[str, tuple]:
    """One customer's grade from its per-month values (oldest first): ``(grade, detail)``; ``detail`` is what
    ``explain`` needs. The pure ``grade`` and the set-based run (kehu.grading.services) both call this."""
    value = _aggregate(config["aggregate"], values)
    if config["new_grade"] and (first_order_month is None or first_order_month.replace(day=1) >= ctx["new_since"]):
        computed, rule = config["new_grade"], "new_customer"
    else:
        computed, rule = tier_for(config, value)["grade"], "tier"
    final, limited = computed, False
    index = ctx["index"]
    if config["one_level_per_review"] and prev in index and computed in index:
        step = index[computed] - index[prev]
        if abs(step) > 1:
            final = ctx["order"][index[prev] + (1 if step > 0 else -1)]
            limited = True
    return final, (value, computed, rule, limited)


def explain(config: dict, ctx: dict, values: list[Decimal], detail: tuple, final: str, prev: str | None) -> dict:
    value, computed, rule, limited = detail
    return {
        "kind": "threshold",
        "rule": rule,
        "metric": config["metric"],
        "aggregate": config["aggregate"],
        "months": {k: text(v) for k, v in zip(ctx["keys"], values, strict=True)},
        "value": text(value),
        "computed_grade": computed,
        "tier_min": ctx["tier_min"].get(final),
        "previous_grade": prev,
        "one_level_per_review": config["one_level_per_review"],
        "limited_to_one_level": limited,
    }


_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _text_parts(config: dict, ctx: dict) -> dict:
    """The constant pieces of ``explain_text`` for one run (grade names and keys JSON-encoded once)."""
    parts = ctx.get("_json")
    if parts is None:
        grades = {g: _dump(g) for g in ctx["order"]}
        parts = ctx["_json"] = {
            "head": '{"kind":"threshold","rule":',
            "mid": f',"metric":{_dump(config["metric"])},"aggregate":{_dump(config["aggregate"])},"months":{{',
            "keys": [f"{_dump(k)}:" for k in ctx["keys"]],
            "grades": grades,
            "tier_min": {g: _dump(ctx["tier_min"].get(g)) for g in grades},
            "tail": {(flag, limited): f',"one_level_per_review":{_dump(flag)},"limited_to_one_level":{_dump(limited)}}}'
                     for flag in (True, False) for limited in (True, False)},
        }
    return parts


def explain_text(config: dict, ctx: dict, values: list[Decimal], detail: tuple, final: str,
                 prev: str | None) -> tuple[str, str]:
    """``explain`` already serialised — the same text as compact ``json.dumps(explain(...),
    ensure_ascii=False)`` (kehu/grading/tests/test_kinds.py proves it) — and the computed grade, without a dict
    per customer: a first run at a million customers writes a million of these."""
    value, computed, rule, limited = detail
    parts = _text_parts(config, ctx)
    grades = parts["grades"]
    months = ",".join(f'{key}"{text(v)}"' for key, v in zip(parts["keys"], values, strict=True))
    prev_text = "null" if prev is None else (grades.get(prev) or _dump(prev))
    body = (f'{parts["head"]}"{rule}"{parts["mid"]}{months}}},"value":"{text(value)}",'
            f'"computed_grade":{grades.get(computed) or _dump(computed)},'
            f'"tier_min":{parts["tier_min"].get(final) or _dump(ctx["tier_min"].get(final))},'
            f'"previous_grade":{prev_text}{parts["tail"][(config["one_level_per_review"], limited)]}')
    return body, computed


def grade(config: dict, *, rows, customers: dict, previous: dict, as_of: dt.date) -> dict[int, Graded]:
    ctx = context(config, as_of)
    months = ctx["months"]
    per = monthly(rows, config["metric"], months)
    out: dict[int, Graded] = {}
    for cid, facts in customers.items():
        values = [per.get(cid, {}).get(m, Decimal(0)) for m in months]
        prev = previous.get(cid)
        final, detail = decide(config, ctx, values, (facts or {}).get("first_order_month"), prev)
        out[cid] = Graded(final, explain(config, ctx, values, detail, final, prev))
    return out
