"""Customer types (直供客户 / 独家代理 / 经销商) with their entry and exit criteria and required papers, the
customer's qualification documents (证照: 营业执照, 税务登记证, 组织机构代码证, 开票资料, 产品许可证, 独家代理许可证)
with their versions and verification, and the account-opening application (开户审批表, seed 004 第13篇 第七条)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    TAX_REGISTRATION = "tax_registration", _("Tax registration certificate")
    ORGANISATION_CODE = "organisation_code", _("Organisation code certificate")
    INVOICING = "invoicing", _("Invoicing data")
    PRODUCT_LICENCE = "product_licence", _("Product licence")
    EXCLUSIVE_AGENCY = "exclusive_agency", _("Exclusive agency licence")


class Verification(models.TextChoices):
    PENDING = "pending", _("Awaiting verification")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Under approval")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Withdrawn")


OPEN_APPLICATION = (ApplicationStatus.SUBMITTED, ApplicationStatus.RETURNED)


class CustomerType(models.Model):
    """A kind of customer with its own entry and exit criteria and required papers (seed 004 第13篇 第十条)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    entry_criteria = models.TextField(_("entry criteria"), blank=True, default="")
    exit_criteria = models.TextField(_("exit criteria"), blank=True, default="")
    required_kinds = models.JSONField(_("required documents"), default=list, blank=True)
    monthly_plan_required = models.BooleanField(_("monthly next-month sales plan required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("customer type")
        verbose_name_plural = _("customer types")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class CustomerQualification(models.Model):
    """A customer's type and why it is suspended by papers (one row per customer, its pk the customer's)."""

    customer = models.OneToOneField("customers.Customer", verbose_name=_("customer"), primary_key=True,
                                    on_delete=models.CASCADE, related_name="+")
    customer_type = models.ForeignKey(CustomerType, verbose_name=_("customer type"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    # True while the customer is suspended because a document in force expired (the sweep set it); a
    # verified renewal or the sweep lifts it. A manual suspension leaves it False: papers never clear it.
    suspended_by_documents = models.BooleanField(_("suspended for expired documents"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer qualification")
        verbose_name_plural = _("customer qualifications")
        indexes = [models.Index(fields=["suspended_by_documents"], name="qual_susp_docs",
                                condition=Q(suspended_by_documents=True))]

    def __str__(self) -> str:
        return str(self.customer_id)


class Document(models.Model):
    """One version of one of a customer's papers. A renewal is a new version (``version`` + 1, same
    customer, kind and title); the version in force (``current``) is the newest verified one."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices)
    title = models.CharField(_("title"), max_length=100, blank=True, default="",
                             help_text=_("For a product licence, its name (e.g. 危险化学品经营许可证)."))
    version = models.PositiveIntegerField(_("version"), default=1)
    number = models.CharField(_("number"), max_length=60, blank=True, default="")
    issuer = models.CharField(_("issued by"), max_length=100, blank=True, default="")
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True,
                                help_text=_("Empty: no expiry (long-term)."))
    # Invoicing data (开票资料)
    bank = models.CharField(_("bank"), max_length=100, blank=True, default="")
    account_number = models.CharField(_("account number"), max_length=40, blank=True, default="")
    invoice_address = models.CharField(_("address"), max_length=200, blank=True, default="")
    invoice_phone = models.CharField(_("phone"), max_length=40, blank=True, default="")
    # The scan, stored privately under KEHU_VAR_DIR (served only through a scoped view).
    file_name = models.CharField(_("file name"), max_length=200, blank=True, default="")
    content_type = models.CharField(_("content type"), max_length=50, blank=True, default="")
    size = models.PositiveIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    stored_name = models.CharField(max_length=80, blank=True, default="")
    verification = models.CharField(_("verification"), max_length=12, choices=Verification.choices,
                                    default=Verification.PENDING)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("verified by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_note = models.CharField(_("verification note"), max_length=500, blank=True, default="")
    current = models.BooleanField(_("in force"), default=False)
    reminded_at = models.DateTimeField(_("expiry reminded at"), null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("qualification document")
        verbose_name_plural = _("qualification documents")
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "title", "version"], name="qualdoc_version_once"),
            models.UniqueConstraint(fields=["customer", "kind", "title"], condition=Q(current=True),
                                    name="qualdoc_one_current"),
            models.CheckConstraint(condition=Q(kind__in=DocumentKind.values), name="qualdoc_kind_known"),
            models.CheckConstraint(condition=Q(verification__in=Verification.values), name="qualdoc_verification_known"),
            models.CheckConstraint(condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True)
                                   | Q(valid_to__gte=models.F("valid_from")), name="qualdoc_valid_range"),
            models.CheckConstraint(condition=Q(current=False) | Q(verification="verified"),
                                   name="qualdoc_current_is_verified"),
        ]
        indexes = [
            models.Index(fields=["customer", "kind", "title", "-version"], name="qualdoc_customer"),
            # The daily sweep: documents in force by expiry date.
            models.Index(fields=["valid_to", "customer"], name="qualdoc_expiry", condition=Q(current=True)),
        ]

    def __str__(self) -> str:
        label = self.title or self.get_kind_display()
        return f"{label} {self.number}".strip()

    @property
    def label(self) -> str:
        return self.title or str(self.get_kind_display())


class AccountOpening(models.Model):
    """An account-opening application (客户开户审批表) for a pending customer, decided by the approval chain
    ``customer.account_opening`` (sales manager → finance → general manager)."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="+")
    customer_type = models.ForeignKey(CustomerType, verbose_name=_("customer type"), on_delete=models.PROTECT,
                                      related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.SUBMITTED)
    # What the form collects besides the documents: legal representative, registered capital, main products,
    # expected yearly quantity, pickup warehouse … (seed 004 附件1)
    data = models.JSONField(_("application data"), default=dict, blank=True)
    request_id = models.BigIntegerField(_("approval request"), null=True, blank=True)
    reasons = models.TextField(_("reasons"), blank=True, default="")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("applicant"), on_delete=models.PROTECT,
                                  related_name="+")
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("account-opening application")
        verbose_name_plural = _("account-opening applications")
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(status__in=["submitted", "returned"]),
                                    name="accountopening_one_open"),
            models.CheckConstraint(condition=Q(status__in=ApplicationStatus.values), name="accountopening_status_known"),
        ]
        indexes = [models.Index(fields=["status", "-id"], name="accountopening_status")]

    def __str__(self) -> str:
        return f"开户审批 #{self.pk}"


# The account-opening form's fields (开户审批表) and their labels; the services clean them.
APPLICATION_FIELDS_LABELS = {
    "legal_representative": _("Legal representative"),
    "registered_capital": _("Registered capital"),
    "main_products": _("Main products purchased"),
    "yearly_quantity": _("Expected yearly quantity"),
    "pickup_location": _("Pickup warehouse"),
    "remarks": _("Remarks"),
}
