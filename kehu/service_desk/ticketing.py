"""The SLA-ticket core shared by complaints and service requests: the history (event) model, how a
step is written to it, and how the history is shown. Each procedure keeps its own states and rules
(``workflow.py`` / ``tickets/workflow.py``); the SLA clock both run on is ``kehu.service_desk.sla``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _


class SlaEvent(models.Model):
    """One step of an SLA ticket's history: when, by whom (and their name at the time), what, from
    which state to which, with a note. Concrete models add the foreign key to their ticket."""

    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=32)
    from_state = models.CharField(max_length=20, blank=True, default="")
    to_state = models.CharField(max_length=20, blank=True, default="")
    note = models.TextField(blank=True, default="")

    class Meta:
        abstract = True


def person_name(user) -> str:
    """How a person is shown: their display name, the login name only when they have none."""
    if user is None or not getattr(user, "pk", None):
        return "system"
    return str(user)


def event_write(model: type[SlaEvent], *, ticket, field: str, actor, action: str, from_state: str,
                note: str = "") -> SlaEvent:
    """Append a step to ``ticket``'s history (``field`` names the event's foreign key)."""
    return model.objects.create(**{
        field: ticket, "at": timezone.now(), "actor": actor if actor and actor.pk else None,
        "actor_name": person_name(actor), "action": action, "from_state": from_state,
        "to_state": ticket.state, "note": (note or "")[:2000],
    })


def history_for_display(events, *, labels: dict, state_labels: dict) -> list:
    """The history with what the shared template shows: the step's label, the state it led to (when it
    changed) and the person's current display name (events older than the name rule kept the login
    name; the actor row, loaded with the events, gives the name)."""
    out = list(events)
    for e in out:
        e.label = labels.get(e.action, e.action)
        e.to_label = state_labels.get(e.to_state, "") if e.to_state != e.from_state else ""
        if e.actor_id and e.actor is not None:
            e.who = person_name(e.actor)
        else:
            e.who = _("System") if e.actor_name in ("", "system") else e.actor_name
    return out


def is_line_manager_of(actor, department_id: int | None) -> bool:
    """A manager above (or in) ``department_id`` in the department line: someone who may reassign and
    whose data scope covers that department (executives and administrators: every department)."""
    from kehu.access.roles import Perm, Scope

    if actor is None or not actor.is_authenticated or not actor.has_kehu_perm(Perm.COMPLAINT_REASSIGN):
        return False
    scope = actor.role_spec.scope
    if scope == Scope.ALL:
        return True
    if scope == Scope.SUBTREE and department_id is not None:
        return department_id in actor.department_subtree_ids()
    return False


def may_act(actor, *, accountable_id: int, department_id: int | None, also: tuple = ()) -> bool:
    """谁受理、谁跟进、谁回复: the accountable person (首问), anyone in ``also`` (a service request's
    assignee), or a manager above the accountable person in the department line."""
    if actor is None or not actor.is_authenticated:
        return False
    return actor.pk == accountable_id or actor.pk in {pk for pk in also if pk} or is_line_manager_of(
        actor, department_id)
