"""Customer symposia (客户座谈会, 004 第十三条): the plan with its agenda topics, the invitations with each
invitee's answer and attendance, the minutes, and the follow-up items tracked to closure."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Topic(models.TextChoices):
    """The agenda topics of 第十三条(三)."""

    MARKET = "market", _("Market conditions")
    QUALITY = "quality", _("Product quality")
    PROCESS = "process", _("Business process")
    SERVICE = "service", _("Service quality")
    PRODUCT_STRUCTURE = "product_structure", _("Product structure")
    MARKET_MANAGEMENT = "market_management", _("Market management")
    SATISFACTION = "satisfaction", _("Customer satisfaction")
    NEEDS = "needs", _("Customer needs")
    OTHER = "other", _("Other sales topics")


class SymposiumState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class InvitationState(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class ItemState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Symposium(models.Model):
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200)
    topics = models.JSONField(_("agenda topics"), default=list)
    agenda = models.TextField(_("agenda notes"), blank=True, default="")
    state = models.CharField(_("state"), max_length=10, choices=SymposiumState.choices, default=SymposiumState.PLANNED)
    # The planner and their department: the symposium is seen and managed in that scope.
    organizer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("organizer"), on_delete=models.PROTECT,
                                  related_name="organized_symposia")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    segment = models.JSONField(_("invitee segment"), default=dict, blank=True)
    minutes = models.TextField(_("minutes"), blank=True, default="")
    minutes_at = models.DateTimeField(_("minutes recorded at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer symposium")
        verbose_name_plural = _("customer symposia")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=SymposiumState.values), name="symposium_state_known"),
            models.CheckConstraint(condition=~Q(title=""), name="symposium_title_present"),
            models.CheckConstraint(condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("starts_at")),
                                   name="symposium_ends_after_start"),
            # A closed symposium has its minutes (第十三条(四): 做好座谈会记录并归档).
            models.CheckConstraint(condition=~Q(state="closed") | (~Q(minutes="") & Q(minutes_at__isnull=False)),
                                   name="symposium_closed_has_minutes"),
        ]
        indexes = [models.Index(fields=["state", "starts_at"], name="symposium_state_start"),
                   models.Index(fields=["department", "starts_at"], name="symposium_dept_start")]

    def __str__(self) -> str:
        return self.title


class Invitation(models.Model):
    symposium = models.ForeignKey(Symposium, verbose_name=_("symposium"), on_delete=models.CASCADE,
                                  related_name="invitations")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(_("answer"), max_length=10, choices=InvitationState.choices,
                             default=InvitationState.INVITED)
    attended = models.BooleanField(_("attended"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(fields=["symposium", "customer"], name="invitation_once_per_customer"),
            models.CheckConstraint(condition=Q(state__in=InvitationState.values), name="invitation_state_known"),
            models.CheckConstraint(condition=Q(state="invited") | Q(answered_at__isnull=False),
                                   name="invitation_answer_has_time"),
        ]
        indexes = [models.Index(fields=["customer"], name="invitation_customer")]

    def __str__(self) -> str:
        return f"{self.symposium_id}:{self.customer_id}"


class FollowUpItem(models.Model):
    """Something the symposium decided to do (an opinion to act on), with its owner and due date."""

    symposium = models.ForeignKey(Symposium, verbose_name=_("symposium"), on_delete=models.CASCADE,
                                  related_name="items")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("follow-up item"), max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="symposium_items")
    due_date = models.DateField(_("due"))
    state = models.CharField(_("state"), max_length=10, choices=ItemState.choices, default=ItemState.OPEN)
    resolution = models.TextField(_("resolution"), blank=True, default="")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("symposium follow-up item")
        verbose_name_plural = _("symposium follow-up items")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ItemState.values), name="symposiumitem_state_known"),
            models.CheckConstraint(condition=~Q(title=""), name="symposiumitem_title_present"),
            models.CheckConstraint(condition=Q(state="open", closed_at__isnull=True)
                                   | (~Q(state="open") & Q(closed_at__isnull=False)),
                                   name="symposiumitem_closed_has_time"),
        ]
        indexes = [models.Index(fields=["owner", "state", "due_date"], name="symposiumitem_owner_due")]

    def __str__(self) -> str:
        return self.title
