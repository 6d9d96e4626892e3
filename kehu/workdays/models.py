"""The holiday table (节假日表): the days that differ from the weekend rule, seeded from the statutory
schedule and editable by an administrator."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.workdays import statutory


class DayKind(models.TextChoices):
    HOLIDAY = statutory.HOLIDAY, _("Holiday")
    MAKEUP_WORKDAY = statutory.MAKEUP_WORKDAY, _("Make-up working day")
    CLOSURE = "closure", _("Company closure")


class DaySource(models.TextChoices):
    STATUTORY = "statutory", _("Statutory")
    COMPANY = "company", _("Company")


class CalendarDay(models.Model):
    """One special date: a holiday or closure (not worked) or a make-up working day (worked)."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=50)
    source = models.CharField(_("source"), max_length=20, choices=DaySource.choices, default=DaySource.COMPANY)
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DayKind.values), name="calendarday_kind_known"),
            models.CheckConstraint(condition=Q(source__in=DaySource.values), name="calendarday_source_known"),
            models.CheckConstraint(condition=~Q(name=""), name="calendarday_name_present"),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}"


class CalendarVersion(models.Model):
    """One row whose token changes with every edit of the holiday table, in the same transaction:
    each process compares it with the token of its cached calendar and rebuilds when they differ."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("calendar version")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="calendarversion_singleton")]

    def __str__(self) -> str:
        return self.token
