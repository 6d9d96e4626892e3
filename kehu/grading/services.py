"""Every write of grading: policy versions (draft → active → retired), import, and (later) runs and
overrides. Each takes the acting user first, checks GRADING_MANAGE, runs in one transaction and writes its
audit entry in it."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from kehu.access.roles import Perm
from kehu.audit.services import audit_record
from kehu.errors import Conflict, Forbidden, Invalid, NotFound
from kehu.grading import policies
from kehu.grading.kinds import KINDS, ConfigError
from kehu.grading.models import GradingPolicy, PolicyState

MAX_NAME = 100


def require_manage(actor) -> None:
    if actor is not None and not actor.has_kehu_perm(Perm.GRADING_MANAGE):
        raise Forbidden(_("Only an administrator or an executive may manage grading policies."))


def check_policy(*, name, kind, config, active_from=None, description="") -> dict:
    """Validate the fields of a policy version; return them cleaned, or raise Invalid naming each field."""
    fields: dict[str, list[str]] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME:
        fields["name"] = [_("Give the policy a name of 1 to 100 characters.")]
    if kind not in KINDS:
        fields["kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(KINDS)}]
    elif config is None or not isinstance(config, dict):
        fields["config"] = [_("The configuration must be a mapping of settings.")]
    else:
        try:
            KINDS[kind].validate(config)
        except ConfigError as exc:
            for key, messages in exc.fields.items():
                fields[f"config.{key}"] = messages
    if active_from not in (None, ""):
        if isinstance(active_from, str):
            try:
                active_from = dt.date.fromisoformat(active_from)
            except ValueError:
                fields["active_from"] = [_("Enter a date as YYYY-MM-DD.")]
        elif not isinstance(active_from, dt.date):
            fields["active_from"] = [_("Enter a date as YYYY-MM-DD.")]
    else:
        active_from = None
    description = description if isinstance(description, str) else ""
    if len(description) > 500:
        fields["description"] = [_("At most 500 characters.")]
    if fields:
        first = next(iter(fields.values()))[0]
        raise Invalid(first, fields=fields)
    return {"name": name, "kind": kind, "config": config, "active_from": active_from, "description": description}


def _lock_policy(policy_id: int) -> GradingPolicy:
    policy = GradingPolicy.objects.select_for_update().filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(_("No such grading policy."))
    return policy


@transaction.atomic
def policy_create(*, actor, name, kind, config, active_from=None, description="") -> GradingPolicy:
    """A new draft: version 1 of a new name, or the next version of an existing one."""
    require_manage(actor)
    data = check_policy(name=name, kind=kind, config=config, active_from=active_from, description=description)
    latest = GradingPolicy.objects.filter(name=data["name"]).aggregate(v=Max("version"))["v"] or 0
    try:
        with transaction.atomic():
            policy = GradingPolicy.objects.create(version=latest + 1, created_by=actor if actor else None, **data)
    except IntegrityError:
        raise Conflict(_("Another version of this policy was saved at the same time; try again.")) from None
    audit_record(actor=actor, action="grading.policy.create", obj=policy,
                 changes={"kind": policy.kind, "version": policy.version})
    return policy


@transaction.atomic
def policy_update(*, actor, policy_id: int, name, kind, config, active_from=None, description="") -> GradingPolicy:
    """Edit a draft. An active or retired version is history: edit a new version instead."""
    require_manage(actor)
    policy = _lock_policy(policy_id)
    if policy.state != PolicyState.DRAFT:
        raise Conflict(_("Only a draft can be edited; save a new version instead."))
    data = check_policy(name=name, kind=kind, config=config, active_from=active_from, description=description)
    if data["name"] != policy.name:
        raise Invalid(_("A version keeps its policy's name."), fields={"name": [_("Cannot be changed.")]})
    for key, value in data.items():
        setattr(policy, key, value)
    policy.save()
    audit_record(actor=actor, action="grading.policy.update", obj=policy, changes={"config": policy.config})
    return policy


@transaction.atomic
def policy_activate(*, actor, policy_id: int, active_from: dt.date | None = None) -> GradingPolicy:
    """Make a draft the active version of its name (the previous active version retires)."""
    require_manage(actor)
    policy = _lock_policy(policy_id)
    if policy.state != PolicyState.DRAFT:
        raise Conflict(_("Only a draft can be activated."))
    check_policy(name=policy.name, kind=policy.kind, config=policy.config)
    retired = list(GradingPolicy.objects.select_for_update()
                   .filter(name=policy.name, state=PolicyState.ACTIVE).values_list("version", flat=True))
    GradingPolicy.objects.filter(name=policy.name, state=PolicyState.ACTIVE).update(state=PolicyState.RETIRED)
    policy.state = PolicyState.ACTIVE
    policy.active_from = active_from or policy.active_from or dt.date.today()
    try:
        with transaction.atomic():
            policy.save(update_fields=["state", "active_from", "updated_at"])
    except IntegrityError:
        raise Conflict(_("Another version of this policy was activated at the same time.")) from None
    audit_record(actor=actor, action="grading.policy.activate", obj=policy,
                 changes={"active_from": policy.active_from.isoformat(), "retired_versions": retired})
    return policy


@transaction.atomic
def policy_retire(*, actor, policy_id: int) -> GradingPolicy:
    require_manage(actor)
    policy = _lock_policy(policy_id)
    if policy.state == PolicyState.RETIRED:
        raise Conflict(_("This version is already retired."))
    policy.state = PolicyState.RETIRED
    policy.save(update_fields=["state", "updated_at"])
    audit_record(actor=actor, action="grading.policy.retire", obj=policy)
    return policy


def policy_import_yaml(*, actor, text: str) -> GradingPolicy:
    """A new draft version from an exported YAML document."""
    require_manage(actor)
    return policy_create(actor=actor, **policies.policy_from_yaml(text))
