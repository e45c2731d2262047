"""The top-up form. The amount is passed on as typed: wallet.services.charge parses it and records refusals."""

from django import forms
from django.utils.translation import gettext_lazy as _


class TopUpForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount (won)"),
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "50,000"}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)
