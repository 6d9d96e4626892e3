"""HTML forms of the customer archive. They parse and type-check what a browser sends; every rule
of the business (USCC checksum, mobile, scope, owner) is the services' and comes back as errors."""

from __future__ import annotations

import re

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kehu.access import protection
from kehu.customers import regions
from kehu.customers.models import ContactRole, CustomerKind, FieldType, LegalBasis, Stage, Status
from kehu.web import StyledForm

ORDERINGS = ("name", "-name", "updated_at", "-updated_at", "created_at", "-created_at")
CUSTOM_PREFIX = "custom_"
REGION_FIELDS = ("province", "city", "district")


ALL = _("All")


def _blank(choices, label=ALL) -> list:
    return [("", label), *choices]


class CustomerFilterForm(StyledForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={
        "type": "search", "autocomplete": "off",
        "placeholder": _("Name, pinyin, initials, mobile (or its last 4 digits) or USCC")}))
    industry = forms.CharField(label=_("Industry"), required=False, max_length=50)
    city = forms.CharField(label=_("City"), required=False, max_length=50)
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=_blank(Stage.choices))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_blank(Status.choices))
    tag = forms.TypedChoiceField(label=_("Tag"), required=False, coerce=int, empty_value=None)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int, empty_value=None)
    mine = forms.BooleanField(label=_("My customers"), required=False)
    grade_policy = forms.ChoiceField(label=_("Grading policy"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    ordering = forms.ChoiceField(required=False, choices=[(o, o) for o in ORDERINGS], widget=forms.HiddenInput)
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args, tags=(), owners=(), departments=(), grades=(), **kwargs):
        super().__init__(*args, **kwargs)
        # grades: [(policy name, its grades)] of the active grading policies (selectors.grade_filter_choices).
        self.fields["grade_policy"].choices = _blank([(name, name) for name, _levels in grades])
        self.fields["grade"].choices = _blank([(name, [(g, g) for g in levels]) for name, levels in grades])
        self.fields["tag"].choices = _blank([(t.pk, str(t)) for t in tags])
        # Owners and departments within the viewer's data scope only.
        self.fields["owner"].choices = _blank([(u.pk, str(u)) for u in owners])
        self.fields["department"].choices = _blank(
            [(d.pk, "\u3000" * max(d.path.count("/") - 2, 0) + str(d)) for d in departments])

    def selector_args(self) -> dict:
        """The valid filters as selectors.customer_list arguments (an invalid one is ignored)."""
        data = getattr(self, "cleaned_data", {})
        args = {k: data.get(k) or None for k in ("q", "industry", "city", "stage", "status", "tag", "owner",
                                                   "department", "grade_policy", "grade", "cursor")}
        args["mine"] = bool(data.get("mine"))
        args["ordering"] = data.get("ordering") or "-updated_at"
        return args


# The service's error keys for the legal basis → the form fields that carry it.
BASIS_FIELD_MAP = {"basis": "basis", "basis.purpose": "basis_purpose", "id_number_consent": "id_consent",
                   "id_number_consent.purpose": "id_consent_purpose"}


class LegalBasisFields(forms.Form):
    """The legal basis asked for when a person's personal information is first recorded (PIPL 13), and for
    an ID number the person's separate consent (PIPL 29). Mixed into the customer and contact forms."""

    basis = forms.ChoiceField(label=_("Legal basis for the personal information"), required=False,
                              choices=[("", "—"), *LegalBasis.choices],
                              help_text=_("Needed when a mobile, ID number, birthday or personal traits are first "
                                          "recorded for this person."))
    basis_purpose = forms.CharField(label=_("Purpose of the processing"), required=False, max_length=200,
                                    widget=forms.TextInput(attrs={"placeholder": _("e.g. delivery and after-sales contact")}))
    basis_channel = forms.CharField(label=_("How it was obtained"), required=False, max_length=50,
                                    widget=forms.TextInput(attrs={"placeholder": _("e.g. signed contract, paper form")}))
    basis_evidence = forms.CharField(label=_("Evidence"), required=False, max_length=300)

    def basis_data(self) -> dict:
        d = self.cleaned_data
        data = {}
        if d.get("basis") or d.get("basis_purpose"):
            data["basis"] = {"basis": d.get("basis") or "", "purpose": d.get("basis_purpose") or "",
                             "channel": d.get("basis_channel") or "", "evidence": d.get("basis_evidence") or ""}
        if d.get("id_consent"):
            data["id_number_consent"] = {"purpose": d.get("id_consent_purpose") or "",
                                         "channel": d.get("basis_channel") or "",
                                         "evidence": d.get("id_consent_evidence") or ""}
        return data


class CustomerForm(LegalBasisFields, StyledForm):
    """Mirrors schemas.CustomerIn."""

    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices, initial=CustomerKind.ORGANIZATION)
    uscc = forms.CharField(label=_("Unified social credit code"), required=False, max_length=30,
                           help_text=_("18 characters, for organisations (GB 32100-2015)."))
    mobile = forms.CharField(label=_("Mobile"), required=False, max_length=30,
                             help_text=_("Person customers only."))
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=30,
                                help_text=_("Person customers only; 18-character resident ID."))
    industry = forms.CharField(label=_("Industry"), required=False, max_length=50)
    scale = forms.CharField(label=_("Scale"), required=False, max_length=50)
    # Cascading GB/T 2260 choices (values are codes; regions.py); see _region_choices.
    province = forms.ChoiceField(label=_("Province"), required=False)
    city = forms.ChoiceField(label=_("City"), required=False)
    district = forms.ChoiceField(label=_("District"), required=False)
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    source = forms.CharField(label=_("Source channel"), required=False, max_length=50)
    stage = forms.ChoiceField(label=_("Lifecycle stage"), choices=Stage.choices, initial=Stage.PROSPECT)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False, empty_label=None)
    tags = forms.ModelMultipleChoiceField(label=_("Tags"), queryset=None, required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 6}))
    needs = forms.CharField(label=_("Business needs"), required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    preferences = forms.CharField(label=_("Preferences"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    pain_points = forms.CharField(label=_("Pain points"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    id_consent = forms.BooleanField(label=_("The person gave separate, explicit consent to recording the ID number"),
                                    required=False)
    id_consent_purpose = forms.CharField(label=_("Purpose of the ID number"), required=False, max_length=200,
                                         widget=forms.TextInput(attrs={"placeholder": _("e.g. real-name account opening")}))
    id_consent_evidence = forms.CharField(label=_("Evidence of the separate consent"), required=False, max_length=300)
    # Sent by the "register anyway" button after the form showed possible duplicates.
    confirm_duplicate = forms.BooleanField(required=False, widget=forms.HiddenInput)

    PLAIN = ("name", "kind", "uscc", "industry", "scale", "province", "city", "district", "address", "source",
             "stage", "needs", "preferences", "pain_points")

    def __init__(self, *args, owners, tags, custom_fields=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["tags"].queryset = tags
        self.editing = editing
        if editing:
            # The clear values are never sent to the browser: blank keeps what is stored.
            for name in ("mobile", "id_number"):
                self.fields[name].help_text = _("Leave blank to keep the stored value.")
        self._region_choices()
        self.custom_names = []
        for d in custom_fields:
            name = CUSTOM_PREFIX + d.key
            self.fields[name] = self.style(_custom_field(d))
            self.custom_names.append(name)

    @property
    def custom_fields(self):
        return [self[n] for n in self.custom_names]

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {f: d.get(f) or "" for f in self.PLAIN}
        data["owner"] = d["owner"].pk if d.get("owner") else None
        data["tags"] = [t.pk for t in d.get("tags") or ()]
        data["custom"] = {n[len(CUSTOM_PREFIX):]: _custom_value(d.get(n)) for n in self.custom_names}
        for name in ("mobile", "id_number"):
            if d.get(name) or not self.editing:
                data[name] = d.get(name) or None
        data.update(self.basis_data())
        data["confirm_duplicate"] = bool(d.get("confirm_duplicate"))
        # The selects carry codes; the service names the places from them. A place stored as free text
        # that matched no division is left alone unless a place is chosen.
        codes = {f"{f}_code": data.pop(f) or "" for f in REGION_FIELDS}
        if any(codes.values()) or self.region_had_codes:
            data.update(codes)
        return data

    def _region_choices(self) -> None:
        """Each select offers the divisions inside the one chosen above it (from the posted data, or
        the stored names matched to codes); htmx refills the lower ones on change."""
        source = self.data if self.is_bound else {}
        stored = regions.match(*(str(self.initial.get(f) or "") for f in REGION_FIELDS))
        self.region_had_codes = bool(stored["province_code"])
        picked = {f: (source.get(f) if self.is_bound else stored[f"{f}_code"]) or "" for f in REGION_FIELDS}
        unmatched = [str(self.initial.get(f) or "") for f in REGION_FIELDS if not stored[f"{f}_code"]]
        if not self.is_bound:
            self.initial.update(picked)
        if any(unmatched):
            self.fields["province"].help_text = _("Stored as: %(text)s (kept unless you choose a place)") % {
                "text": " ".join(t for t in unmatched if t)}
        self.fields["province"].choices = _blank(regions.provinces(), "—")
        self.fields["city"].choices = _blank(regions.cities(picked["province"]), "—")
        self.fields["district"].choices = _blank(regions.districts(picked["city"]), "—")
        url = reverse_lazy("customers:region_options")
        for f, target in (("province", "city"), ("city", "district")):
            self.fields[f].widget.attrs.update({"hx-get": url, "hx-trigger": "change", "hx-target": f"#id_{target}",
                                                "hx-swap": "innerHTML", "hx-include": "this",
                                                "data-testid": f"region-{f}"})
        self.fields["district"].widget.attrs["data-testid"] = "region-district"

    @staticmethod
    def field_map(exc_fields) -> dict[str, str]:
        """custom.<key> errors of the service belong to the custom_<key> fields."""
        return {**BASIS_FIELD_MAP,
                **{k: CUSTOM_PREFIX + k[len("custom."):] for k in exc_fields if k.startswith("custom.")}}


def _custom_field(d) -> forms.Field:
    common = {"label": d.label, "required": d.required}
    if d.field_type == FieldType.NUMBER:
        return forms.DecimalField(**common, max_digits=30, decimal_places=10)
    if d.field_type == FieldType.DATE:
        return forms.DateField(**common, widget=forms.DateInput(attrs={"type": "date"}))
    if d.field_type == FieldType.CHOICE:
        return forms.ChoiceField(**common, choices=[("", "—"), *[(c, c) for c in d.choices]])
    if d.field_type == FieldType.BOOLEAN:
        return forms.TypedChoiceField(**common, choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
                                      coerce=lambda v: v == "true", empty_value=None)
    return forms.CharField(**common, max_length=1000)


def _custom_value(value):
    if value is None or value == "":
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal → a JSON number
        return float(value) if value != value.to_integral_value() else int(value)
    return value


class ContactForm(LegalBasisFields, StyledForm):
    """Mirrors schemas.ContactIn."""

    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=100)
    title = forms.CharField(label=_("Title"), required=False, max_length=100)
    role = forms.ChoiceField(label=_("Decision-chain role"), choices=ContactRole.choices, initial=ContactRole.OTHER)
    reports_to = forms.ModelChoiceField(label=_("Reports to"), queryset=None, required=False,
                                        empty_label=_("(nobody — top of the org chart)"))
    mobile = forms.CharField(label=_("Mobile"), required=False, max_length=30,
                             widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    email = forms.EmailField(label=_("Email"), required=False, max_length=254)
    wechat = forms.CharField(label=_("WeChat ID"), required=False, max_length=64)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    traits = forms.CharField(label=_("Personal traits"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    preferences = forms.CharField(label=_("Preferences"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reports_to"].queryset = contacts

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {f: d.get(f) or "" for f in ("name", "title", "role", "email", "wechat", "traits", "preferences")}
        data.update(reports_to=d["reports_to"].pk if d.get("reports_to") else None,
                    mobile=d.get("mobile") or None, birthday=d.get("birthday"))
        data.update(self.basis_data())
        return data


class ContactEditForm(ContactForm):
    """ContactForm for an existing contact. Confidential values are never sent to the browser, so a
    blank mobile, birthday or traits keeps what is stored; the mobile can be cleared explicitly."""

    KEPT_WHEN_BLANK = ("mobile", "birthday", "traits")

    clear_mobile = forms.BooleanField(label=_("Clear the mobile number"), required=False)

    def __init__(self, *args, contact, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reports_to"].queryset = self.fields["reports_to"].queryset.exclude(pk=contact.pk)
        for name in self.KEPT_WHEN_BLANK:
            self.fields[name].help_text = _("Leave blank to keep the stored value.")
        self.fields["mobile"].widget.attrs["placeholder"] = contact.mobile_masked
        self.fields["traits"].widget.attrs["placeholder"] = protection.mask_text(contact.traits)

    def clean(self):
        data = super().clean()
        if data.get("clear_mobile") and data.get("mobile"):
            self.add_error("mobile", _("Either enter a new mobile number or clear it, not both."))
        return data

    def service_data(self) -> dict:
        data = super().service_data()
        d = self.cleaned_data
        for name in self.KEPT_WHEN_BLANK:
            if not d.get(name):
                data.pop(name, None)
        if d.get("clear_mobile"):
            data["mobile"] = None
        return data

    @staticmethod
    def initial_from(contact) -> dict:
        """What the form may show of a stored contact: everything but the confidential values."""
        initial = {f: getattr(contact, f) for f in ("name", "title", "role", "email", "wechat", "preferences")}
        initial["reports_to"] = contact.reports_to_id
        return initial


class ConsentForm(StyledForm):
    """Mirrors schemas.ConsentIn."""

    contact = forms.ModelChoiceField(label=_("Who consented"), queryset=None, required=False,
                                     empty_label=_("The customer itself"))
    purpose = forms.CharField(label=_("Purpose"), max_length=200)
    scope = forms.CharField(label=_("Scope"), required=False, max_length=200)
    channel = forms.CharField(label=_("Channel"), max_length=50,
                              widget=forms.TextInput(attrs={"placeholder": _("e.g. paper form, WeChat, phone")}))
    evidence = forms.CharField(label=_("Evidence"), required=False, max_length=300)

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = contacts

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {f: d.get(f) or "" for f in ("purpose", "scope", "channel", "evidence")}
        data["contact"] = d["contact"].pk if d.get("contact") else None
        return data


class TagForm(StyledForm):
    """Mirrors schemas.TagIn: a tag in a category (a new category is created on first use)."""

    category = forms.CharField(label=_("Category"), max_length=50,
                               widget=forms.TextInput(attrs={"list": "tag-categories", "autocomplete": "off",
                                                             "placeholder": _("e.g. Value, Industry chain")}))
    name = forms.CharField(label=_("Tag"), max_length=50)

    def service_data(self) -> dict:
        return {"category": self.cleaned_data["category"], "name": self.cleaned_data["name"]}


CHOICE_SEPARATORS = re.compile(r"[,，、;；\n]")


class CustomFieldForm(StyledForm):
    """Mirrors schemas.CustomFieldIn; the choices are typed as one comma-separated line."""

    key = forms.CharField(label=_("Key"), max_length=50,
                          help_text=_("Letters, digits, hyphens and underscores, e.g. annual_revenue."),
                          widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    label = forms.CharField(label=_("Label"), max_length=100)
    field_type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices, initial=FieldType.TEXT)
    choices = forms.CharField(label=_("Choices"), required=False, max_length=1000,
                              help_text=_("For the choice type: the options, separated by commas."))
    required = forms.BooleanField(label=_("Required"), required=False)

    def service_data(self) -> dict:
        d = self.cleaned_data
        choices = [c.strip() for c in CHOICE_SEPARATORS.split(d.get("choices") or "") if c.strip()]
        return {"key": d["key"].strip(), "label": d["label"].strip(), "field_type": d["field_type"],
                "choices": list(dict.fromkeys(choices)) if d["field_type"] == FieldType.CHOICE else [],
                "required": bool(d.get("required"))}
