"""Follow-ups and interactions (跟进记录): one row per contact with a customer, on any channel.

The core columns are fixed here so that the visit plans, symposia and the calendar can refer to an
interaction; the follow-up app adds attachments and the rest in its own migrations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    VISIT = "visit", pgettext_lazy("channel", "Visit")
    PHONE = "phone", pgettext_lazy("channel", "Phone")
    EMAIL = "email", pgettext_lazy("channel", "E-mail")
    WECHAT = "wechat", pgettext_lazy("channel", "WeChat")
    WECOM = "wecom", pgettext_lazy("channel", "WeCom")
    IM = "im", pgettext_lazy("channel", "Other IM")
    WEBSITE = "website", pgettext_lazy("channel", "Website")
    HOTLINE = "hotline", pgettext_lazy("channel", "Hotline")
    MEETING = "meeting", pgettext_lazy("channel", "Meeting")
    OTHER = "other", pgettext_lazy("channel", "Other")


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("We contacted the customer")
    INBOUND = "inbound", _("The customer contacted us")


class Interaction(models.Model):
    """One contact with a customer (跟进记录): who, when, on which channel, what came of it, what next."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="interactions")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField(_("when"), db_index=True)
    contacts = models.ManyToManyField("customers.Contact", verbose_name=_("contacts involved"), blank=True,
                                      related_name="interactions")
    summary = models.TextField(_("summary"), max_length=4000)
    outcome = models.TextField(_("outcome"), max_length=4000, blank=True)
    next_step = models.CharField(_("next step"), max_length=500, blank=True)
    next_step_due = models.DateField(_("next step due"), null=True, blank=True)
    next_step_done_at = models.DateTimeField(_("next step done at"), null=True, blank=True)
    # Set once the "due tomorrow" reminder went out, so the periodic task reminds each step once (moving
    # the due date clears it: the new date is reminded again).
    next_step_reminded_at = models.DateTimeField(_("next step reminded at"), null=True, blank=True,
                                                 editable=False)
    # Who is accountable for the contact (the account manager) and who typed it in (may be an assistant).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"),
                              on_delete=models.PROTECT, related_name="interactions")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"),
                                    on_delete=models.PROTECT, related_name="+")
    # A phone that wrote the note offline sends it with this key; a replay finds the same row.
    client_key = models.UUIDField(_("client key"), null=True, blank=True, unique=True)
    # Check-in location, only when the user allowed the browser to give it for this visit.
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    location_accuracy_m = models.PositiveIntegerField(_("location accuracy (m)"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_customer_time"),
            models.Index(fields=["owner", "next_step_due"], name="interaction_owner_due",
                         condition=Q(next_step_done_at__isnull=True, next_step_due__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                                   name="interaction_latitude_range"),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="interaction_longitude_range"),
            models.CheckConstraint(condition=Q(latitude__isnull=True, longitude__isnull=True)
                                   | Q(latitude__isnull=False, longitude__isnull=False),
                                   name="interaction_location_both_or_none"),
            models.CheckConstraint(condition=~Q(summary=""), name="interaction_summary_not_empty"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.occurred_at:%Y-%m-%d}"



class InteractionAttachment(models.Model):
    """A photo or PDF taken with a follow-up (e.g. on a visit), stored privately under KEHU_VAR_DIR by its
    SHA-256 and served only through a view that checks the customer's scope."""

    interaction = models.ForeignKey(Interaction, verbose_name=_("follow-up"), on_delete=models.CASCADE,
                                    related_name="attachments")
    file_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    stored_name = models.CharField(max_length=100, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up attachment")
        verbose_name_plural = _("follow-up attachments")
        ordering = ["id"]
        constraints = [
            # A phone that sends the same photo again (an offline replay) finds the one it sent.
            models.UniqueConstraint(fields=["interaction", "sha256"], name="interaction_attachment_once"),
            models.CheckConstraint(condition=Q(size__gt=0), name="interaction_attachment_not_empty"),
        ]

    def __str__(self):
        return self.file_name


class CustomerContactSummary(models.Model):
    """The customer's last contact and next open step (one row per customer), kept by the follow-up services
    in the same transaction as the write, so lists and the 360 page read it without scanning the thread."""

    customer = models.OneToOneField("customers.Customer", verbose_name=_("customer"), primary_key=True,
                                    on_delete=models.CASCADE, related_name="contact_summary")
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True, db_index=True)
    last_interaction = models.ForeignKey(Interaction, on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="+")
    last_channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    next_step = models.CharField(_("next step"), max_length=500, blank=True)
    next_step_due = models.DateField(_("next step due"), null=True, blank=True, db_index=True)
    next_interaction = models.ForeignKey(Interaction, on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="+")
    open_steps = models.PositiveIntegerField(_("open next steps"), default=0)
    interactions = models.PositiveIntegerField(_("follow-ups"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer contact summary")
        verbose_name_plural = _("customer contact summaries")

    def __str__(self):
        return f"{self.customer_id}: {self.last_contact_at}"
