"""Scheduled inspections (巡检): checklists, a plan per customer with its cycle, the visits generated from
the plans, and the report filed for a visit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Importance(models.TextChoices):
    """How important the customer is, set by hand on the plan: it chooses the default cycle
    (settings.KEHU_INSPECTION_CYCLE_DAYS) of a customer whose grade (客户分级) sets no inspection cycle."""

    KEY = "key", _("Key customer")
    IMPORTANT = "important", _("Important customer")
    NORMAL = "normal", _("Normal customer")


class CycleSource(models.TextChoices):
    """Where a plan's cycle comes from. A plan following a default (the grade's service policy, else the
    importance) takes the new default at its next inspection when the grade changes; one set by hand
    keeps its cycle."""

    GRADE = "grade", _("the customer's grade")
    IMPORTANCE = "importance", _("the customer importance")
    SET = "set", _("set by hand")


class CycleUnit(models.TextChoices):
    DAY = "day", _("days")
    WEEK = "week", _("weeks")
    MONTH = "month", _("months")


class Answer(models.TextChoices):
    OK = "ok", _("OK")
    ISSUE = "issue", _("Issue found")
    NA = "na", _("Not applicable")


class VisitState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    MISSED = "missed", _("Missed")


class InspectionChecklist(models.Model):
    """A named template of what an inspection checks (巡检内容), e.g. 设备运行状态, 系统稳定性, 安全隐患."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True, default="")
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("inspection checklist")
        verbose_name_plural = _("inspection checklists")
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="insp_checklist_name_required"),
        ]

    def __str__(self) -> str:
        return self.name


class InspectionChecklistItem(models.Model):
    """One point of a checklist, answered on site as OK / issue found / not applicable, with a note."""

    checklist = models.ForeignKey(InspectionChecklist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("position"))
    label = models.CharField(_("item"), max_length=100)
    hint = models.CharField(_("what to check"), max_length=300, blank=True, default="")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "position"], name="insp_item_position_unique"),
            models.UniqueConstraint(fields=["checklist", "label"], name="insp_item_label_unique"),
            models.CheckConstraint(condition=~Q(label=""), name="insp_item_label_required"),
        ]

    def __str__(self) -> str:
        return self.label


class InspectionPlan(models.Model):
    """A customer's inspection plan: which checklist, how often, who inspects, when the next one is due."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="inspection_plans")
    checklist = models.ForeignKey(InspectionChecklist, verbose_name=_("checklist"), on_delete=models.PROTECT,
                                  related_name="plans")
    importance = models.CharField(_("customer importance"), max_length=10, choices=Importance.choices,
                                  default=Importance.NORMAL)
    cycle_length = models.PositiveSmallIntegerField(_("every"))
    cycle_unit = models.CharField(_("cycle unit"), max_length=5, choices=CycleUnit.choices, default=CycleUnit.DAY)
    cycle_source = models.CharField(_("cycle from"), max_length=10, choices=CycleSource.choices,
                                    default=CycleSource.SET)
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("inspector"), on_delete=models.PROTECT,
                                  related_name="inspection_plans")
    # The calendar date the next inspection falls on; its visit's deadline is this date, moved back to
    # the previous working day when it is not one.
    next_due = models.DateField(_("next inspection"))
    active = models.BooleanField(_("active"), default=True)
    note = models.TextField(_("note"), blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("inspection plan")
        verbose_name_plural = _("inspection plans")
        constraints = [
            models.CheckConstraint(condition=Q(importance__in=Importance.values), name="insp_plan_importance_known"),
            models.CheckConstraint(condition=Q(cycle_unit__in=CycleUnit.values), name="insp_plan_cycle_unit_known"),
            models.CheckConstraint(condition=Q(cycle_source__in=CycleSource.values),
                                   name="insp_plan_cycle_source_known"),
            models.CheckConstraint(condition=Q(cycle_length__gte=1), name="insp_plan_cycle_positive"),
            # One active plan per customer and checklist: two would double every visit.
            models.UniqueConstraint(fields=["customer", "checklist"], condition=Q(active=True),
                                    name="insp_plan_one_active"),
        ]
        indexes = [
            # The generator's scan: active plans by due date.
            models.Index(fields=["active", "next_due", "id"], name="insp_plan_due"),
            models.Index(fields=["inspector", "active"], name="insp_plan_inspector"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} · {self.checklist_id}"


class InspectionVisit(models.Model):
    """One inspection generated from a plan. ``scheduled_date`` is the plan's date for this round;
    ``due_date`` the deadline (the same, or the previous working day when that is not one)."""

    plan = models.ForeignKey(InspectionPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="visits")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="inspection_visits")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("inspector"), on_delete=models.PROTECT,
                                  related_name="inspection_visits")
    scheduled_date = models.DateField(_("scheduled for"))
    due_date = models.DateField(_("due"))
    state = models.CharField(_("state"), max_length=10, choices=VisitState.choices, default=VisitState.SCHEDULED)
    overdue_at = models.DateTimeField(_("flagged overdue at"), null=True, blank=True)
    closed_reason = models.TextField(_("reason"), blank=True, default="")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inspection visit")
        verbose_name_plural = _("inspection visits")
        constraints = [
            models.UniqueConstraint(fields=["plan", "scheduled_date"], name="insp_visit_plan_date_unique"),
            # At most one open visit per plan: the generator's idempotence does not rest on timing.
            models.UniqueConstraint(fields=["plan"], condition=Q(state="scheduled"), name="insp_visit_one_open"),
            models.CheckConstraint(condition=Q(state__in=VisitState.values), name="insp_visit_state_known"),
            models.CheckConstraint(condition=Q(due_date__lte=models.F("scheduled_date")),
                                   name="insp_visit_due_not_after_scheduled"),
            models.CheckConstraint(condition=Q(state="scheduled") | Q(closed_at__isnull=False),
                                   name="insp_visit_closed_has_time"),
        ]
        indexes = [
            models.Index(fields=["state", "due_date", "id"], name="insp_visit_open_due"),
            models.Index(fields=["inspector", "state", "due_date"], name="insp_visit_inspector"),
            models.Index(fields=["customer", "due_date"], name="insp_visit_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.scheduled_date:%Y-%m-%d}"

    @property
    def is_overdue(self) -> bool:
        return self.overdue_at is not None and self.state == VisitState.SCHEDULED


class InspectionReport(models.Model):
    """What the inspector found (巡检报告): an answer per checklist item, findings, suggestions, and the
    customer's sign-off. ``results`` keeps each item's label as it was, so later checklist edits
    never rewrite a filed report."""

    visit = models.OneToOneField(InspectionVisit, verbose_name=_("visit"), on_delete=models.PROTECT,
                                 related_name="report")
    performed_at = models.DateTimeField(_("performed at"))
    results = models.JSONField(_("results"), default=list)
    issue_count = models.PositiveSmallIntegerField(_("issues"), default=0)
    findings = models.TextField(_("findings"), blank=True, default="")
    suggestions = models.TextField(_("suggestions"), blank=True, default="")
    signed_by = models.CharField(_("customer sign-off"), max_length=100, blank=True, default="")
    follow_up_needed = models.BooleanField(_("follow-up needed"), default=False)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("filed by"), on_delete=models.PROTECT,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inspection report")
        verbose_name_plural = _("inspection reports")

    def __str__(self) -> str:
        return f"{self.visit_id} {self.performed_at:%Y-%m-%d}"
