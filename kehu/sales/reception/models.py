"""Reception (接待): the daily duty roster and its rotation queue (排班轮流接待), and the visitor and call
register (来人来电登记) that the statistics (来人来电统计表) count.

- ``SourceChannel``: how a visitor or caller heard of us (广告, 朋友介绍, 网站, 路过 …), configurable rows.
- ``DutyDay``: one department's reception day. Its row is the queue's lock: every assignment of a walk-in
  takes it ``select_for_update`` so two receptionists never hand out the same turn. It keeps the queue's
  state (the rep served last, the make-ups owed) that ``rotation.py`` computes on.
- ``DutyShift``: a rep on duty that day, their place in the roster's order and their status (present,
  absent, out on an assigned duty).
- ``RegisterEntry``: one walk-in (来人) or call (来电) with its time, source, customer or new prospect,
  intention, assigned rep and how they were assigned, outcome, and a refusal handled by the manager."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ShiftStatus(models.TextChoices):
    PRESENT = "present", _("At the desk")
    ABSENT = "absent", _("Absent (loses the turn)")
    OUT = "out", _("Out on an assigned duty (make-up turn)")


class EntryKind(models.TextChoices):
    WALK_IN = "walk_in", _("Walk-in")  # 来人
    CALL = "call", pgettext_lazy("register", "Call")  # 来电


class Assignment(models.TextChoices):
    ROTATION = "rotation", _("Rotation turn")  # 轮流接待 (counted)
    MAKEUP = "makeup", _("Make-up turn")  # 补位 (counted)
    DESIGNATED = "designated", _("Designated by the customer")  # 指定接待 (not counted)
    RETURNING = "returning", _("Returning customer to their rep")  # 老客户 (not counted)
    COURTESY = "courtesy", _("Courtesy reception for an absent colleague")  # 义务接待 (not counted)
    CALL = "call", _("Call taken")  # 来电: no turn


COUNTED = (Assignment.ROTATION, Assignment.MAKEUP)


class Outcome(models.TextChoices):
    OPEN = "open", _("Being received")
    LEFT = "left", _("Left without registering")
    REGISTERED = "registered", _("Registered as a prospect")
    APPOINTMENT = "appointment", _("Appointment made")
    DEPOSIT = "deposit", _("Deposit taken")
    INFO = "info", _("Information only")


class Refusal(models.TextChoices):
    NONE = "", _("None")
    PENDING = "pending", _("Refusal awaiting the manager")
    KEPT = "kept", _("Rep kept by the manager")
    REASSIGNED = "reassigned", _("Handed to the next rep in rotation")
    DESIGNATED = "designated", _("Handed to the rep the customer asked for")


class SourceChannel(models.Model):
    """A source channel of visitors and callers (来访渠道)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    # 公司客户: visitors of this channel were sent by the company or its leaders (seed 004 第12篇 6(1)).
    company = models.BooleanField(_("company customers"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("source channel")
        verbose_name_plural = _("source channels")
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name


class DutyDay(models.Model):
    """One department's reception day: the rotation queue's row (locked while a turn is handed out)."""

    department = models.ForeignKey("access.Department", verbose_name=_("department"), on_delete=models.PROTECT,
                                   related_name="+")
    day = models.DateField(_("day"))
    # The rep served last by the rotation (make-ups leave it); None: the day starts at the roster's top.
    last_rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("served last"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    # Make-up turns owed, oldest first: a list of user ids (one entry per turn owed).
    makeups = models.JSONField(_("make-up turns owed"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("duty day")
        verbose_name_plural = _("duty days")
        constraints = [models.UniqueConstraint(fields=["department", "day"], name="reception_dutyday_unique")]
        indexes = [models.Index(fields=["day", "department"], name="reception_dutyday_day")]

    def __str__(self) -> str:
        return f"{self.department} {self.day}"


class DutyShift(models.Model):
    """A rep on duty on a day (排班表 row): their place in the order and their status."""

    duty_day = models.ForeignKey(DutyDay, verbose_name=_("duty day"), on_delete=models.CASCADE,
                                 related_name="shifts")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="duty_shifts")
    position = models.PositiveSmallIntegerField(_("position"))
    status = models.CharField(_("status"), max_length=10, choices=ShiftStatus.choices, default=ShiftStatus.PRESENT)

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ("position",)
        constraints = [
            models.UniqueConstraint(fields=["duty_day", "rep"], name="reception_shift_rep_unique"),
            models.UniqueConstraint(fields=["duty_day", "position"], name="reception_shift_position_unique"),
            models.CheckConstraint(condition=Q(status__in=ShiftStatus.values), name="reception_shift_status_known"),
        ]
        indexes = [models.Index(fields=["rep", "duty_day"], name="reception_shift_rep")]

    def __str__(self) -> str:
        return f"{self.duty_day} #{self.position} {self.rep}"


class RegisterEntry(models.Model):
    """A walk-in or a call in the visitor and call register (来人来电登记表)."""

    kind = models.CharField(_("kind"), max_length=8, choices=EntryKind.choices)
    at = models.DateTimeField(_("time"))
    # The local (Asia/Shanghai) date of ``at``: what the daily / weekly / monthly statistics group on.
    day = models.DateField(_("day"))
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(SourceChannel, verbose_name=_("source"), on_delete=models.PROTECT,
                               related_name="entries")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="register_entries")
    visitor_name = models.CharField(_("visitor"), max_length=100, blank=True, default="")
    visitor_phone = models.CharField(_("phone"), max_length=30, blank=True, default="")
    party_size = models.PositiveSmallIntegerField(_("party size"), default=1)
    intention = models.CharField(_("intention"), max_length=500, blank=True, default="")
    is_returning = models.BooleanField(_("returning customer"), default=False)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("receiving rep"), on_delete=models.PROTECT,
                            related_name="register_entries")
    assignment = models.CharField(_("assignment"), max_length=12, choices=Assignment.choices)
    counted = models.BooleanField(_("counted as a turn"), default=False)
    duty_day = models.ForeignKey(DutyDay, verbose_name=_("duty day"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="entries")
    # 公司安排: the company arranged this customer's deal itself (seed 004 第12篇 6(1) 4)).
    arranged_by_company = models.BooleanField(_("arranged by the company"), default=False)
    outcome = models.CharField(pgettext_lazy("reception", "outcome"), max_length=12, choices=Outcome.choices, default=Outcome.OPEN)
    refusal = models.CharField(_("refusal"), max_length=10, choices=Refusal.choices, blank=True, default="")
    refusal_reason = models.CharField(_("refusal reason"), max_length=300, blank=True, default="")
    # The rep who received the customer first when the customer refused them or asked for another rep.
    first_receiver = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("first receiver"), null=True,
                                       blank=True, on_delete=models.SET_NULL, related_name="+")
    # 夫妻分别登记 (seed 004 第12篇 7 4)): the visitor is the spouse of this customer, registered separately.
    spouse_of = models.ForeignKey("customers.Customer", verbose_name=_("spouse of"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handled by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("registered by"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("register entry")
        verbose_name_plural = _("register entries")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="reception_entry_kind_known"),
            models.CheckConstraint(condition=Q(assignment__in=Assignment.values),
                                   name="reception_entry_assignment_known"),
            models.CheckConstraint(condition=Q(counted=False) | Q(assignment__in=list(COUNTED)),
                                   name="reception_entry_counted_is_a_turn"),
            models.CheckConstraint(condition=Q(party_size__gte=1), name="reception_entry_party_size"),
        ]
        indexes = [
            models.Index(fields=["department", "day"], name="reception_entry_dept_day"),
            # covers the statistics: one index-only pass over a month groups by day, source, rep, kind, turn
            models.Index(fields=["day", "kind", "source", "rep", "counted", "customer", "department"], name="reception_entry_day_stats"),
            models.Index(fields=["rep", "day"], name="reception_entry_rep_day"),
            models.Index(fields=["customer", "day"], name="reception_entry_customer_day"),
            models.Index(fields=["refusal"], name="reception_entry_refusal",
                         condition=Q(refusal="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.visitor_name or self.customer_id or ''} {self.day}"
