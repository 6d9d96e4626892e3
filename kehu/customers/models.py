from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.access.roles import Level


class CustomerKind(models.TextChoices):
    ORGANIZATION = "organization", _("Organisation")
    PERSON = "person", _("Person")


class Stage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    INTENT = "intent", _("Intent")
    CUSTOMER = "customer", pgettext_lazy("lifecycle stage", "Customer")  # 成交客户; a plain "Customer" is 客户
    LOST = "lost", _("Lost")


class Status(models.TextChoices):
    # 待准入: a new company customer waiting for account opening (开户审批); usable for prospecting and
    # follow-ups, refused for orders, deals, deposits and allocations (kehu.customers.gates).
    PENDING = "pending", _("Pending admission")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    DISQUALIFIED = "disqualified", _("Disqualified")


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    PURCHASER = "purchaser", _("Purchaser")
    USER = "user", _("User")
    FINANCE = "finance", _("Finance")
    OTHER = "other", _("Other")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes / no")


# Sensitivity of personal fields (信息分级): masked in every list, page, export and response unless
# revealed one value at a time by a role holding the level.
SENSITIVE_FIELDS: dict[str, Level] = {
    "mobile": Level.CONFIDENTIAL,
    "id_number": Level.CONFIDENTIAL,
    "birthday": Level.CONFIDENTIAL,
    "traits": Level.CONFIDENTIAL,
}


class TagCategory(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag category")
        verbose_name_plural = _("tag categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    category = models.ForeignKey(TagCategory, verbose_name=_("category"), on_delete=models.PROTECT,
                                 related_name="tags")
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["category__name", "name"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="tag_unique_per_category")]

    def __str__(self) -> str:
        return f"{self.category.name}:{self.name}"


