"""A policy's text form (YAML) for export and import: the same fields a version stores, nothing else."""

from __future__ import annotations

import yaml
from django.utils.translation import gettext as _

from kehu.errors import Invalid

FIELDS = ("name", "kind", "description", "active_from", "config")
MAX_YAML_BYTES = 200_000


def policy_to_yaml(policy) -> str:
    data = {"name": policy.name, "kind": policy.kind, "version": policy.version,
            "description": policy.description,
            "active_from": policy.active_from.isoformat() if policy.active_from else None,
            "config": policy.config}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def policy_from_yaml(text: str) -> dict:
    """Parse an exported policy; the caller validates the kind and config. Only plain YAML (safe_load)."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise Invalid(_("The YAML document is too large."), fields={"yaml": [_("At most 200 KB.")]})
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _(" (line %(line)d)") % {"line": mark.line + 1} if mark else ""
        raise Invalid(_("This is not valid YAML%(where)s.") % {"where": where},
                      fields={"yaml": [_("Not valid YAML.")]}) from None
    if not isinstance(data, dict):
        raise Invalid(_("The YAML document must be a mapping with name, kind and config."),
                      fields={"yaml": [_("Expected a mapping.")]})
    unknown = sorted(set(data) - set(FIELDS) - {"version"})
    if unknown:
        raise Invalid(_("Unknown keys: %(keys)s.") % {"keys": ", ".join(map(str, unknown))},
                      fields={"yaml": [_("Unknown keys.")]})
    active_from = data.get("active_from")
    return {"name": data.get("name"), "kind": data.get("kind"), "description": data.get("description") or "",
            "active_from": str(active_from) if active_from is not None else None, "config": data.get("config")}
