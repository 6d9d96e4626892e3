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


class PasswordChangeForm(StyledForm):
    old_password = forms.CharField(label=_("Current password"), max_length=256, strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label=_("New password"), max_length=256, strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                   help_text=_("At least 8 characters, not only digits, not a common password."))
    new_password2 = forms.CharField(label=_("New password again"), max_length=256, strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password2") and data["new_password"] != data["new_password2"]:
            self.add_error("new_password2", _("The two new passwords differ."))
        return data
