"""Staff screens for accounts: the e-mail-login user. The balance is shown, never edited or written here
(it only moves through wallet.services, so the ledger keeps reconciling): the form saves only the fields
staff changed, and User.save() never writes the balance (config.service_fields)."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from config.admin import SavesChangedFieldsAdmin

from .models import User

if TYPE_CHECKING:
    _UserForm = forms.ModelForm[User]
else:
    _UserForm = object


class _EmailFormMixin(_UserForm):
    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        others = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("A user with that e-mail address already exists."), code="unique")
        return email


class UserCreationForm(_EmailFormMixin, auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserChangeForm(_EmailFormMixin, auth_forms.UserChangeForm[User]):
    class Meta:
        model = User
        fields = ("email", "name", "password", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(SavesChangedFieldsAdmin, auth_admin.UserAdmin[Any]):  # the stubs want an AbstractUser
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("name", "email_verified_at", "balance")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "created_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("balance", "last_login", "created_at")
    list_display = ("email", "name", "email_verified_at", "balance", "is_staff", "is_active", "created_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "name")
    ordering = ("email",)
    date_hierarchy = "created_at"
