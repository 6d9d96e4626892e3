"""The approval engine's tables (审批): chains of steps, requests about any object, one task per
assignee per step, delegations while away, and the history of every action."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StepKind(models.TextChoices):
    ROLE_IN_LINE = "role_in_line", _("Role in the requester's department line")
    USERS = "users", _("Named users")
    # 各级主管领导: one approval per level of the department line that has a business manager, upwards.
    LINE_MANAGERS = "line_managers", _("Every manager up the department line")
    # 经理办公会: the step's outcome is a meeting's recorded decision; the role says who records it.
    MEETING = "meeting", _("Managers' meeting")


class StepMode(models.TextChoices):
    ANY = "any", _("Any one approves")
    ALL = "all", _("All must approve")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for changes")
    CANCELLED = "cancelled", _("Cancelled")


class TaskStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned")
    SKIPPED = "skipped", _("Skipped")


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    RETURN = "return", _("Return")


OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.RETURNED)

# The payload keys the asking apps use, with the label the approval page shows them under.
PAYLOAD_LABELS = {
    "reason": _("Reason"),
    "summary": _("Proposed solution"),
    "current_due": _("Current due date"),
    "proposed_due": _("Proposed due date"),
    "days": _("Working days in all"),
    "severity": _("Complaint severity"),
    "credit_limit": _("Credit limit"),
}
# Coded payload values shown to people by their label (the codes the requesting apps put in).
PAYLOAD_VALUE_LABELS = {
    "severity": {"general": _("General"), "major": _("Major"), "serious": _("Serious")},
}


def _fact_value(value, key: str = "") -> str:
    """A payload value for people: a code by its label, an ISO date-time in local time
    ("2026-12-08 18:00"; a deadline at midnight as "2026-12-07 24:00", as the request's title says it),
    else as is."""
    labels = PAYLOAD_VALUE_LABELS.get(key)
    if labels and value in labels:
        return str(labels[value])
    text = str(value)
    if isinstance(value, str) and len(text) >= 10 and text[4:5] == "-":
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
        if len(text) == 10:
            return f"{parsed:%Y-%m-%d}"
        if timezone.is_aware(parsed):
            parsed = timezone.localtime(parsed)
        if parsed.hour == 0 and parsed.minute == 0:
            return f"{parsed - dt.timedelta(days=1):%Y-%m-%d} 24:00"
        return f"{parsed:%Y-%m-%d %H:%M}"
    return text


class ApprovalChain(models.Model):
    """A named sequence of steps (审批流程), looked up by code, e.g. "complaint.solution.general"."""

    code = models.CharField(_("code"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("approval chain")
        verbose_name_plural = _("approval chains")

    def __str__(self) -> str:
        return self.name


class ApprovalStep(models.Model):
    """One step of a chain: who approves (a role found up the requester's department line, or named
    users) and whether one of them suffices or all must approve."""

    chain = models.ForeignKey(ApprovalChain, verbose_name=_("chain"), on_delete=models.CASCADE,
                              related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100, blank=True, default="")
    kind = models.CharField(_("kind"), max_length=20, choices=StepKind.choices)
    role = models.CharField(_("role"), max_length=32, blank=True, default="")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("users"), blank=True,
                                   related_name="+")
    mode = models.CharField(_("mode"), max_length=10, choices=StepMode.choices, default=StepMode.ANY)

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["chain", "order"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "order"], name="approval_step_unique_order"),
            models.CheckConstraint(condition=Q(order__gte=1), name="approval_step_order_positive"),
            models.CheckConstraint(condition=Q(kind__in=StepKind.values), name="approval_step_kind_known"),
            models.CheckConstraint(condition=Q(mode__in=StepMode.values), name="approval_step_mode_known"),
            models.CheckConstraint(condition=~Q(kind__in=[StepKind.ROLE_IN_LINE, StepKind.MEETING]) | ~Q(role=""),
                                   name="approval_step_role_given"),
        ]

    def __str__(self) -> str:
        return f"{self.chain.code} #{self.order}"


class ApprovalRequest(models.Model):
    """A request for approval of any object (the "approvable", by content type and id)."""

    chain = models.ForeignKey(ApprovalChain, verbose_name=_("chain"), on_delete=models.PROTECT,
                              related_name="requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requester"),
                                  on_delete=models.PROTECT, related_name="approval_requests")
    # The requester's department when asking: the line role steps walk up, and the managers' scope.
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    title = models.CharField(_("title"), max_length=200)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=RequestStatus.choices,
                              default=RequestStatus.PENDING)
    current_step = models.PositiveSmallIntegerField(_("current step"), default=1)
    # Incremented by each resubmission after a return; tasks belong to one round.
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="approval_request_target"),
            models.Index(fields=["requester", "-id"], name="approval_request_requester"),
        ]
        constraints = [
            # One open request per object and chain: asking twice is a 409, even in a race.
            models.UniqueConstraint(fields=["content_type", "object_id", "chain"],
                                    condition=Q(status__in=[RequestStatus.PENDING, RequestStatus.RETURNED]),
                                    name="approval_request_one_open_per_target"),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="approval_request_status_known"),
            models.CheckConstraint(condition=Q(current_step__gte=1) & Q(round__gte=1),
                                   name="approval_request_step_positive"),
            models.CheckConstraint(
                condition=Q(status__in=[RequestStatus.PENDING, RequestStatus.RETURNED], decided_at__isnull=True)
                | (~Q(status__in=[RequestStatus.PENDING, RequestStatus.RETURNED]) & Q(decided_at__isnull=False)),
                name="approval_request_decided_when_closed"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def target_label(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def object_url(self) -> str:
        """The page of the object to approve, as the asking app stored it (a path on this site only)."""
        url = str((self.payload or {}).get("object_url") or "")
        return url if url.startswith("/") and not url.startswith("//") else ""

    @property
    def facts(self) -> list[tuple[str, str]]:
        """What the approver decides on, from the payload: the known facts with their labels first
        (reason, current and proposed due date, summary), then any other plain value."""
        payload = self.payload if isinstance(self.payload, dict) else {}
        out = [(str(label), _fact_value(payload[key], key)) for key, label in PAYLOAD_LABELS.items()
               if payload.get(key) not in (None, "")]
        out += [(str(key), str(value)) for key, value in payload.items()
                if key not in PAYLOAD_LABELS and key != "object_url" and isinstance(value, str | int | float)
                and value != ""]
        return out


class ApprovalTask(models.Model):
    """One assignee's part in one step of one round of a request."""

    request = models.ForeignKey(ApprovalRequest, verbose_name=_("request"), on_delete=models.CASCADE,
                                related_name="tasks")
    # The chain may later be redefined; the task keeps the step's order and mode it was asked under.
    step = models.ForeignKey(ApprovalStep, verbose_name=_("step"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    step_order = models.PositiveSmallIntegerField(_("step"))
    step_mode = models.CharField(_("mode"), max_length=10, choices=StepMode.choices)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    # In a line_managers step: the level (department) of the line this task approves for.
    line_department = models.ForeignKey("access.Department", verbose_name=_("level"), null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT,
                                 related_name="approval_tasks")
    delegated_from = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("delegated from"), null=True,
                                       blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    comment = models.TextField(_("comment"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    acted_at = models.DateTimeField(_("acted at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval task")
        verbose_name_plural = _("approval tasks")
        indexes = [models.Index(fields=["assignee", "status"], name="approval_task_inbox")]
        constraints = [
            models.UniqueConstraint(fields=["request", "round", "step_order", "assignee"],
                                    name="approval_task_unique_assignee"),
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="approval_task_status_known"),
            models.CheckConstraint(condition=Q(status=TaskStatus.PENDING, acted_at__isnull=True)
                                   | (~Q(status=TaskStatus.PENDING) & Q(acted_at__isnull=False)),
                                   name="approval_task_acted_when_done"),
            models.CheckConstraint(condition=Q(delegated_from__isnull=True) | ~Q(delegated_from=F("assignee")),
                                   name="approval_task_not_delegated_to_self"),
        ]

    def __str__(self) -> str:
        return f"{self.request} · {self.assignee}"


class ApprovalEvent(models.Model):
    """The request's history, one row per action (submitted, approved, returned, reminded, …)."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(_("actor"), max_length=150)
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    action = models.CharField(_("action"), max_length=30)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    step_order = models.PositiveSmallIntegerField(_("step"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, default="")

    class Meta:
        verbose_name = _("approval event")
        verbose_name_plural = _("approval events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.actor_name}"


class ApprovalMeeting(models.Model):
    """The record of a managers' meeting (经理办公会专题会议) that decided a meeting step: when it was
    held, who took part, its minutes and its decision, and who recorded it. The step's outcome is
    this decision."""

    request = models.ForeignKey(ApprovalRequest, verbose_name=_("request"), on_delete=models.CASCADE,
                                related_name="meetings")
    round = models.PositiveSmallIntegerField(_("round"))
    step_order = models.PositiveSmallIntegerField(_("step"))
    held_on = models.DateField(_("meeting date"))
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("participants"),
                                          related_name="+")
    minutes = models.TextField(_("minutes"))
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("managers' meeting")
        verbose_name_plural = _("managers' meetings")
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "round", "step_order"], name="approval_meeting_one_per_step"),
            models.CheckConstraint(condition=Q(decision__in=Decision.values), name="approval_meeting_decision_known"),
            models.CheckConstraint(condition=~Q(minutes=""), name="approval_meeting_minutes_given"),
        ]

    def __str__(self) -> str:
        return f"{self.request} · {self.held_on}"


class Delegation(models.Model):
    """While away (出差、休假), the delegator's approval tasks go to the delegate."""

    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("delegator"), on_delete=models.CASCADE,
                                  related_name="delegations_given")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("delegate"), on_delete=models.CASCADE,
                                 related_name="delegations_received")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        indexes = [models.Index(fields=["delegator", "ends_at"], name="delegation_active")]
        constraints = [
            models.CheckConstraint(condition=~Q(delegator=F("delegate")), name="delegation_not_to_self"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="delegation_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate}"
