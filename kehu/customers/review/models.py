"""Tables of the periodic review (定期复核): runs, their items, and when each customer was last
confirmed current (kept here so the customer table stays the customer app's)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Failed")


class ItemState(models.TextChoices):
    OPEN = "open", _("To do")
    CONFIRMED = "confirmed", _("Confirmed current")
    FIXED = "fixed", _("Fixed")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


RESOLVED_STATES = (ItemState.CONFIRMED, ItemState.FIXED, ItemState.NOT_APPLICABLE)


class ReviewRun(models.Model):
    """One periodic review (复核批次) over the starter's data scope."""

    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT,
                                   related_name="+")
    # The starter's department when started: the run is visible to whoever's scope covers it.
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    stale_months = models.PositiveSmallIntegerField(_("stale after (months)"))
    due_days = models.PositiveSmallIntegerField(_("due within (working days)"))
    due_date = models.DateField(_("due date"))
    state = models.CharField(_("state"), max_length=16, choices=RunState.choices, default=RunState.QUEUED)
    scanned = models.PositiveIntegerField(_("customers scanned"), default=0)
    total = models.PositiveIntegerField(_("customers to scan"), default=0)
    items_count = models.PositiveIntegerField(_("items"), default=0)
    # The last customer id scanned: a worker that dies mid-run resumes after it (items are unique per
    # run and customer, and each batch commits with its cursor).
    cursor = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("review run")
        verbose_name_plural = _("review runs")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=RunState.values), name="reviewrun_state_known"),
            models.CheckConstraint(condition=Q(scanned__lte=models.F("total")) | Q(total=0),
                                   name="reviewrun_scanned_le_total"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.created_at:%Y-%m-%d}" if self.created_at else f"#{self.pk}"


class ReviewItem(models.Model):
    """A customer a run found stale, incomplete or invalid, for its owner to work down."""

    run = models.ForeignKey(ReviewRun, verbose_name=_("review run"), on_delete=models.CASCADE, related_name="items")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="+", db_index=False)  # reviewitem_customer leads with it
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), on_delete=models.PROTECT,
                                 related_name="+", db_index=False)  # reviewitem_assignee leads with it
    # The assignee's department: per-department progress and the managers' scope read it.
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", db_index=False)
    stale = models.BooleanField(_("stale"), default=False)
    incomplete = models.BooleanField(_("incomplete"), default=False)
    invalid = models.BooleanField(_("invalid"), default=False)
    # The fields found missing / invalid, e.g. {"missing": ["industry"], "invalid": ["uscc"]}.
    details = models.JSONField(default=dict, blank=True)
    due_date = models.DateField(_("due date"))
    state = models.CharField(_("state"), max_length=16, choices=ItemState.choices, default=ItemState.OPEN)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("resolved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("review item")
        verbose_name_plural = _("review items")
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="reviewitem_unique_per_run"),
            models.CheckConstraint(condition=Q(state__in=ItemState.values), name="reviewitem_state_known"),
            models.CheckConstraint(condition=Q(stale=True) | Q(incomplete=True) | Q(invalid=True),
                                   name="reviewitem_has_reason"),
            models.CheckConstraint(
                condition=Q(state="open", resolved_at__isnull=True) | (~Q(state="open") & Q(resolved_at__isnull=False)),
                name="reviewitem_resolved_has_time"),
        ]
        indexes = [
            models.Index(fields=["assignee", "state", "due_date", "id"], name="reviewitem_assignee"),
            models.Index(fields=["run", "department", "state"], name="reviewitem_run_dept"),
            models.Index(fields=["customer", "state"], name="reviewitem_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.customer_id}"

    @property
    def reasons(self) -> list[str]:
        return [r for r in ("stale", "incomplete", "invalid") if getattr(self, r)]


class CustomerReview(models.Model):
    """When a customer's record was last confirmed current (最近复核时间) and by whom."""

    customer = models.OneToOneField("customers.Customer", primary_key=True, on_delete=models.CASCADE,
                                    related_name="+")
    last_reviewed_at = models.DateTimeField(_("last reviewed"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("customer review")
        verbose_name_plural = _("customer reviews")

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.last_reviewed_at:%Y-%m-%d}"
