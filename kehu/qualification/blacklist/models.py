"""Disqualification (取消客户资格, seed 004 第13篇 第十七条) and the blacklist it writes.

A disqualification is asked for with a reason category, a description and evidence files, and decided
through the approval chain ``customer.disqualification``. Its approval disqualifies the customer and
writes a ``BlacklistEntry`` that keeps what identifies the company — USCC, the name core (legal form and
region stripped), the ID number hash of a person and the keyed hashes of its known phones, never a clear
phone — so the entry still refuses or flags a new registration after the customer row is deleted.
Lifting an entry needs its own approval (``customer.blacklist_lift``) and a reason."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReasonCategory(models.TextChoices):
    FRAUD = "fraud", _("False information, fraud or serious breach of trust")
    LOSS = "loss", _("Economic loss or serious harm to the company's reputation")
    LEGAL = "legal", _("Violation of laws or regulations, under investigation")


class RequestState(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", pgettext_lazy("request", "Approved")
    REJECTED = "rejected", pgettext_lazy("request", "Rejected")
    CANCELLED = "cancelled", pgettext_lazy("request", "Cancelled")


OPEN_STATES = (RequestState.PENDING, RequestState.RETURNED)


class EntryState(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("blacklist", "Listed")
    LIFTED = "lifted", pgettext_lazy("blacklist", "Lifted")


class MatchKind(models.TextChoices):
    USCC = "uscc", _("Unified social credit code")
    ID_NUMBER = "id_number", _("ID number")
    NAME = "name", _("Company name (normalised)")
    PHONE = "phone", _("Phone number")


class HitSource(models.TextChoices):
    CREATE = "create", _("New customer")
    UPDATE = "update", _("Change of a customer's name, code or phone")
    BULK = "bulk", _("Bulk registration or import")
    CLAIM = "claim", _("Claim from the public pool")
    PUBLIC_FORM = "public_form", _("Public form")


class HitState(models.TextChoices):
    OPEN = "open", _("To review")
    CLEARED = "cleared", _("Not the same company")
    CONFIRMED = "confirmed", _("Same company confirmed")


class Disqualification(models.Model):
    """A request to disqualify a customer (取消客户资格) with its reason and evidence."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    customer_name = models.CharField(_("customer name"), max_length=200)
    # The customer's owner and department when asked: the scope of the request and its evidence.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    category = models.CharField(_("reason category"), max_length=10, choices=ReasonCategory.choices)
    description = models.TextField(_("description"))
    state = models.CharField(_("state"), max_length=10, choices=RequestState.choices, default=RequestState.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("disqualification")
        verbose_name_plural = _("disqualifications")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=ReasonCategory.values), name="disq_category_known"),
            models.CheckConstraint(condition=Q(state__in=RequestState.values), name="disq_state_known"),
            models.CheckConstraint(condition=~Q(description=""), name="disq_description_present"),
            # One open request per customer.
            models.UniqueConstraint(fields=["customer"], condition=Q(state__in=["pending", "returned"]),
                                    name="disq_one_open_per_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_name} · {self.get_category_display()}"


class Evidence(models.Model):
    """An evidence file of a disqualification (PDF or image, type sniffed from the content), stored privately
    under KEHU_VAR_DIR by its SHA-256 and served only to users whose scope holds the request."""

    disqualification = models.ForeignKey(Disqualification, verbose_name=_("disqualification"),
                                         on_delete=models.CASCADE, related_name="evidence")
    file_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    stored_name = models.CharField(max_length=100, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["disqualification", "sha256"], name="evidence_once"),
            models.CheckConstraint(condition=Q(size__gt=0), name="evidence_not_empty"),
        ]

    def __str__(self) -> str:
        return self.file_name


