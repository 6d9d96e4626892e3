"""The export download page: /exports/customers/?format=csv|xlsx&<the customer list's filters>."""

from django import forms
from django.urls import path
from django.views.decorators.http import require_GET

from kehu.imports.exports import FILTER_KEYS, export_response
from kehu.web import page


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")], required=False)
    reveal = forms.BooleanField(required=False)
    contacts = forms.BooleanField(required=False)
    q = forms.CharField(required=False, max_length=100)
    industry = forms.CharField(required=False, max_length=50)
    city = forms.CharField(required=False, max_length=50)
    stage = forms.CharField(required=False, max_length=16)
    status = forms.CharField(required=False, max_length=16)
    kind = forms.CharField(required=False, max_length=16)
    owner = forms.IntegerField(required=False, min_value=1)
    department = forms.IntegerField(required=False, min_value=1)
    tag = forms.IntegerField(required=False, min_value=1)
    grade_policy = forms.CharField(required=False, max_length=100)
    grade = forms.CharField(required=False, max_length=40)


@page
@require_GET
def customer_export(request):
    """The same export as the API, for the list page's 导出 menu (invalid filters are ignored, as on
    the list)."""
    form = ExportForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    filters = {k: data.get(k) for k in FILTER_KEYS}
    return export_response(request.user, filters=filters, fmt=data.get("format") or "csv",
                           reveal=bool(data.get("reveal")), contacts=bool(data.get("contacts")))


app_name = "exports"
urlpatterns = [
    path("exports/customers/", customer_export, name="customers"),
]
