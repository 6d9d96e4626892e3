"""Tables of service requests (咨询 / 报修 / 服务请求), emergencies (紧急) and the on-duty roster (值班表)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.service_desk.ticketing import SlaEvent
from kehu.service_desk.tickets import workflow


class Kind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    REPAIR = "repair", _("Repair")
    SERVICE = "service", _("Service request")
    EMERGENCY = "emergency", _("Emergency")


class TicketChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    ONLINE = "online", _("Online")
    IN_PERSON = "in_person", _("Face to face")
    WECHAT = "wechat", _("WeChat")
    LETTER = "letter", _("Letter")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


STATE_LABELS = {
    workflow.OPEN: _("Waiting to be accepted"),
    workflow.ACCEPTED: _("Accepted"),
    workflow.IN_PROGRESS: _("In progress"),
    workflow.RESOLVED: _("Resolved"),
    workflow.CLOSED: _("Closed"),
    workflow.CANCELLED: _("Cancelled"),
}


class ServiceTicket(models.Model):
    """A customer's service request or emergency. Whoever receives it stays accountable (首问负责);
    the assignee does the work. Due dates come from the working-day calendar (emergencies: hours)."""

    number = models.CharField(_("request number"), max_length=32, unique=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="service_tickets")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=TicketChannel.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("request details"))
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True, default="")
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("received by"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    accountable = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("accountable person"),
                                    on_delete=models.PROTECT, related_name="accountable_tickets")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="assigned_tickets")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=20, default=workflow.OPEN,
                             choices=[(s, STATE_LABELS[s]) for s in workflow.STATES])
    resolution = models.TextField(_("resolution"), blank=True, default="")
    confirmation = models.TextField(_("customer confirmation"), blank=True, default="")
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True, default="")
    sla_days = models.PositiveSmallIntegerField(_("SLA (working days)"), default=0)
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    responded_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), db_index=True)
    # When an overdue request goes one level higher (emergencies: that many hours after the breach).
    escalate_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(_("SLA breached at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    customer_informed_at = models.DateTimeField(_("customer told the result at"), null=True, blank=True)
    customer_informed_via = models.CharField(_("customer told by"), max_length=20, blank=True, default="",
                                             choices=TicketChannel.choices)
    customer_informed_note = models.TextField(_("what the customer was told"), blank=True, default="")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)  # optimistic check for two agents acting at once
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=workflow.STATES), name="ticket_state_known"),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="ticket_kind_known"),
            models.CheckConstraint(condition=Q(channel__in=TicketChannel.values), name="ticket_channel_known"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="ticket_priority_known"),
            models.CheckConstraint(condition=Q(escalation_level__lte=2), name="ticket_escalation_range"),
            models.CheckConstraint(condition=Q(customer_informed_via="") | Q(customer_informed_via__in=TicketChannel.values),
                                   name="ticket_informed_via_known"),
            # An emergency is never closed before the customer has been told the result.
            models.CheckConstraint(condition=~Q(kind="emergency", state="closed") | Q(customer_informed_at__isnull=False),
                                   name="ticket_emergency_closed_informed"),
            models.CheckConstraint(condition=~Q(state="closed") | Q(closed_at__isnull=False),
                                   name="ticket_closed_has_time"),
            models.CheckConstraint(condition=Q(escalation_level=0) | Q(breached_at__isnull=False),
                                   name="ticket_escalated_only_when_breached"),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="ticket_state_due"),
            models.Index(fields=["accountable", "state"], name="ticket_accountable"),
            models.Index(fields=["assignee", "state"], name="ticket_assignee"),
            models.Index(fields=["department", "state"], name="ticket_department"),
            models.Index(fields=["customer", "state"], name="ticket_customer"),
            # The sweep's two searches read only the open, not-yet-escalated rows.
            models.Index(fields=["due_at"], name="ticket_sweep_due",
                         condition=Q(escalation_level=0, state__in=workflow.SLA_STATES)),
            models.Index(fields=["response_due_at"], name="ticket_sweep_response",
                         condition=Q(escalation_level=0, responded_at__isnull=True, kind="emergency")),
            models.Index(fields=["escalation_level", "state"], name="ticket_escalation"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_emergency(self) -> bool:
        return self.kind == Kind.EMERGENCY

    @property
    def is_final(self) -> bool:
        return self.state in workflow.FINAL_STATES


class TicketEvent(SlaEvent):
    """The request's history: every step, by whom, from which state to which."""

    ticket = models.ForeignKey(ServiceTicket, on_delete=models.CASCADE, related_name="events")

    class Meta(SlaEvent.Meta):
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action}"


ALL_WEEKDAYS = 0b1111111


class OnDutyRoster(models.Model):
    """One on-duty shift (值班): who answers emergencies, for one department (with its sub-departments)
    or for all, on the days of a date range and weekdays (bit 0 = Monday), within a daily time window
    (Asia/Shanghai; a window ending before it starts runs past midnight, one ending when it starts
    lasts the whole day)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("on duty"), on_delete=models.CASCADE,
                             related_name="on_duty_shifts")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="+",
                                   help_text=_("Empty: on duty for every department."))
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"))
    weekdays = models.PositiveSmallIntegerField(_("weekdays"), default=ALL_WEEKDAYS)
    start_time = models.TimeField(_("from (time)"))
    end_time = models.TimeField(_("until (time)"))
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("on-duty shift")
        verbose_name_plural = _("on-duty roster")
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="duty_dates_ordered"),
            models.CheckConstraint(condition=Q(weekdays__gte=1, weekdays__lte=ALL_WEEKDAYS), name="duty_weekdays_range"),
        ]
        indexes = [models.Index(fields=["end_date", "start_date"], name="duty_dates")]

    def __str__(self) -> str:
        return f"{self.user} {self.start_date}–{self.end_date} {self.start_time:%H:%M}–{self.end_time:%H:%M}"
