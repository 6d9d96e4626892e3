"""Customer care (客户关怀): a care profile per contact (greeting preferences, opting out), the care
reminders made ahead of each occasion (birthday, cooperation anniversary, holiday, new-product notice) —
once per occasion, withheld with the reason where the person has not consented to being contacted —,
the new-product notices to key accounts, and each user's secret calendar-feed token."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CareProfile(models.Model):
    """What to know when caring for a contact. The birthday itself is the contact's (customers.Contact)."""

    contact = models.OneToOneField("customers.Contact", verbose_name=_("contact"), on_delete=models.CASCADE,
                                   related_name="care_profile")
    preferences = models.TextField(_("greeting and gift preferences"), blank=True, default="")
    opt_out = models.BooleanField(_("does not want care greetings"), default=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("care profile")
        verbose_name_plural = _("care profiles")

    def __str__(self) -> str:
        return str(self.contact_id)


class ReminderKind(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday")
    ANNIVERSARY = "anniversary", _("Cooperation anniversary")
    HOLIDAY = "holiday", _("Holiday greeting")
    NEW_PRODUCT = "new_product", _("New-product notice")


class ReminderState(models.TextChoices):
    PENDING = "pending", _("To do")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    WITHHELD = "withheld", _("Withheld")


class WithheldReason(models.TextChoices):
    NO_CONSENT = "no_consent", _("No consent to be contacted on record")
    OPTED_OUT = "opted_out", _("The contact asked not to receive care greetings")


class ProductNotice(models.Model):
    """A new product to announce to key accounts (新品上市通知)."""

    title = models.CharField(_("product"), max_length=200)
    product_line = models.CharField(_("product line"), max_length=100, blank=True, default="")
    summary = models.TextField(_("what is new"), blank=True, default="")
    launch_date = models.DateField(_("launch date"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("new-product notice")
        verbose_name_plural = _("new-product notices")
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="productnotice_title_present")]

    def __str__(self) -> str:
        return self.title


class CareReminder(models.Model):
    kind = models.CharField(_("occasion"), max_length=12, choices=ReminderKind.choices)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="+")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey(ProductNotice, verbose_name=_("new-product notice"), null=True, blank=True,
                               on_delete=models.CASCADE, related_name="reminders")
    # What the occasion is about within its kind: "contact:42", "customer", "holiday:春节", "notice:7" — the
    # unique key below makes each occasion one reminder, however often the daily task runs.
    subject = models.CharField(max_length=80)
    occasion_date = models.DateField(_("date"))
    remind_on = models.DateField(_("remind on"))
    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), on_delete=models.PROTECT,
                              related_name="care_reminders")
    state = models.CharField(_("state"), max_length=10, choices=ReminderState.choices, default=ReminderState.PENDING)
    reason = models.CharField(_("reason"), max_length=12, choices=WithheldReason.choices, blank=True, default="")
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("care reminder")
        verbose_name_plural = _("care reminders")
        constraints = [
            models.UniqueConstraint(fields=["kind", "customer", "subject", "occasion_date"], name="care_reminder_once"),
            models.CheckConstraint(condition=Q(kind__in=ReminderKind.values), name="care_reminder_kind_known"),
            models.CheckConstraint(condition=Q(state__in=ReminderState.values), name="care_reminder_state_known"),
            # Withheld exactly when there is a reason (no consent, opted out).
            models.CheckConstraint(condition=Q(state="withheld", reason__in=WithheldReason.values)
                                   | (~Q(state="withheld") & Q(reason="")), name="care_reminder_withheld_has_reason"),
            models.CheckConstraint(condition=Q(remind_on__lte=models.F("occasion_date")),
                                   name="care_reminder_before_occasion"),
        ]
        indexes = [models.Index(fields=["owner", "state", "remind_on"], name="care_owner_state_remind"),
                   models.Index(fields=["occasion_date"], name="care_occasion")]

    def __str__(self) -> str:
        return self.title


class CalendarToken(models.Model):
    """A user's secret calendar-feed URL. Only the SHA-256 of the secret is stored; rotating revokes the
    previous one, and a revoked token answers 404."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8)  # the first characters, to recognise the URL
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed token")
        verbose_name_plural = _("calendar feed tokens")
        constraints = [models.UniqueConstraint(fields=["user"], condition=Q(revoked_at__isnull=True),
                                               name="calendartoken_one_live_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.hint}"
