"""HTML forms of grading; the rules (what a valid policy is) are the kinds' and the services'."""

from __future__ import annotations

import yaml
from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.grading.kinds import KIND_LABELS
from kehu.web import StyledForm


class PolicyForm(StyledForm):
    name = forms.CharField(label=_("Policy name"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. Polyolefin monthly pickup")}))
    kind = forms.ChoiceField(label=_("Kind"), choices=list(KIND_LABELS.items()))
    description = forms.CharField(label=_("Policy description"), max_length=500, required=False)
    active_from = forms.DateField(label=_("Active from"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    config_yaml = forms.CharField(
        label=_("Configuration (YAML)"), max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "font-monospace"}),
        help_text=_("Grades, bounds and weights of the kind; the example of the chosen kind is filled in."))

    def clean_config_yaml(self):
        try:
            data = yaml.safe_load(self.cleaned_data["config_yaml"])
        except yaml.YAMLError:
            raise forms.ValidationError(_("This is not valid YAML.")) from None
        if not isinstance(data, dict):
            raise forms.ValidationError(_("The configuration must be a mapping of settings."))
        return data


class ImportForm(StyledForm):
    yaml_text = forms.CharField(label=_("Exported policy (YAML)"), max_length=200_000,
                                widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false",
                                                             "class": "font-monospace"}))


def config_to_yaml(config: dict) -> str:
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


class AsOfForm(StyledForm):
    as_of = forms.DateField(label=_("Review date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            help_text=_("Months up to this date are graded; empty: the end of last month."))


# Names of the hand-scored dimensions of the default scorecard and key-account configurations; a key
# configured otherwise is shown as it is written in the policy.
DIMENSION_LABELS = {
    "influence": _("Influence"),
    "fit": _("Strategic fit"),
    "stability": _("Stability"),
    "responsiveness": _("Responsiveness"),
    "cooperation": _("Cooperation"),
    "satisfaction": _("Satisfaction"),
    "potential_value": _("Potential value"),
}
GROUP_LABELS = {"strategy": _("Strategy"), "interaction": _("Interaction"), "value": _("Value"),
                "potential": _("Potential")}


def dimension_label(key: str) -> str:
    return str(DIMENSION_LABELS.get(key, key))


class HandScoresForm(StyledForm):
    """One score field (0–100) and one note per hand-scored dimension; an empty score leaves it as it is."""

    def __init__(self, *args, dimensions: list[dict], **kwargs):
        self.dimensions = dimensions
        super().__init__(*args, **kwargs)
        for d in dimensions:
            cur = d.get("current")
            self.fields[f"score_{d['key']}"] = self.style(forms.DecimalField(
                label=dimension_label(d["key"]), required=False, min_value=0, max_value=100, decimal_places=2,
                initial=cur.score if cur else None,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": 0, "max": 100, "inputmode": "decimal"})))
            self.fields[f"note_{d['key']}"] = self.style(forms.CharField(
                label=_("Note"), required=False, max_length=200, initial=cur.note if cur else ""))

    def rows(self):
        for d in self.dimensions:
            yield {"dim": d, "label": dimension_label(d["key"]),
                   "group": str(GROUP_LABELS.get(d["group"], d["group"])),
                   "score": self[f"score_{d['key']}"], "note": self[f"note_{d['key']}"]}

    def changes(self) -> list[tuple[str, object, str]]:
        """(dimension, score, note) of the dimensions whose score or note differs from the current one."""
        out = []
        for d in self.dimensions:
            score = self.cleaned_data.get(f"score_{d['key']}")
            note = self.cleaned_data.get(f"note_{d['key']}") or ""
            cur = d.get("current")
            if score is None:
                continue
            if cur is None or cur.score != score or cur.note != note:
                out.append((d["key"], score, note))
        return out


class OverrideForm(StyledForm):
    policy_name = forms.CharField(widget=forms.HiddenInput, max_length=100)
    grade = forms.ChoiceField(label=_("New grade"), choices=())
    reason = forms.CharField(label=_("Reason"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, levels: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = [(g, g) for g in reversed(levels or [])]


class RenewForm(StyledForm):
    policy_name = forms.CharField(widget=forms.HiddenInput, max_length=100)
    reason = forms.CharField(label=_("Reason for the renewal"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ServicePolicyForm(StyledForm):
    dedicated_manager = forms.BooleanField(label=_("Dedicated account manager required"), required=False)
    complaint_sla_working_days = forms.IntegerField(label=_("Complaint SLA (working days)"), required=False,
                                                    min_value=1, max_value=3660)
    service_request_sla_working_days = forms.IntegerField(label=_("Service request SLA (working days)"),
                                                          required=False, min_value=1, max_value=3660)
    inspection_cycle_days = forms.IntegerField(label=_("Inspection cycle (days)"), required=False, min_value=1,
                                               max_value=3660)
    visit_every_days = forms.IntegerField(label=_("Visit every (days)"), required=False, min_value=1,
                                          max_value=3660)
    response_priority = forms.IntegerField(label=_("Response priority"), min_value=1, max_value=9, initial=3,
                                           help_text=_("1 is served first."))
    resource_priority = forms.IntegerField(label=_("Resource priority"), min_value=1, max_value=9, initial=3,
                                           help_text=_("1 is served first."))


class ScheduleForm(StyledForm):
    """Activate a draft at a later date (activation.policy_schedule checks the date)."""

    active_from = forms.DateField(label=_("Takes effect on"),
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                  help_text=_("The version in force stays in force until that day; then this "
                                              "version replaces it and grades every customer."))