class CustomFieldDefinition(models.Model):
    """An admin-declared extra field (自定义字段); values live in Customer.custom, type-checked."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=16, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(condition=Q(field_type__in=FieldType.values), name="customfield_type_known"),
        ]

    def __str__(self) -> str:
        return self.label


class Customer(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=CustomerKind.choices, default=CustomerKind.ORGANIZATION)
    name = models.CharField(_("name"), max_length=200)
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True, default="")
    industry = models.CharField(_("industry"), max_length=50, blank=True, default="")
    scale = models.CharField(_("scale"), max_length=50, blank=True, default="")
    province = models.CharField(_("province"), max_length=50, blank=True, default="")
    city = models.CharField(_("city"), max_length=50, blank=True, default="")
    district = models.CharField(_("district"), max_length=50, blank=True, default="")
    # GB/T 2260 codes of the three (regions.py); the names above are the codes' names, or free text
    # kept from before the codes where it matched no division.
    province_code = models.CharField(_("province code"), max_length=6, blank=True, default="", db_default="")
    city_code = models.CharField(_("city code"), max_length=6, blank=True, default="", db_default="")
    district_code = models.CharField(_("district code"), max_length=6, blank=True, default="", db_default="")
    address = models.CharField(_("address"), max_length=300, blank=True, default="")
    source = models.CharField(_("source channel"), max_length=50, blank=True, default="")
    stage = models.CharField(_("lifecycle stage"), max_length=16, choices=Stage.choices, default=Stage.PROSPECT)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # db_index=False: the composite indexes cust_owner_upd / cust_dept_upd lead with these columns.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="owned_customers", db_index=False)
    department = models.ForeignKey("access.Department", verbose_name=_("department"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="customers", db_index=False)
    needs = models.TextField(_("business needs"), blank=True, default="")
    preferences = models.TextField(_("preferences"), blank=True, default="")
    pain_points = models.TextField(_("pain points"), blank=True, default="")
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    # A person customer's own mobile and ID number: encrypted, with a keyed hash for exact lookup
    # and the mask kept for lists (masking is cheaper than decrypting 50 rows per page).
    mobile_enc = models.TextField(blank=True, default="")
    mobile_hash = models.CharField(max_length=64, blank=True, default="")  # indexed: cust_mobile_hash
    mobile_masked = models.CharField(_("mobile"), max_length=20, blank=True, default="")
    # The last four digits (尾号), searchable; the mask shows them anyway.
    mobile_last4 = models.CharField(max_length=4, blank=True, default="", db_default="")
    id_number_enc = models.TextField(blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="")  # indexed: cust_id_number_hash
    id_number_masked = models.CharField(_("ID number"), max_length=20, blank=True, default="")
    # Search keys derived from the name (see search.py).
    name_normalized = models.CharField(max_length=200, blank=True, default="")
    name_pinyin = models.CharField(max_length=800, blank=True, default="")
    name_initials = models.CharField(max_length=200, blank=True, default="")
    # The name without legal form and region (dedupe.name_core): the duplicate check at entry looks it up.
    name_core = models.CharField(max_length=200, blank=True, default="")
    # Pinyin collation key (search.sort_key): the list sorts names in 拼音 order by this column.
    name_sort = models.CharField(max_length=120, blank=True, default="", db_default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Optimistic concurrency: raised by one in the database on every edit (kehu.concurrency.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, db_default=1, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)
    # A merged-away duplicate stays as a tombstone (deleted_at set too, so it leaves every list and
    # frees its USCC) pointing at the record that absorbed it; old links and API ids still resolve.
    merged_into = models.ForeignKey("self", verbose_name=_("merged into"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="merged_from",
                                    db_index=False)  # cust_merged_into: partial, only the tombstones
    merged_at = models.DateTimeField(_("merged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["uscc"], condition=Q(deleted_at__isnull=True) & ~Q(uscc=""),
                                    name="customer_uscc_unique_live"),
            models.CheckConstraint(condition=Q(kind__in=CustomerKind.values), name="customer_kind_known"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="customer_stage_known"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="customer_status_known"),
            models.CheckConstraint(condition=Q(uscc="") | Q(Exact(Length("uscc"), 18)), name="customer_uscc_length"),
            models.CheckConstraint(condition=~Q(name=""), name="customer_name_required"),
            models.CheckConstraint(condition=(Q(province_code="") | Q(Exact(Length("province_code"), 6))) & (
                Q(city_code="") | ~Q(province_code="")) & (Q(district_code="") | ~Q(city_code="")),
                name="customer_region_codes_nested"),
            models.CheckConstraint(condition=Q(merged_into__isnull=True) | (
                Q(merged_at__isnull=False) & Q(deleted_at__isnull=False) & ~Q(merged_into=models.F("id"))),
                name="customer_tombstone_consistent"),
        ]
        indexes = [
            models.Index(fields=["owner", "-updated_at", "-id"], name="cust_owner_upd"),
            models.Index(fields=["department", "-updated_at", "-id"], name="cust_dept_upd"),
            models.Index(fields=["city", "-updated_at", "-id"], name="cust_city_upd"),
            # A department's customers in one city (a manager's list filtered by city): without it the count
            # intersects the whole city's and the whole department's bitmaps (31 ms at 1M customers, 6.7 with
            # it; bench/README.md "Reads at 1M").
            models.Index(fields=["department", "city", "-updated_at", "-id"], name="cust_dept_city_upd"),
            models.Index(fields=["industry", "-updated_at", "-id"], name="cust_industry_upd"),
            models.Index(fields=["-updated_at", "-id"], name="cust_upd"),
            models.Index(fields=["name", "id"], name="cust_name"),
            models.Index(fields=["name_sort", "id"], name="cust_name_sort"),
            models.Index(fields=["mobile_last4"], name="cust_mobile_last4"),
            # The partial unique index above cannot serve `uscc = %s` (SQLite cannot prove a bound
            # parameter is not ''), so exact USCC lookups and the duplicate check need their own.
            models.Index(fields=["uscc"], name="cust_uscc"),
            models.Index(fields=["name_core"], name="cust_name_core"),
            # Exact lookups by keyed hash only: explicit indexes, because db_index=True on a CharField also
            # gives PostgreSQL a varchar_pattern_ops twin for LIKE, one more index write per insert for
            # nothing (nobody matches a hash by prefix).
            models.Index(fields=["mobile_hash"], name="cust_mobile_hash"),
            models.Index(fields=["id_number_hash"], name="cust_id_number_hash"),
            # Nearly every row is NULL here; only the tombstones need finding (PROTECT, merge undo). Both
            # databases use a partial `IS NOT NULL` index for `merged_into_id = …`.
            models.Index(fields=["merged_into"], condition=Q(merged_into__isnull=False), name="cust_merged_into"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True, default="")
    role = models.CharField(_("decision-chain role"), max_length=20, choices=ContactRole.choices,
                            default=ContactRole.OTHER)
    reports_to = models.ForeignKey("self", verbose_name=_("reports to"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="reports")
    email = models.EmailField(_("email"), blank=True, default="")
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True, default="")
    mobile_enc = models.TextField(blank=True, default="")
    mobile_hash = models.CharField(max_length=64, blank=True, default="")  # indexed: contact_mobile_hash
    mobile_masked = models.CharField(_("mobile"), max_length=20, blank=True, default="")
    mobile_last4 = models.CharField(max_length=4, blank=True, default="", db_default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    preferences = models.TextField(_("preferences"), blank=True, default="")
    traits = models.TextField(_("personal traits"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Optimistic concurrency: raised by one in the database on every edit (kehu.concurrency.versioning).
    version = models.PositiveIntegerField(_("version"), default=1, db_default=1, editable=False)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=ContactRole.values), name="contact_role_known"),
            models.CheckConstraint(condition=~Q(name=""), name="contact_name_required"),
            models.CheckConstraint(condition=~Q(reports_to=models.F("id")), name="contact_not_own_superior"),
        ]
        indexes = [models.Index(fields=["mobile_last4"], name="contact_mobile_last4"),
                   models.Index(fields=["mobile_hash"], name="contact_mobile_hash")]  # no LIKE twin (see Customer)

    def __str__(self) -> str:
        return self.name


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class LegalBasis(models.TextChoices):
    """Why personal information may be processed (PIPL 13): the person's consent, the performance of a
    contract with the person, or a legal duty."""

    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Performance of a contract")
    LEGAL_DUTY = "legal_duty", _("Legal duty")


class Consent(models.Model):
    """The recorded legal basis of a person's information (PIPL 13 告知-同意): consent, contract or legal
    duty, with purpose, scope, channel and evidence; withdrawable. ``sensitive`` marks the separate,
    explicit consent that sensitive information (the ID number) needs (PIPL 29)."""

    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="consents", db_index=False)  # consent_subject_status leads with it
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=200)
    scope = models.CharField(_("scope"), max_length=200, blank=True, default="")
    channel = models.CharField(_("channel"), max_length=50)
    evidence = models.CharField(_("evidence"), max_length=300, blank=True, default="")
    status = models.CharField(_("status"), max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.GRANTED)
    granted_at = models.DateTimeField(_("granted at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    basis = models.CharField(_("legal basis"), max_length=16, choices=LegalBasis.choices, default=LegalBasis.CONSENT)
    sensitive = models.BooleanField(_("separate consent for sensitive information"), default=False)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ConsentStatus.values), name="consent_status_known"),
            models.CheckConstraint(
                condition=Q(status="granted", withdrawn_at__isnull=True) | Q(status="withdrawn", withdrawn_at__isnull=False),
                name="consent_withdrawn_has_time",
            ),
            models.CheckConstraint(condition=Q(basis__in=LegalBasis.values), name="consent_basis_known"),
            # Sensitive information needs the person's own separate consent, never a contract or a duty.
            models.CheckConstraint(condition=Q(sensitive=False) | Q(basis="consent"), name="consent_sensitive_is_consent"),
        ]
        indexes = [models.Index(fields=["customer", "contact", "status"], name="consent_subject_status")]

    def __str__(self) -> str:
        return self.purpose


class ChangeRecord(models.Model):
    """Field-level history of a customer and what hangs off it (信息动态更新): the 360° timeline."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="changes",
                                 db_index=False)  # change_customer_at leads with it
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True, default="")
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=32)
    changes = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("changes")
        indexes = [models.Index(fields=["customer", "-at", "-id"], name="change_customer_at")]

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id} {self.action}"


