"""Activating a policy version at a date (生效日期): a draft is scheduled to take effect on a later day, the
version in force stays in force until then, and on that day the worker activates it (retiring the previous
version, exactly as activating by hand does, through services.policy_activate) and starts its first run.

    draft --schedule(date > today)--> scheduled --(the date comes: activate_due)--> active
    scheduled --unschedule--> draft              scheduled --retire--> retired (services.policy_retire)

At most one version of a name is scheduled (a database constraint), and a scheduled version has its date (a
check). A scheduled version is not editable (only drafts are); cancel the schedule to edit it."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.audit.services import audit_record
from kehu.errors import Conflict, Invalid
from kehu.grading import services
from kehu.grading.models import GradingPolicy, GradingRun, PolicyState, RunTrigger


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.date):
        raise Invalid(_("Enter a date as YYYY-MM-DD."), fields={"active_from": [_("Enter a date as YYYY-MM-DD.")]})
    return value


@transaction.atomic
def policy_schedule(*, actor, policy_id: int, active_from) -> GradingPolicy:
    """Schedule a draft to take effect on ``active_from`` (a day after today; to make it active today,
    activate it). 422 for a bad or past date, 409 unless a draft or when another version is scheduled."""
    services.require_manage(actor)
    policy = services._lock_policy(policy_id)
    if policy.state != PolicyState.DRAFT:
        raise Conflict(_("Only a draft can be scheduled."))
    day = _date(active_from)
    today = timezone.localdate()
    if not today < day <= dt.date(2100, 12, 31):
        raise Invalid(_("Choose a day after today; to make the policy active today, activate it."),
                      fields={"active_from": [_("A day after today.")]})
    services.check_policy(name=policy.name, kind=policy.kind, config=policy.config)
    policy.state, policy.active_from = PolicyState.SCHEDULED, day
    try:
        with transaction.atomic():
            policy.save(update_fields=["state", "active_from", "updated_at"])
    except IntegrityError:
        raise Conflict(_("Another version of this policy is already scheduled; cancel its schedule first."),
                       code="already_scheduled") from None
    audit_record(actor=actor, action="grading.policy.schedule", obj=policy,
                 changes={"active_from": day.isoformat()})
    return policy


@transaction.atomic
def policy_unschedule(*, actor, policy_id: int) -> GradingPolicy:
    """Cancel a schedule: the version is a draft again (editable); the version in force stays."""
    services.require_manage(actor)
    policy = services._lock_policy(policy_id)
    if policy.state != PolicyState.SCHEDULED:
        raise Conflict(_("This version is not scheduled."))
    policy.state = PolicyState.DRAFT
    policy.save(update_fields=["state", "updated_at"])
    audit_record(actor=actor, action="grading.policy.unschedule", obj=policy,
                 changes={"active_from": policy.active_from.isoformat() if policy.active_from else None})
    return policy


def activate_due(*, today: dt.date | None = None) -> list[GradingRun]:
    """The worker's daily step: every scheduled version whose date has come becomes the active version of its
    name (the previous one retires) and its first run is recorded (the caller enqueues it). Each version in
    its own transaction, so one failure does not hold back the others."""
    today = today or timezone.localdate()
    runs = []
    for pk in (GradingPolicy.objects.filter(state=PolicyState.SCHEDULED, active_from__lte=today)
               .order_by("active_from", "id").values_list("pk", flat=True)):
        with transaction.atomic():
            policy = services._lock_policy(pk)
            if policy.state != PolicyState.SCHEDULED:
                continue  # cancelled or retired meanwhile
            policy.state = PolicyState.DRAFT
            policy.save(update_fields=["state"])
            services.policy_activate(actor=None, policy_id=pk, active_from=policy.active_from)
            runs.append(services.run_start(actor=None, policy_id=pk, as_of=services.default_as_of(today),
                                           trigger=RunTrigger.ACTIVATION))
    return runs
