"""Grading policies as data (分级政策), their runs, every customer's current grade and its history.

A policy name has versions; at most one version of a name is active (a database constraint), and at most one is
scheduled to take effect at a later date (activation.py). A run grades
every customer under one active version and records how many moved; each change writes a history row with
its explanation (metric values, rule, previous grade)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.grading.kinds import KIND_LABELS

KIND_CHOICES = list(KIND_LABELS.items())


class PolicyState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled to take effect")  # takes effect on active_from (activation.py)
    ACTIVE = "active", _("In force")
    RETIRED = "retired", _("Retired")


class GradingPolicy(models.Model):
    """One version of a grading policy: a kind and its configuration (validated by the kind)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=KIND_CHOICES)
    config = models.JSONField(_("configuration"), default=dict)
    version = models.PositiveIntegerField(_("version"), default=1)
    active_from = models.DateField(_("active from"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=PolicyState.choices, default=PolicyState.DRAFT)
    description = models.CharField(_("policy description"), max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("grading policy")
        verbose_name_plural = _("grading policies")
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="gradingpolicy_name_version_unique"),
            models.UniqueConstraint(fields=["name"], condition=Q(state="active"),
                                    name="gradingpolicy_one_active_per_name"),
            models.UniqueConstraint(fields=["name"], condition=Q(state="scheduled"),
                                    name="gradingpolicy_one_scheduled_per_name"),
            models.CheckConstraint(condition=~Q(state="scheduled") | Q(active_from__isnull=False),
                                   name="gradingpolicy_scheduled_has_date"),
            models.CheckConstraint(condition=Q(state__in=PolicyState.values), name="gradingpolicy_state_known"),
            models.CheckConstraint(condition=Q(kind__in=list(KIND_LABELS)), name="gradingpolicy_kind_known"),
            models.CheckConstraint(condition=~Q(name=""), name="gradingpolicy_name_present"),
            models.CheckConstraint(condition=Q(version__gte=1), name="gradingpolicy_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class RunTrigger(models.TextChoices):
    ACTIVATION = "activation", _("Activation")
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("On demand")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class GradingRun(models.Model):
    """One regrading of every customer under one policy version, as of a date."""

    policy = models.ForeignKey(GradingPolicy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="runs")
    as_of = models.DateField(_("as of"))
    trigger = models.CharField(_("trigger"), max_length=12, choices=RunTrigger.choices)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers graded"), default=0)
    changed = models.PositiveIntegerField(_("grades changed"), default=0)
    movements = models.JSONField(_("movements"), default=dict)  # {"from→to": count}
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("grading run")
        verbose_name_plural = _("grading runs")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(trigger__in=RunTrigger.values), name="gradingrun_trigger_known"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="gradingrun_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} @ {self.as_of.isoformat()}"


class CustomerGrade(models.Model):
    """A customer's current grade under a policy name (any version of it)."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="grades", db_index=False)
    policy_name = models.CharField(_("policy"), max_length=100)
    policy = models.ForeignKey(GradingPolicy, verbose_name=_("policy version"), on_delete=models.PROTECT,
                               related_name="+")
    run = models.ForeignKey(GradingRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    grade = models.CharField(_("grade"), max_length=40)
    previous_grade = models.CharField(_("previous grade"), max_length=40, blank=True, default="")
    computed_grade = models.CharField(_("computed grade"), max_length=40, blank=True, default="")
    explanation = models.JSONField(_("explanation"), default=dict)
    graded_at = models.DateTimeField(_("graded at"))
    # A manual override (人工调整) holds until the next review unless renewed.
    override_reason = models.CharField(_("override reason"), max_length=500, blank=True, default="")
    overridden_until_run = models.BooleanField(_("overridden until the next review"), default=False)

    class Meta:
        verbose_name = _("customer grade")
        verbose_name_plural = _("customer grades")
        constraints = [
            models.UniqueConstraint(fields=["customer", "policy_name"], name="customergrade_one_per_policy"),
            models.CheckConstraint(condition=~Q(grade=""), name="customergrade_grade_present"),
        ]
        indexes = [models.Index(fields=["policy_name", "grade"], name="custgrade_policy_grade")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.policy_name}: {self.grade}"


class Movement(models.TextChoices):
    UP = "up", _("Up")
    DOWN = "down", _("Down")
    SAME = "same", _("Unchanged")
    NEW = "new", _("New")
    LOST = "lost", _("Lost")
    OVERRIDE = "override", _("Manual override")


class GradeHistory(models.Model):
    """One change of a customer's grade (or its first grade), with the explanation of the rule."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="grade_history", db_index=False)
    policy_name = models.CharField(_("policy"), max_length=100)
    policy = models.ForeignKey(GradingPolicy, verbose_name=_("policy version"), on_delete=models.PROTECT,
                               related_name="+")
    run = models.ForeignKey(GradingRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="history")
    as_of = models.DateField(_("as of"))
    grade = models.CharField(_("grade"), max_length=40)
    previous_grade = models.CharField(_("previous grade"), max_length=40, blank=True, default="")
    movement = models.CharField(_("movement"), max_length=10, choices=Movement.choices)
    # Denormalised at write time so the movements page groups by department without joining customers.
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", db_index=False)
    explanation = models.JSONField(_("explanation"), default=dict)
    reason = models.CharField(_("reason"), max_length=500, blank=True, default="")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("grade history entry")
        verbose_name_plural = _("grade history")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(movement__in=Movement.values), name="gradehistory_movement_known"),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="gradehist_customer"),
            models.Index(fields=["as_of", "policy_name", "department"], name="gradehist_period"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.policy_name}: {self.previous_grade}→{self.grade}"


