"""Registration and ownership (客户登记 / 报备), referrals (推荐带客), the public pool (公海) and ownership
disputes (归属争议).

* ``Registration`` is the daily register: append-only (a correction is a new row pointing at the one it
  corrects; nothing updates or deletes a row — see ``save``/``delete``).
* ``Claim`` is who holds the customer's registration and until when. At most one live claim (ended_at
  null) per customer, enforced by a partial unique index: that index, not Python, decides which of two
  racing registrations wins.
* ``PoolMove`` records every move into or out of the pool (release, lapse, idle, claim).
* ``Customer.owner`` stays the one truth of who owns a customer: the pool is a system user (公海).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    VISIT = "visit", pgettext_lazy("registration", "Visit")
    CALL = "call", pgettext_lazy("registration", "Call")
    POOL = "pool", _("Claimed from the pool")
    REFERRAL = "referral", _("Referred visit")


class Verdict(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


class Registration(models.Model):
    """One entry of the registration register (客户登记记录). Append-only."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="registrations")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="registrations")
    # The rep's department when registering: the scope of the register (a manager sees their teams').
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    registered_at = models.DateTimeField(_("registered at"))
    valid_until = models.DateTimeField(_("valid until"))
    referral = models.ForeignKey("ownership.Referral", verbose_name=_("referral"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="registrations")
    corrects = models.ForeignKey("self", verbose_name=_("corrects"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="corrections")
    note = models.TextField(_("note"), blank=True, default="", max_length=1000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"),
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="registration_channel_known"),
            models.CheckConstraint(condition=Q(valid_until__gt=models.F("registered_at")),
                                   name="registration_valid_after_registered"),
        ]
        indexes = [
            models.Index(fields=["rep", "-registered_at", "-id"], name="reg_rep_at"),
            models.Index(fields=["department", "-registered_at", "-id"], name="reg_dept_at"),
            models.Index(fields=["customer", "-registered_at"], name="reg_customer_at"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.registered_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        # The register is append-only: a row is written once; a correction is a new row.
        if self.pk is not None or kwargs.get("force_update"):
            raise RuntimeError("registrations are append-only; record a correction instead")
        kwargs["force_insert"] = True
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("registrations are never deleted")

    @property
    def last_valid_day(self):
        """The last day the registration protects (valid_until is the Asia/Shanghai midnight that ends it)."""
        from django.utils import timezone

        return (timezone.localtime(self.valid_until) - dt.timedelta(microseconds=1)).date()


class Verification(models.Model):
    """The project manager's check of one registration (审核). One per registration, never changed."""

    registration = models.OneToOneField(Registration, verbose_name=_("registration"), on_delete=models.PROTECT,
                                        related_name="verification")
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    note = models.TextField(_("note"), blank=True, default="", max_length=1000)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("verified by"),
                                    on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(_("verified at"))

    class Meta:
        verbose_name = _("registration check")
        verbose_name_plural = _("registration checks")
        constraints = [models.CheckConstraint(condition=Q(verdict__in=Verdict.values), name="verification_verdict_known")]

    def __str__(self) -> str:
        return f"{self.registration_id}:{self.verdict}"


class EndReason(models.TextChoices):
    LAPSED = "lapsed", _("Lapsed")
    RELEASED = "released", _("Released to the pool")
    REJECTED = "rejected", _("Registration rejected")
    DISPUTE = "dispute", _("Lost a dispute")
    OWNER_CHANGED = "owner_changed", _("Customer reassigned")
    IDLE = "idle", _("No follow-up")


class Claim(models.Model):
    """Who holds a customer's registration, from when and until when (有效登记). At most one live claim
    per customer (database constraint)."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="ownership_claims", db_index=False)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), on_delete=models.PROTECT,
                            related_name="ownership_claims")
    registration = models.ForeignKey(Registration, verbose_name=_("registration"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="claims")
    started_at = models.DateTimeField(_("from"))
    valid_until = models.DateTimeField(_("valid until"))
    renewed_at = models.DateTimeField(_("renewed at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=16, blank=True, default="")

    class Meta:
        verbose_name = _("registration hold")
        verbose_name_plural = _("registration holds")
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(ended_at__isnull=True),
                                    name="ownership_one_live_claim"),
        ]
        indexes = [
            models.Index(fields=["customer", "started_at"], name="claim_customer_start"),
            models.Index(fields=["valid_until"], condition=Q(ended_at__isnull=True), name="claim_live_until"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}→{self.rep_id}"

    @property
    def last_valid_day(self):
        """The last day the registration protects (valid_until is the Asia/Shanghai midnight that ends it)."""
        from django.utils import timezone

        return (timezone.localtime(self.valid_until) - dt.timedelta(microseconds=1)).date()


class MoveKind(models.TextChoices):
    CLAIM = "claim", _("Claimed")
    RELEASE = "release", _("Released")
    LAPSE = "lapse", _("Registration lapsed")
    IDLE = "idle", _("No follow-up")
    REJECT = "reject", _("Registration rejected")


class PoolMove(models.Model):
    """A customer entering or leaving the public pool (公海记录). Append-only."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="pool_moves", db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=MoveKind.choices)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("sales rep"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="+")  # who released / who claimed
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")  # null: the sweep
    at = models.DateTimeField(_("when"))
    reason = models.CharField(_("reason"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("pool move")
        verbose_name_plural = _("pool moves")
        constraints = [models.CheckConstraint(condition=Q(kind__in=MoveKind.values), name="poolmove_kind_known")]
        indexes = [
            models.Index(fields=["rep", "kind", "at"], name="poolmove_rep_kind_at"),
            models.Index(fields=["customer", "-at"], name="poolmove_customer_at"),
            models.Index(fields=["-at", "-id"], name="poolmove_at"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.kind}"


class Relation(models.TextChoices):
    """Referrals only come from the referrer's private contacts (私人关系)."""

    RELATIVE = "relative", _("Relative")
    FRIEND = "friend", _("Friend")
    CLASSMATE = "classmate", _("Classmate")
    FORMER_COLLEAGUE = "former_colleague", _("Former colleague")
    NEIGHBOUR = "neighbour", _("Neighbour")


class ReferralState(models.TextChoices):
    PENDING = "pending", _("Expected")
    ARRIVED = "arrived", _("Came")
    CONFIRMED = "confirmed", _("Confirmed")
    LAPSED = "lapsed", _("Lapsed")
    REJECTED = "rejected", _("Rejected")


class Referral(models.Model):
    """A customer referred by an employee from their private contacts, expected on a given day (推荐带客)."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="referrals")
    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("referrer"), on_delete=models.PROTECT,
                                 related_name="ownership_referrals")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    expected_visit_on = models.DateField(_("expected visit"))
    state = models.CharField(_("state"), max_length=12, choices=ReferralState.choices,
                             default=ReferralState.PENDING)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("receiving rep"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("note"), blank=True, default="", max_length=1000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    arrived_at = models.DateTimeField(_("came at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            models.CheckConstraint(condition=Q(relation__in=Relation.values), name="referral_relation_private"),
            models.CheckConstraint(condition=Q(state__in=ReferralState.values), name="referral_state_known"),
            models.UniqueConstraint(fields=["customer"], condition=Q(state__in=["pending", "arrived"]),
                                    name="referral_one_open_per_customer"),
        ]
        indexes = [
            models.Index(fields=["state", "expected_visit_on"], name="referral_state_day"),
            models.Index(fields=["referrer", "-created_at"], name="referral_referrer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}←{self.referrer_id}"


class DisputeState(models.TextChoices):
    OPEN = "open", _("Open")
    DECIDED = "decided", _("Decided")


class Dispute(models.Model):
    """A rep's claim that a customer is theirs (归属争议): decided by the manager with a written reason,
    escalated to the project manager and then the sales director while undecided past its deadline."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="ownership_disputes")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("raised by"), on_delete=models.PROTECT,
                                  related_name="+")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("current owner"), on_delete=models.PROTECT,
                               related_name="+")
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    statement = models.TextField(_("statement"), max_length=2000)
    state = models.CharField(_("state"), max_length=12, choices=DisputeState.choices, default=DisputeState.OPEN)
    level = models.PositiveSmallIntegerField(_("level"), default=1)  # 1 manager, 2 project manager, 3 director
    due_at = models.DateTimeField(_("decide by"))
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    winner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner decided"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    raiser_share = models.PositiveSmallIntegerField(_("raiser's share (%)"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, default="", max_length=2000)

    class Meta:
        verbose_name = _("ownership dispute")
        verbose_name_plural = _("ownership disputes")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=DisputeState.values), name="dispute_state_known"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=3), name="dispute_level_range"),
            models.CheckConstraint(condition=Q(raiser_share__isnull=True) | Q(raiser_share__lte=100),
                                   name="dispute_share_percent"),
            models.CheckConstraint(condition=Q(state="open") | (Q(winner__isnull=False) & Q(raiser_share__isnull=False)
                                                                & ~Q(reason="")), name="dispute_decided_with_reason"),
            models.UniqueConstraint(fields=["customer", "raised_by"], condition=Q(state="open"),
                                    name="dispute_one_open_per_raiser"),
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="dispute_state_due")]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.raised_by_id}/{self.holder_id}"


class DisputeEvent(models.Model):
    """The history of a dispute (raised, escalated, decided). Append-only."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=16)
    level = models.PositiveSmallIntegerField(_("level"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField(_("when"))
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        verbose_name = _("dispute event")
        verbose_name_plural = _("dispute events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.dispute_id}:{self.action}"
