from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Lookup, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.service_desk import workflow
from kehu.service_desk.ticketing import SlaEvent


class Channel(models.TextChoices):
    LETTER = "letter", _("Letter")
    SUGGESTION_BOX = "suggestion_box", _("Suggestion box")
    IN_PERSON = "in_person", _("In person")
    PROXY = "proxy", _("By proxy")
    ONLINE_FORM = "online_form", _("Online form")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")


class Severity(models.TextChoices):
    GENERAL = "general", _("General")
    MAJOR = "major", _("Major")
    SERIOUS = "serious", _("Serious")


STATE_LABELS = {
    workflow.RECORDED: pgettext_lazy("complaint state", "Recorded"),
    workflow.JUDGED: _("Nature judged"),
    workflow.INVESTIGATING: _("Cause under investigation"),
    workflow.ASSIGNED: _("Responsible person assigned"),
    workflow.SOLUTION_PROPOSED: _("Solution awaiting approval"),
    workflow.SOLUTION_APPROVED: _("Solution approved"),
    workflow.ANSWERED: _("Customer answered"),
    workflow.RETURN_VISITED: _("Return visit done"),
    workflow.EVALUATED: _("Summarised and evaluated"),
    workflow.CLOSED: _("Closed"),
}


OPEN_CONDITION = Q(state__in=workflow.OPEN_STATES)


class InLiteral(Lookup):
    """``state IN ('recorded', …)`` with the values written into the SQL rather than bound. SQLite
    uses a partial index only when the query repeats the index's condition with the same constants;
    a bound parameter never matches. Only for the code's own state names (checked), never user input."""

    lookup_name = "in_literal"
    prepare_rhs = False
    _SAFE = re.compile(r"[a-z_]{1,40}")

    def as_sql(self, compiler, connection):
        values = list(self.rhs)
        if not values or not all(isinstance(v, str) and self._SAFE.fullmatch(v) for v in values):
            raise ValueError("in_literal takes a non-empty list of the code's own state names")
        lhs, params = self.process_lhs(compiler, connection)
        quoted = ", ".join(f"'{v}'" for v in values)
        return f"{lhs} IN ({quoted})", params


def open_q() -> Q:
    """The open complaints, written so that the partial indexes over OPEN_CONDITION apply."""
    return Q(state__in_literal=workflow.OPEN_STATES)


class Complaint(models.Model):
    """A customer complaint (客户投诉). Whoever receives it stays accountable (首问责任制) unless a
    manager reassigns it with a reason."""

    tracking_no = models.CharField(_("tracking number"), max_length=32, unique=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="complaints")
    complainant_name = models.CharField(_("complainant"), max_length=100)
    complainant_phone_enc = models.TextField(blank=True, default="")
    complainant_phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    complainant_phone_masked = models.CharField(_("phone"), max_length=20, blank=True, default="")
    # What the complainant said about their organisation, to match the complaint to a customer.
    complainant_company = models.CharField(_("complainant's organisation"), max_length=200, blank=True, default="")
    complainant_uscc = models.CharField(_("organisation's USCC"), max_length=18, blank=True, default="")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("received by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    accountable = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("accountable person"),
                                    on_delete=models.PROTECT, related_name="accountable_complaints")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=20, default=workflow.RECORDED,
                             choices=[(s, STATE_LABELS[s]) for s in workflow.STATES])
    severity = models.CharField(_("nature"), max_length=10, choices=Severity.choices, default=Severity.GENERAL)
    category = models.CharField(_("category"), max_length=50, blank=True, default="")
    cause = models.TextField(_("cause"), blank=True, default="")
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("responsible person"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="responsible_complaints")
    solution = models.TextField(_("solution"), blank=True, default="")
    meeting_minutes = models.TextField(_("managers' meeting minutes"), blank=True, default="")
    reply = models.TextField(_("reply to the customer"), blank=True, default="")
    return_visit_note = models.TextField(_("return visit"), blank=True, default="")
    satisfied = models.BooleanField(_("customer satisfied"), null=True, blank=True)
    evaluation = models.TextField(_("summary and evaluation"), blank=True, default="")
    sla_days = models.PositiveSmallIntegerField(_("SLA (working days)"))
    due_at = models.DateTimeField(_("due"), db_index=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # After the answer the SLA clock stops; the return visit and the summary have their own deadline.
    followup_due_at = models.DateTimeField(_("return visit and summary due"), null=True, blank=True)
    followup_reminded_at = models.DateTimeField(_("follow-up reminder sent at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("SLA breached at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    version = models.PositiveIntegerField(default=0)  # optimistic check for two agents acting at once
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=workflow.STATES), name="complaint_state_known"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="complaint_severity_known"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="complaint_channel_known"),
            models.CheckConstraint(condition=Q(escalation_level__lte=2), name="complaint_escalation_range"),
            models.CheckConstraint(condition=Q(sla_days__gte=1), name="complaint_sla_positive"),
        ]
        indexes = [
            # Partial indexes over the open complaints only (5 % of the table at scale): the board and
            # the open list read them in deadline order, the SLA sweep finds the newly overdue in one
            # range. Queries must say "open" with open_q() so the database can match the condition.
            models.Index(fields=["due_at", "id"], name="complaint_open_by_due", condition=OPEN_CONDITION),
            models.Index(fields=["escalation_level", "due_at"], name="complaint_open_escalation",
                         condition=OPEN_CONDITION),
            models.Index(fields=["state", "due_at"], name="complaint_open_due"),
            models.Index(fields=["accountable", "state"], name="complaint_accountable"),
            models.Index(fields=["department", "state"], name="complaint_department"),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_no} {self.subject}"


Complaint._meta.get_field("state").register_lookup(InLiteral)


class ComplaintEvent(SlaEvent):
    """The complaint's history: every step, by whom, from which state to which."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")

    class Meta(SlaEvent.Meta):
        indexes = [models.Index(fields=["complaint", "at"], name="complaint_event_at")]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.action}"