class HandScore(models.Model):
    """A dimension of the scorecard scored by hand (strategy, interaction, potential), 0–100, with who
    scored it and when; the latest score per customer and dimension counts."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="+", db_index=False)
    dimension = models.CharField(_("dimension"), max_length=40)
    score = models.DecimalField(_("score (0–100)"), max_digits=5, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    scored_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("scored by"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    scored_at = models.DateTimeField(_("scored at"), auto_now=True)

    class Meta:
        verbose_name = _("hand score")
        verbose_name_plural = _("hand scores")
        constraints = [
            models.UniqueConstraint(fields=["customer", "dimension"], name="handscore_one_per_dimension"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="handscore_score_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.dimension}={self.score}"


class ServicePolicy(models.Model):
    """The service a grade earns (差异化服务, 000 2.2; 002 资源投入): read by other apps through
    kehu.grading.selectors.service_policy_for. Empty figures mean "the company default"."""

    policy_name = models.CharField(_("policy"), max_length=100)
    grade = models.CharField(_("grade"), max_length=40)
    dedicated_manager = models.BooleanField(_("dedicated account manager required"), default=False)
    complaint_sla_working_days = models.PositiveSmallIntegerField(_("complaint SLA (working days)"), null=True,
                                                                   blank=True)
    service_request_sla_working_days = models.PositiveSmallIntegerField(_("service request SLA (working days)"),
                                                                         null=True, blank=True)
    inspection_cycle_days = models.PositiveSmallIntegerField(_("inspection cycle (days)"), null=True, blank=True)
    visit_every_days = models.PositiveSmallIntegerField(_("visit every (days)"), null=True, blank=True)
    response_priority = models.PositiveSmallIntegerField(_("response priority"), default=3,
                                                         help_text=_("1 is served first."))
    resource_priority = models.PositiveSmallIntegerField(_("resource priority"), default=3,
                                                         help_text=_("1 is served first."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service policy")
        verbose_name_plural = _("service policies")
        ordering = ["policy_name", "response_priority", "grade"]
        constraints = [
            models.UniqueConstraint(fields=["policy_name", "grade"], name="servicepolicy_one_per_grade"),
            models.CheckConstraint(condition=Q(response_priority__gte=1) & Q(response_priority__lte=9),
                                   name="servicepolicy_response_priority_1_9"),
            models.CheckConstraint(condition=Q(resource_priority__gte=1) & Q(resource_priority__lte=9),
                                   name="servicepolicy_resource_priority_1_9"),
            models.CheckConstraint(condition=Q(complaint_sla_working_days__isnull=True)
                                   | Q(complaint_sla_working_days__gte=1), name="servicepolicy_complaint_sla_positive"),
            models.CheckConstraint(condition=Q(service_request_sla_working_days__isnull=True)
                                   | Q(service_request_sla_working_days__gte=1),
                                   name="servicepolicy_request_sla_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_name}: {self.grade}"
