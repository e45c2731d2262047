"""Sign-up, log-in and password forms: e-mail as the login, Django's password validators, case-insensitive e-mail."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ApiToken, User


class SignupForm(BaseUserCreationForm[User]):
    """E-mail, display name and a password checked by AUTH_PASSWORD_VALIDATORS."""

    class Meta:
        model = User
        fields = ("email", "name")
        labels = {"email": _("E-mail"), "name": _("Name")}
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."), code="unique")
        return email


class EmailAuthenticationForm(AuthenticationForm):
    """Django's log-in form, with the e-mail compared the way it was stored (lower case)."""

    error_messages = {
        "invalid_login": _("The e-mail address or the password is not correct."),
        "inactive": _("This account is inactive."),
    }
    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(request, *args, **kwargs)

    def clean(self) -> dict[str, Any]:
        if self.cleaned_data.get("username"):
            self.cleaned_data["username"] = self.cleaned_data["username"].strip().lower()
        return super().clean()


class PasswordResetRequestForm(forms.Form):
    """The address to send a password-reset link to."""

    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        return email


class NewPasswordForm(SetPasswordForm):  # type: ignore[type-arg]
    """Django's form for a new password (twice, checked by AUTH_PASSWORD_VALIDATORS), without label colons."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].widget.attrs["autofocus"] = True


class ChangePasswordForm(PasswordChangeForm):
    """Django's: the current password, then the new one twice (AUTH_PASSWORD_VALIDATORS), without label colons."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = _("Current password")


class ChangeEmailForm(forms.Form):
    """A new address for the account, confirmed with the current password."""

    email = forms.EmailField(
        label=_("New e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if email == self.user.email:
            raise forms.ValidationError(_("This is already your e-mail address."), code="same")
        if User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."), code="unique")
        return email

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not correct."), code="password_incorrect")
        return password


class ApiTokenForm(forms.Form):
    """A new personal access token for the JSON API: its name, what it may do, how long it lasts."""

    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("To recognise it later, e.g. 'my phone' or 'ticket script'."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        label=_("What it may do"),
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text=_(
            "A read-only token sees your bookings but never your tickets' codes, which let their holder in at the door."
        ),
    )
    lifetime_days = forms.TypedChoiceField(label=_("Expires after"), coerce=int, initial=30)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        field = self.fields["lifetime_days"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (days, ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
            for days in settings.API_TOKEN_LIFETIME_DAYS
        ]


class SecondFactorForm(forms.Form):
    """A staff member's second factor: the six digits their authenticator app shows, or one of their backup codes."""

    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
                "size": 12,
            }
        ),
    )

    def __init__(self, *args: Any, numeric: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if numeric:  # enrolment takes the app's six digits only: a phone shows its number pad
            self.fields["code"].widget.attrs.update({"inputmode": "numeric", "pattern": "[0-9 ]*"})
