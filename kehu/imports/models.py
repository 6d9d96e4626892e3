"""Tables of the customer import: jobs, their row errors, the records they created, saved mappings."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATING = "validating", _("Validating")
    VALIDATED = "validated", _("Validated")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    INTERRUPTED = "interrupted", _("Interrupted (resumable)")


class CommitMode(models.TextChoices):
    ALL_OR_NOTHING = "all", _("All or nothing")
    VALID_ONLY = "valid", _("Valid rows only")


class DuplicateChoice(models.TextChoices):
    SKIP = "skip", _("Skip possible duplicates")
    KEEP = "keep", _("Import them anyway")


class ImportJob(models.Model):
    """One uploaded file and its way through mapping, dry run and commit (导入任务)."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"),
                                   on_delete=models.PROTECT, related_name="import_jobs")
    # The importer's department at upload: a manager sees the jobs of the department subtree.
    department = models.ForeignKey("access.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", db_index=False)
    file_name = models.CharField(_("file name"), max_length=255)
    file_path = models.CharField(max_length=500)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64)
    file_size = models.BigIntegerField(_("size"))
    file_format = models.CharField(max_length=8)
    encoding = models.CharField(max_length=20, blank=True, default="")
    delimiter = models.CharField(max_length=2, blank=True, default="")
    headers = models.JSONField(default=list)
    preview = models.JSONField(default=list)
    columns = models.JSONField(default=list)  # the field of each column, '' = ignored
    state = models.CharField(_("state"), max_length=16, choices=JobState.choices, default=JobState.UPLOADED)
    mode = models.CharField(_("mode"), max_length=8, choices=CommitMode.choices, blank=True, default="")
    total_rows = models.IntegerField(_("rows"), default=0)
    valid_rows = models.IntegerField(_("valid rows"), default=0)
    error_rows = models.IntegerField(_("rows with errors"), default=0)
    done_rows = models.IntegerField(_("rows processed"), default=0)
    imported_rows = models.IntegerField(_("rows imported"), default=0)
    skipped_rows = models.IntegerField(_("rows skipped"), default=0)
    cursor = models.IntegerField(default=0)  # sheet row number of the last row of the last committed batch
    attempt = models.IntegerField(default=0)  # a run only writes while it is the current attempt
    cancel_requested = models.BooleanField(default=False)
    message = models.TextField(blank=True, default="")
    # The whole file's legal basis for the personal information in it (PIPL 13), for rows without their own.
    basis = models.CharField(_("legal basis"), max_length=16, blank=True, default="")
    basis_purpose = models.CharField(_("purpose of the processing"), max_length=200, blank=True, default="")
    # Rows the dry run marked as possible duplicates of customers in the archive (same name core), and
    # what the user chose for them at commit.
    duplicate_rows = models.IntegerField(_("possible duplicates"), default=0)
    duplicates = models.CharField(_("possible duplicates"), max_length=8, choices=DuplicateChoice.choices,
                                  blank=True, default="")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=JobState.values), name="importjob_state_known"),
            models.CheckConstraint(condition=Q(mode__in=["", *CommitMode.values]), name="importjob_mode_known"),
            models.CheckConstraint(condition=Q(file_format__in=["csv", "xlsx"]), name="importjob_format_known"),
            models.CheckConstraint(condition=Q(basis__in=["", "consent", "contract", "legal_duty"]),
                                   name="importjob_basis_known"),
            models.CheckConstraint(condition=Q(duplicates__in=["", *DuplicateChoice.values]),
                                   name="importjob_duplicates_known"),
        ]
        indexes = [
            models.Index(fields=["created_by", "-id"], name="importjob_user"),
            models.Index(fields=["department", "-id"], name="importjob_dept"),
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        return int(self.done_rows * 100 / self.total_rows) if self.total_rows else 0


class ImportRowError(models.Model):
    """Why one row of a job's file cannot be imported (the dry run's report)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors", db_index=False)
    row_number = models.IntegerField()
    errors = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="importrowerror_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number}"


class ImportRowDuplicate(models.Model):
    """A row the dry run marked as a possible duplicate (疑似重复): the customers with the same name core that
    the importer may see (ids only; names outside the importer's scope are never shown)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_duplicates", db_index=False)
    row_number = models.IntegerField()
    name = models.CharField(max_length=200)
    customer_ids = models.JSONField(default=list)  # in the importer's scope
    elsewhere = models.IntegerField(default=0)  # how many more outside it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="importrowduplicate_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number}"


class ImportedRecord(models.Model):
    """A customer created by an import job, and the sheet row it came from (imported records point to
    their import without a column on the customer)."""

    job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="records", db_index=False)
    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="import_record")
    row_number = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["job", "row_number"], name="importedrecord_job_row")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number}"


class ImportMapping(models.Model):
    """A user's saved column mapping (header text → field), reusable by name."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings",
                             db_index=False)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="importmapping_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="importmapping_name_required"),
        ]

    def __str__(self) -> str:
        return self.name
