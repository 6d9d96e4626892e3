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
