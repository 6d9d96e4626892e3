"""The grading kinds, by the name a policy stores. Each is a pure module: validate(config), grade(...),
levels(config) (lowest first) and DEFAULT_CONFIG."""

from __future__ import annotations

from types import ModuleType

from django.utils.translation import gettext_lazy as _

from . import abc, consecutive, key_account, rfm, scorecard, threshold
from .base import ConfigError, Graded

KINDS: dict[str, ModuleType] = {
    "threshold": threshold,
    "consecutive": consecutive,
    "abc": abc,
    "rfm": rfm,
    "scorecard": scorecard,
    "key_account": key_account,
}

KIND_LABELS = {
    "threshold": _("Threshold tiers"),
    "consecutive": _("Consecutive periods"),
    "abc": _("ABC / Pareto"),
    "rfm": _("RFM segments"),
    "scorecard": _("Weighted scorecard"),
    "key_account": _("Key-account levels"),
}


def get_kind(name: str) -> ModuleType:
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError({"kind": [str(_("Unknown grading kind."))]}) from None


__all__ = ["KINDS", "KIND_LABELS", "ConfigError", "Graded", "get_kind"]
