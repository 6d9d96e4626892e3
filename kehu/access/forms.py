from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.web import StyledForm


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(label=_("Password"), max_length=256,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TokenForm(StyledForm):
    name = forms.CharField(label=_("Token name"), max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "off",
                                                         "placeholder": _("e.g. ERP sync, reporting script")}))
