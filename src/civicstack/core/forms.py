from django import forms
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150, widget=forms.TextInput(
        attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}))  # fmt: skip
    password = forms.CharField(label=_("Password"), max_length=1024, strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))  # fmt: skip


class OtpForm(forms.Form):
    token = forms.RegexField(
        label=_("6-digit code from your authenticator app"), regex=r"^\d{6}$", max_length=6,
        error_messages={"invalid": _("Enter the 6 digits your app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )  # fmt: skip


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Name contains"), max_length=100, required=False)
    district = forms.CharField(label=_("District"), max_length=16, required=False)
    kind = forms.CharField(label=_("Kind"), max_length=40, required=False)
