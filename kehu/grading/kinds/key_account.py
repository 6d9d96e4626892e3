"""Key-account levels (大客户 一级 / 二级 / 三级, 002 01): a value assessment over current value, potential,
lifetime value and loyalty, each 0–100 and weighted, placed in level bands. The arithmetic is the
scorecard's; this module is its configuration and its name."""

from __future__ import annotations

from . import scorecard

DEFAULT_CONFIG = {
    "months": 12,
    "missing_score": 0,
    "dimensions": [
        {"key": "current_value", "source": "amount", "weight": 0.35, "zero": 0, "full": 5000000},
        {"key": "potential_value", "source": "manual", "weight": 0.25},
        {"key": "lifetime_value", "source": "lifetime_amount", "weight": 0.2, "zero": 0, "full": 20000000},
        {"key": "loyalty", "source": "active_month_share", "weight": 0.2, "zero": 0, "full": 1},
    ],
    "bands": [
        {"grade": "一级", "min": 75},
        {"grade": "二级", "min": 50},
        {"grade": "三级", "min": 0},
    ],
}

validate = scorecard.validate
levels = scorecard.levels


needs = scorecard.needs


def grade(config: dict, **kwargs):
    return scorecard.grade(config, kind="key_account", **kwargs)
