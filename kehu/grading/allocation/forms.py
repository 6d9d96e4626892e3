from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.grading.allocation.models import ParticipantType
from kehu.web import StyledForm


class MonthInput(forms.TextInput):
    input_type = "month"


DECIMAL = {"inputmode": "decimal", "step": "0.001", "min": "0"}


class PlanForm(StyledForm):
    """Mirrors api.PlanIn; the customer is named (or given by its number) and found in the user's scope."""

    customer = forms.CharField(label=_("Customer name"), max_length=200,
                               widget=forms.TextInput(attrs={"list": "participants", "autocomplete": "off"}),
                               help_text=_("The customer's name or number (客户编号)."))
    month = forms.CharField(label=_("Month"), widget=MonthInput)
    product_line = forms.CharField(label=_("Product line"), max_length=100,
                                   widget=forms.TextInput(attrs={"list": "product-lines"}))
    participant_type = forms.ChoiceField(label=_("Participant type"), required=False,
                                         choices=[("", _("As declared at account opening")),
                                                  *ParticipantType.choices],
                                         help_text=_("Left empty: the customer type declared at account opening."))
    quantity_t = forms.DecimalField(label=_("Planned quantity (t)"), max_digits=16, decimal_places=3,
                                    widget=forms.NumberInput(attrs=DECIMAL))
    capacity_t = forms.DecimalField(label=_("Capacity (t)"), max_digits=16, decimal_places=3, required=False,
                                    widget=forms.NumberInput(attrs=DECIMAL),
                                    help_text=_("The most the participant can take this month; empty: no limit."))
    pickup_note = forms.CharField(label=_("Pickup time"), max_length=200, required=False,
                                  help_text=_("When the participant plans to pick up, e.g. 每周二、周五."))


class PlanEditForm(PlanForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["customer"]


class PlanFilterForm(StyledForm):
    month = forms.CharField(label=_("Month"), required=False, widget=MonthInput)
    product_line = forms.CharField(label=_("Product line"), max_length=100, required=False,
                                   widget=forms.TextInput(attrs={"list": "product-lines"}))
    participant_type = forms.ChoiceField(label=_("Participant type"), required=False,
                                         choices=[("", _("All types")), *ParticipantType.choices])


class ImportForm(StyledForm):
    file = forms.FileField(label=_("CSV or XLSX file"),
                           help_text=_("Columns: 客户名称 or 客户编号, 月份, 产品线, 客户类型, 计划量, and optionally 产能, "
                                       "提货时间."))
    dry_run = forms.BooleanField(label=_("Only check the file"), required=False)


class RoundForm(StyledForm):
    """Mirrors api.RoundIn; the weights default to settings.KEHU_ALLOCATION."""

    month = forms.CharField(label=_("Month"), widget=MonthInput)
    product_line = forms.CharField(label=_("Product line"), max_length=100,
                                   widget=forms.TextInput(attrs={"list": "product-lines"}))
    available_t = forms.DecimalField(label=_("Available quantity (t)"), max_digits=16, decimal_places=3,
                                     widget=forms.NumberInput(attrs=DECIMAL))
    weight_review = forms.DecimalField(label=_("Weight of the review score"), max_digits=4, decimal_places=3,
                                       widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}))
    weight_completion = forms.DecimalField(label=_("Weight of the plan completion rate"), max_digits=4,
                                           decimal_places=3,
                                           widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}))
    weight_regularity = forms.DecimalField(label=_("Weight of the order regularity"), max_digits=4, decimal_places=3,
                                           widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "1"}))
    lookback_months = forms.IntegerField(label=_("Look-back (months)"), min_value=1, max_value=24)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class RoundEditForm(RoundForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["month"]
        del self.fields["product_line"]
