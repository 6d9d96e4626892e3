from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.orders.models import Channel, TermsKind, Unit
from kehu.web import StyledForm


class DateInput(forms.DateInput):
    input_type = "date"


class OrderForm(StyledForm):
    order_date = forms.DateField(label=_("Order date"), widget=DateInput)
    delivered_on = forms.DateField(label=_("Delivered on"), required=False, widget=DateInput)
    product_line = forms.CharField(label=_("Product line"), max_length=100,
                                   widget=forms.TextInput(attrs={"list": "product-lines"}))
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=16, decimal_places=3,
                                  widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}))
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices, initial=Unit.TONNE)
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=16, decimal_places=2,
                                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    gross_margin = forms.DecimalField(label=_("Gross margin (CNY)"), max_digits=16, decimal_places=2, required=False,
                                      widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.DIRECT)
    external_id = forms.CharField(label=_("External id (ERP)"), max_length=100, required=False)
    request_exception = forms.BooleanField(
        label=_("If the payment terms refuse it, ask for an exception (sales manager, then finance)"), required=False)


class PaymentForm(StyledForm):
    due_date = forms.DateField(label=_("Due date"), widget=DateInput)
    paid_date = forms.DateField(label=_("Paid date"), required=False, widget=DateInput,
                                help_text=_("Leave empty while unpaid (a receivable)."))
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=16, decimal_places=2,
                                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    external_id = forms.CharField(label=_("External id (ERP)"), max_length=100, required=False)


class TermsForm(StyledForm):
    kind = forms.ChoiceField(label=_("Payment terms"), choices=TermsKind.choices, widget=forms.RadioSelect)
    credit_limit = forms.DecimalField(label=_("Credit limit (CNY)"), max_digits=16, decimal_places=2, required=False,
                                      widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    credit_days = forms.IntegerField(label=_("Credit days"), min_value=0, max_value=3650, required=False,
                                     widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
