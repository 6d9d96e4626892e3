"""Optimistic concurrency: every editable record carries a ``version`` that each write raises by one in
the database (``UPDATE … SET version = version + 1 WHERE id = … AND version = <read>``), never by a
read-modify-write in Python. A writer states the version it read (``If-Match``, a ``version`` body field,
or the hidden field of an HTML form); if the record moved on meanwhile the write is refused with the
current version and the fields that changed since, and nothing is saved.

Two policies (``Expected.field_level``):
- strict (the API): any change since the version read is a conflict (HTTP If-Match semantics);
- field level (HTML edit forms, which send only the fields the user changed): a conflict only when a
  field this writer changes was also changed by someone else since; edits of different fields merge.
Either way nothing is silently reverted."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F
from django.utils.translation import gettext as _

from kehu.errors import Conflict, DomainError


@dataclass(frozen=True)
class Expected:
    """The version a writer read. ``source`` says how it was sent (it picks the HTTP status of a
    conflict: 412 for If-Match, 409 for a body or form field)."""

    version: int
    source: str = "body"  # "if-match" | "body" | "form"
    field_level: bool = False


MISSING = Expected(0, "missing")  # a client that must send its version sent none (→ 428 at the check)


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition_required"


class VersionConflict(Conflict):
    """The record changed since the writer read it."""

    code = "version_conflict"

    def __init__(self, *, current_version: int | None, expected: Expected, changed_fields: Iterable[str] = (),
                 conflicting: Iterable[str] = (), code: str | None = None):
        super().__init__(_("Someone else changed this record since you read it (you had version %(mine)s, it is "
                           "now version %(now)s). Nothing was saved: reload it and apply your change again.")
                         % {"mine": expected.version, "now": current_version}, code=code)
        self.status = 412 if expected.source == "if-match" else 409
        self.current_version = current_version
        self.expected = expected
        self.changed_fields = sorted(set(changed_fields))
        self.conflicting = sorted(set(conflicting))

    def as_dict(self) -> dict:
        body = super().as_dict()
        body["error"].update(current_version=self.current_version, your_version=self.expected.version,
                             changed_fields=self.changed_fields)
        return body


def object_type(model_or_obj) -> str:
    return model_or_obj._meta.label_lower


def changed_since(model_or_obj, pk: int, version: int) -> list[str]:
    """The fields that the versions after ``version`` of a record changed (what a late writer missed)."""
    from kehu.concurrency.models import VersionStamp

    fields: set[str] = set()
    for stamped in VersionStamp.objects.filter(object_type=object_type(model_or_obj), object_id=pk,
                                               version__gt=version).values_list("fields", flat=True):
        fields.update(stamped or ())
    return sorted(fields)


def as_expected(value: Expected | int | None) -> Expected | None:
    """An expectation from what older callers pass (a plain int: a body field)."""
    return Expected(int(value), "body") if isinstance(value, int) and not isinstance(value, bool) else value


def version_check(obj, expected: Expected | None, *, fields: Iterable[str] = (), code: str | None = None) -> None:
    """Refuse the write when ``obj`` (read under the write lock) is no longer at the expected version;
    with a field-level expectation only when one of ``fields`` (those this write changes) changed since."""
    if expected is MISSING:
        # Checked here, after permission, scope and validation, so those answer as they always did.
        raise PreconditionRequired(_("Send the version you read: an If-Match header with the record's ETag "
                                     "(from GET) or a \"version\" field in the body."),
                                   fields={"If-Match": [_("Required.")]})
    if expected is None or obj.version == expected.version:
        return
    since = changed_since(obj, obj.pk, expected.version) if expected.version < obj.version else []
    if expected.field_level and expected.version < obj.version:
        clash = set(fields) & set(since)
        if not clash:
            return
        raise VersionConflict(current_version=obj.version, expected=expected, changed_fields=since, conflicting=clash,
                              code=code)
    raise VersionConflict(current_version=obj.version, expected=expected, changed_fields=since,
                          conflicting=set(fields) & set(since), code=code)


def version_bump(obj, *, fields: Iterable[str], expected: Expected | None = None) -> int:
    """Raise the record's version by one in the database, only if it is still the version this writer
    read (``obj.version``); 0 rows updated means another writer got there first: a conflict. Records
    which fields this version changed. Call inside the write's transaction."""
    from kehu.concurrency.models import VersionStamp

    model = type(obj)
    read = obj.version
    updated = model._base_manager.filter(pk=obj.pk, version=read).update(version=F("version") + 1)
    if updated == 0:
        current = model._base_manager.filter(pk=obj.pk).values_list("version", flat=True).first()
        raise VersionConflict(current_version=current, expected=expected or Expected(read, "body"),
                              changed_fields=changed_since(obj, obj.pk, read))
    obj.version = read + 1  # the row said `read` and we raised it by one under our lock
    VersionStamp.objects.create(object_type=object_type(obj), object_id=obj.pk, version=obj.version,
                                fields=sorted(set(fields)))
    return obj.version


def save_versioned(obj, *, fields: Iterable[str], expected: Expected | None = None, **save_kwargs) -> None:
    """Bump the version (see version_bump), then save the other columns of ``obj``."""
    version_bump(obj, fields=fields, expected=expected)
    if "update_fields" not in save_kwargs:
        save_kwargs["update_fields"] = [f.name for f in obj._meta.concrete_fields
                                         if not f.primary_key and f.name != "version"]
    obj.save(**save_kwargs)


def bump_after_save(obj, *, fields: Iterable[str] = ()) -> None:
    """For internal writers (merge, erasure) that save a record without an expectation: raise its
    version in SQL after their save, so clients holding the old version are refused afterwards."""
    from kehu.concurrency.models import VersionStamp

    type(obj)._base_manager.filter(pk=obj.pk).update(version=F("version") + 1)
    obj.refresh_from_db(fields=["version"])
    VersionStamp.objects.get_or_create(object_type=object_type(obj), object_id=obj.pk, version=obj.version,
                                       defaults={"fields": sorted(set(fields))})


def purge_stamps(now=None) -> int:
    """Forget which fields changed in versions older than KEHU_VERSION_STAMP_DAYS (a writer that stale
    is still refused; only the list of changed fields it is told may be shorter)."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from kehu.concurrency.models import VersionStamp

    days = getattr(settings, "KEHU_VERSION_STAMP_DAYS", 30)
    deleted, _rows = VersionStamp.objects.filter(at__lt=(now or timezone.now()) - dt.timedelta(days=days)).delete()
    return deleted


# ---------------------------------------------------------------- HTTP

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def etag(version: int) -> str:
    return f'W/"{version}"'


def expected_from_request(request, body_version: int | None = None, *, required: bool = True) -> Expected | None:
    """The version a client read: ``If-Match: W/"3"`` (or ``"3"``), else a ``version`` body field.
    Missing and required → MISSING, which the service's version_check answers with 428 Precondition
    Required once permission, scope and validation passed."""
    header = request.headers.get("If-Match")
    if header is not None:
        match = _ETAG.match(header)
        if match is None:
            raise DomainError(_("If-Match must be the ETag of the record, e.g. W/\"3\" (a single version, not *)."),
                              fields={"If-Match": [_("Not a version ETag.")]}, code="bad_if_match")
        return Expected(int(match.group(1)), "if-match")
    if body_version is not None:
        return Expected(int(body_version), "body")
    return MISSING if required else None