class SearchDocument(models.Model):
    """One search document per customer: the terms of its name, space-separated (see search.py).
    Not searched as a column: SQLite indexes it with FTS5 (customers_searchfts, external content
    kept in step by triggers), PostgreSQL with a GIN index over the terms as a tsvector (migration
    0009; search_index.py writes and queries both)."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE, related_name="+")
    terms = models.TextField()

    def __str__(self) -> str:
        return self.terms


# ---------------------------------------------------------------- duplicates and merge

class CandidateState(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not a duplicate")


class DuplicateCandidate(models.Model):
    """A pair of customers that may be the same (疑似重复), with the evidence found by a scan.
    One row per unordered pair (a < b); a dismissal stays on the row, so no later scan re-proposes it."""

    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(_("evidence"), default=list)
    score = models.PositiveSmallIntegerField(_("score"))
    state = models.CharField(_("state"), max_length=16, choices=CandidateState.choices, default=CandidateState.OPEN)
    detected_at = models.DateTimeField(_("detected"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="dupcand_pair_unique"),
            models.CheckConstraint(condition=Q(customer_a__lt=models.F("customer_b")), name="dupcand_pair_ordered"),
            models.CheckConstraint(condition=Q(state__in=CandidateState.values), name="dupcand_state_known"),
            models.CheckConstraint(condition=Q(score__lte=100), name="dupcand_score_range"),
        ]
        indexes = [models.Index(fields=["state", "-score", "-id"], name="dupcand_state_score")]

    def __str__(self) -> str:
        return f"{self.customer_a_id}~{self.customer_b_id}"


class CustomerMerge(models.Model):
    """One merge of ``loser`` into ``survivor`` (客户合并): what moved (model label → FK field → pks),
    the survivor's replaced values and the loser's prior state, so an undo puts everything back."""

    survivor = models.ForeignKey(Customer, verbose_name=_("survivor"), on_delete=models.PROTECT,
                                 related_name="merges_absorbed")
    loser = models.ForeignKey(Customer, verbose_name=_("merged record"), on_delete=models.PROTECT,
                              related_name="merges_lost")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("merged at"))
    moved = models.JSONField(default=dict)
    survivor_before = models.JSONField(default=dict)
    survivor_after = models.JSONField(default=dict)
    loser_before = models.JSONField(default=dict)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=models.F("loser")), name="merge_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.loser_id} → {self.survivor_id}"
