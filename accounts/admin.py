"""Staff screens for accounts: the e-mail-login user, and the audit log. The balance is shown, never edited or
written here (it only moves through wallet.services, so the ledger keeps reconciling): the form saves only the
fields staff changed, and User.save() never writes the balance (config.service_fields). The audit log is
read-only for everyone, superusers included (accounts.audit writes it)."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_stubs_ext import StrOrPromise

from config.admin import ReadOnlyAdmin, SavesChangedFieldsAdmin

from .audit import ACTION_LABELS
from .models import AuditEntry, User

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

    @transaction.atomic
    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # One transaction, like the change form: the new password and its audit entry commit together.
        return super().user_change_password(request, id, form_url)


def action_label(code: str) -> StrOrPromise:
    return ACTION_LABELS.get(code, code)


class ActionFilter(admin.SimpleListFilter):
    """The known actions (accounts.audit.ACTION_LABELS) by their labels: no scan of the log to list them."""

    title = _("staff action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return sorted(ACTION_LABELS.items(), key=lambda item: str(item[1]))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Every staff change, newest first: searchable by who, object and action; nobody adds, edits or deletes."""

    list_display = ("when", "actor_label", "action_name", "object_link", "ip", "changed_fields")
    list_filter = (ActionFilter, ("at", admin.DateFieldListFilter), ("content_type", admin.RelatedOnlyFieldListFilter))
    search_fields = ("actor_label", "actor__email", "object_repr", "=object_id", "action", "note", "via")
    list_select_related = ("content_type",)
    date_hierarchy = "at"
    show_full_result_count = False
    fields = ("at", "actor_label", "actor", "action_name", "object_link", "changes_table", "note", "ip", "via")
    readonly_fields = fields

    @admin.display(description=_("when"), ordering="at")
    def when(self, obj: AuditEntry) -> str:
        return f"{timezone.localtime(obj.at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description=_("staff action"), ordering="action")
    def action_name(self, obj: AuditEntry) -> StrOrPromise:
        return action_label(obj.action)

    @admin.display(description=_("object"), ordering="object_repr")
    def object_link(self, obj: AuditEntry) -> SafeString | str:
        if obj.content_type is None:
            return obj.object_repr or "—"
        kind = obj.content_type.name
        try:
            url = reverse(f"admin:{obj.content_type.app_label}_{obj.content_type.model}_change", args=[obj.object_id])
        except NoReverseMatch:
            return format_html("{} · {}", kind, obj.object_repr)
        return format_html('{} · <a href="{}">{}</a>', kind, url, obj.object_repr)

    @admin.display(description=_("changed fields"))
    def changed_fields(self, obj: AuditEntry) -> str:
        names = list(obj.changes)
        shown = ", ".join(names[:3])
        return f"{shown} … (+{len(names) - 3})" if len(names) > 3 else shown or "—"

    @admin.display(description=_("changes"))
    def changes_table(self, obj: AuditEntry) -> SafeString | str:
        if not obj.changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((name, _show(before), _show(after)) for name, (before, after) in obj.changes.items()),
        )
        return format_html(
            '<table class="audit-changes"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            _("field"),
            _("before"),
            _("after"),
            rows,
        )


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


# --- staff two-factor devices ----------------------------------------------------------------------------------
# django-otp's own screens let a superuser read every authenticator's key and add devices to anyone: not shown.
# Devices are made by their owner's enrolment page and removed by an operator's `manage.py reset_two_factor EMAIL`
# (accounts.two_factor).

for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)
