"""Versions in HTML edit forms. The form carries two hidden fields: ``version`` (the record's version when
the page was loaded) and ``original`` (the form's values at that moment, JSON). On submit,
``user_changed_fields`` compares what was posted with ``original``, so the view sends only the fields this
user changed — two people editing different fields of the same record no longer revert each other —
and the service refuses (VersionConflict) when a field this user changed was also changed by someone
else since the page was loaded. The form is then shown again with both values side by side."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder

from kehu.concurrency.versioning import Expected

VERSION_FIELDS = ("version", "original")


def add_version_fields(form: forms.Form, *, version: int) -> None:
    """Add the hidden ``version`` and ``original`` fields (call after every other field exists)."""
    snapshot = {} if form.is_bound else {name: form[name].value() for name in form.fields
                                         if name not in VERSION_FIELDS}
    form.fields["version"] = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput,
                                                initial=version)
    form.fields["original"] = forms.CharField(required=False, widget=forms.HiddenInput,
                                              initial=json.dumps(snapshot, cls=DjangoJSONEncoder, ensure_ascii=False))


def form_expected(form: forms.Form) -> Expected | None:
    """The version the page was loaded at, field-level (None when the post carries none)."""
    version = form.cleaned_data.get("version")
    return None if version is None else Expected(version, "form", field_level=True)


def _original(form: forms.Form) -> dict | None:
    try:
        original = json.loads(form.data.get("original") or "")
    except ValueError:
        return None
    return original if isinstance(original, dict) else None


def user_changed_fields(form: forms.Form) -> set[str]:
    """The fields whose posted value differs from the value the page was loaded with. Without a usable
    ``original`` every field counts as changed (the old whole-form behaviour)."""
    original = _original(form)
    names = [n for n in form.fields if n not in VERSION_FIELDS]
    if original is None:
        return set(names)
    changed = set()
    for name in names:
        field = form.fields[name]
        if name not in original:
            changed.add(name)
            continue
        try:
            initial = field.to_python(original[name])
        except ValidationError:
            changed.add(name)
            continue
        if field.has_changed(initial, form[name].data):
            changed.add(name)
    return changed


def display(field: forms.Field, value) -> str:
    """A value as the user reads it (choice labels, object names) for the side-by-side conflict table."""
    if value in (None, "", [], ()):
        return "—"
    try:
        if isinstance(field, forms.ModelMultipleChoiceField):
            return "、".join(str(o) for o in field.queryset.filter(pk__in=list(value)))
        if isinstance(field, forms.ModelChoiceField):
            obj = field.queryset.filter(pk=value).first()
            return str(obj) if obj is not None else str(value)
    except (ValueError, TypeError, ValidationError):
        return str(value)
    if isinstance(field, forms.ChoiceField):
        labels = {str(k): v for k, v in field.choices if not isinstance(v, (list, tuple))}
        return str(labels.get(str(value), value))
    if isinstance(field, forms.BooleanField):
        return "✓" if value else "—"
    return str(value)


def conflict_rows(*, mine: forms.Form, theirs: forms.Form, names) -> list[dict]:
    """For each form field in ``names``: its label, the value stored now (the other user's) and this
    user's posted value."""
    rows = []
    for name in names:
        if name not in mine.fields:
            continue
        rows.append({"name": name, "label": mine.fields[name].label or name,
                     "theirs": display(theirs.fields[name], theirs[name].value()),
                     "yours": display(mine.fields[name], mine[name].value())})
    return rows


def refreshed_data(post, *, fresh_form: forms.Form, keep) -> dict:
    """The post to re-show after a conflict: this user's values for the fields they changed (``keep``),
    the stored values for every other field, and ``version`` / ``original`` of the record as it is now.
    Saving the re-shown form then knowingly replaces the other user's values in ``keep`` only."""
    data = post.copy()
    current = json.loads(fresh_form.fields["original"].initial)
    for name, value in current.items():
        if name in keep or name in VERSION_FIELDS:
            continue
        if isinstance(value, list):
            data.setlist(name, ["" if v is None else str(v) for v in value])
        else:
            data[name] = "" if value is None else str(value)
    data["version"] = str(fresh_form.fields["version"].initial)
    data["original"] = fresh_form.fields["original"].initial
    return data