class BlacklistEntry(models.Model):
    """A blacklisted company or person (客户黑名单). Independent of the customer row: the identifying keys
    are copied here, so deleting (or erasing) the customer does not unlist it."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+", db_index=False)
    customer_name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, default="organization")
    name_core = models.CharField(_("name core"), max_length=200, blank=True, default="")
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # The ID number's ciphertext (KEHU_FIELD_KEYS), kept only so `kehu keys_rotate` can recompute the hash.
    id_number_enc = models.TextField(blank=True, default="", editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    category = models.CharField(_("reason category"), max_length=10, choices=ReasonCategory.choices)
    reason = models.TextField(_("reason"))
    disqualification = models.OneToOneField(Disqualification, verbose_name=_("disqualification"), null=True,
                                            blank=True, on_delete=models.PROTECT, related_name="entry")
    state = models.CharField(_("state"), max_length=8, choices=EntryState.choices, default=EntryState.ACTIVE)
    listed_at = models.DateTimeField(_("listed at"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.TextField(_("reason for lifting"), blank=True, default="")

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")
        ordering = ["-id"]
        indexes = [
            # The screening of every new customer reads these (index-backed, ≤ 5 ms at 1,000,000 customers).
            # Plain (not partial) indexes: a planner cannot prove that "uscc IN (…)" excludes "", so a partial
            # index on uscc <> '' would not serve the IN lists of the set-based screening.
            models.Index(fields=["uscc"], name="blacklist_uscc"),
            models.Index(fields=["name_core"], name="blacklist_name_core"),
            models.Index(fields=["id_number_hash"], name="blacklist_id_hash"),
            models.Index(fields=["customer"], name="blacklist_customer"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=EntryState.values), name="blacklist_state_known"),
            models.CheckConstraint(condition=Q(category__in=ReasonCategory.values), name="blacklist_category_known"),
            models.CheckConstraint(condition=Q(state="active", lifted_at__isnull=True)
                                   | Q(state="lifted", lifted_at__isnull=False), name="blacklist_lifted_when_lifted"),
        ]

    def __str__(self) -> str:
        return self.customer_name


class BlacklistPhone(models.Model):
    """A known phone of a blacklisted customer, as the keyed lookup hash the archive uses (never the clear
    number); its ciphertext is kept beside it, as in the archive, so a key rotation can recompute the hash."""

    entry = models.ForeignKey(BlacklistEntry, on_delete=models.CASCADE, related_name="phones")
    phone_hash = models.CharField(max_length=64)
    phone_enc = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("blacklisted phone")
        verbose_name_plural = _("blacklisted phones")
        constraints = [models.UniqueConstraint(fields=["entry", "phone_hash"], name="blacklist_phone_once")]
        indexes = [models.Index(fields=["phone_hash"], name="blacklist_phone_hash")]

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.phone_hash[:8]}…"


class Lift(models.Model):
    """A request to lift a blacklist entry (解除黑名单) with its reason, decided through an approval."""

    entry = models.ForeignKey(BlacklistEntry, verbose_name=_("blacklist entry"), on_delete=models.CASCADE,
                              related_name="lifts")
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=10, choices=RequestState.choices, default=RequestState.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("blacklist lift")
        verbose_name_plural = _("blacklist lifts")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="lift_reason_present"),
            models.CheckConstraint(condition=Q(state__in=RequestState.values), name="lift_state_known"),
            models.UniqueConstraint(fields=["entry"], condition=Q(state__in=["pending", "returned"]),
                                    name="lift_one_open_per_entry"),
        ]

    def __str__(self) -> str:
        return f"{self.entry} ({self.get_state_display()})"


class ScreeningHit(models.Model):
    """A registration (or a public form) that resembles a blacklisted company by name or phone: let through,
    flagged for a manager's review (a USCC or ID number match is refused instead and leaves no hit)."""

    entry = models.ForeignKey(BlacklistEntry, verbose_name=_("blacklist entry"), on_delete=models.CASCADE,
                              related_name="hits")
    matched_on = models.CharField(_("matched on"), max_length=10, choices=MatchKind.choices)
    source = models.CharField(_("source"), max_length=12, choices=HitSource.choices)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="+")
    object_type = models.CharField(max_length=60, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    subject = models.CharField(_("registered as"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account manager"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=HitState.choices, default=HitState.OPEN)
    created_at = models.DateTimeField(_("flagged at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("blacklist screening hit")
        verbose_name_plural = _("blacklist screening hits")
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "-id"], name="screening_hit_state")]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=HitState.values), name="screening_hit_state_known"),
            models.CheckConstraint(condition=Q(matched_on__in=MatchKind.values), name="screening_hit_match_known"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ~ {self.entry}"
