"""Staff screens for fan-club presales: the windows inline on the concert's page, and a presale's own page where
its codes are uploaded (CSV) or generated (shown once, with a CSV to download) and its e-mail list is added to.
Every rule is concerts.services' (check_presale, add_presale_codes, generate_presale_codes, add_presale_emails);
the admin's change view is one transaction, so a refused upload or list changes nothing."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin import ReadOnlyAdmin, SavesChangedFieldsAdmin

from .models import Concert, Presale, PresaleCode, PresaleEmail
from .presale_codes import CodeFileError, codes_csv, display_code, normalize_code, parse_code_csv
from .services import (
    MAX_GENERATED_CODES,
    add_presale_codes,
    add_presale_emails,
    check_presale,
    clean_presale_emails,
    generate_presale_codes,
)

WINDOW_FIELDS = ("opens_at", "closes_at", "quota")


def _check(form: forms.ModelForm[Presale], concert: Concert, other_windows: Any = None) -> None:
    cleaned = form.cleaned_data
    if any(cleaned.get(name) is None for name in WINDOW_FIELDS):
        return  # the field's own error says what is missing
    try:
        check_presale(
            concert=concert,
            opens_at=cleaned["opens_at"],
            closes_at=cleaned["closes_at"],
            quota=cleaned["quota"],
            presale=None if form.instance._state.adding else form.instance,
            other_windows=other_windows,
        )
    except ValidationError as error:
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)


class PresaleInlineFormSet(forms.BaseInlineFormSet[Presale, Concert, forms.ModelForm[Presale]]):
    """The concert's windows, checked together: each against the others on the page (not the rows as stored)."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not (self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]
            and all(form.cleaned_data.get(name) is not None for name in WINDOW_FIELDS)
        ]
        concert = self.instance
        sale_opens_at = getattr(concert, "sale_opens_at", None)
        if sale_opens_at is None:
            return  # the concert's own field is missing: its error says so
        # Read every window before checking any: a form's error takes the field out of its cleaned_data.
        windows = [(form.cleaned_data["opens_at"], form.cleaned_data["closes_at"]) for form in kept]
        for index, form in enumerate(kept):
            _check(form, concert, windows[:index] + windows[index + 1 :])


class PresaleInline(admin.TabularInline[Presale, Concert]):
    model = Presale
    formset = PresaleInlineFormSet
    fields = ("name", "opens_at", "closes_at", "quota", "access")
    extra = 0
    # Each row's change link opens the presale's page: its codes and e-mail list.
    show_change_link = True
    verbose_name = _("fan-club presale")
    verbose_name_plural = _("fan-club presales (before the general sale)")


class PresaleForm(forms.ModelForm[Presale]):
    """A presale's window, plus what staff add to its list: a CSV of codes, codes to generate, e-mail addresses."""

    code_file = forms.FileField(
        label=_("Upload codes (CSV)"),
        required=False,
        help_text=_(
            "One code per row, in the first column (a header row 'code' is skipped), each at least 8 characters "
            "mixing letters and digits (or 9 letters, or 13 digits) so that it cannot be guessed. "
            "Codes already on the list are skipped."
        ),
    )
    generate = forms.IntegerField(
        label=_("Generate codes"),
        required=False,
        min_value=1,
        max_value=MAX_GENERATED_CODES,
        help_text=_("How many new random codes to make. They are shown once, after saving: download them then."),
    )
    new_emails = forms.CharField(
        label=_("Add account e-mail addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One per line (or separated by commas). "
            "Only fans whose account has a verified address on the list may enter."
        ),
    )

    class Meta:
        model = Presale
        fields = ("concert", "name", "opens_at", "closes_at", "quota", "access")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        concert = cleaned.get("concert")
        if concert is not None:
            _check(self, concert)
        access = cleaned.get("access")
        upload = cleaned.get("code_file")
        if (upload or cleaned.get("generate")) and access != Presale.Access.CODES:
            self.add_error("access", _("Codes are for a presale by codes: choose that first."))
        if cleaned.get("new_emails", "").strip() and access != Presale.Access.EMAILS:
            self.add_error("access", _("E-mail addresses are for a presale by e-mail list: choose that first."))
        if upload:
            try:
                parsed = parse_code_csv(upload.read())
            except CodeFileError as error:
                self.add_error("code_file", str(error))
            else:
                if parsed.bad_rows:
                    self.add_error(
                        "code_file",
                        _("Rows %(rows)s are not codes (6 to 64 letters and digits). Nothing was added.")
                        % {"rows": ", ".join(map(str, parsed.bad_rows[:20]))},
                    )
                elif parsed.weak_rows:  # add_presale_codes refuses them too; this names the row
                    weak = len(parsed.weak_rows)
                    self.add_error(
                        "code_file",
                        ngettext(
                            "The code in row %(row)s is too easy to guess: uploaded codes need at least 8 characters "
                            "mixing letters and digits, 9 letters or 13 digits. Nothing was added.",
                            "The code in row %(row)s is too easy to guess (%(count)s rows in all): uploaded codes "
                            "need at least 8 characters mixing letters and digits, 9 letters or 13 digits. Nothing "
                            "was added.",
                            weak,
                        )
                        % {"row": parsed.weak_rows[0], "count": weak},
                    )
                cleaned["codes"] = parsed.codes
        entries = [entry for line in cleaned.get("new_emails", "").splitlines() for entry in line.split(",")]
        try:
            cleaned["emails"] = clean_presale_emails(entries)
        except ValidationError as error:
            self.add_error("new_emails", error)
        return cleaned


@admin.register(Presale)
class PresaleAdmin(SavesChangedFieldsAdmin, admin.ModelAdmin[Presale]):
    form = PresaleForm
    list_display = (
        "name",
        "concert",
        "opens_at",
        "closes_at",
        "quota",
        "access",
        "code_count",
        "codes_used",
        "email_count",
    )
    list_filter = ("access", "opens_at")
    search_fields = ("name", "concert__title")
    fieldsets = (
        (None, {"fields": ("concert", "name", "opens_at", "closes_at", "quota", "access")}),
        (_("Codes"), {"fields": ("code_count", "codes_used", "code_file", "generate")}),
        (_("E-mail list"), {"fields": ("email_count", "new_emails")}),
    )
    readonly_fields = ("code_count", "codes_used", "email_count")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Presale]:
        queryset: QuerySet[Presale] = super().get_queryset(request)
        return queryset.select_related("concert").annotate(
            n_codes=Count("codes", distinct=True),
            n_used=Count("codes", filter=Q(codes__used_by__isnull=False), distinct=True),
            n_emails=Count("emails", distinct=True),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Presale | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "concert") if obj is not None else tuple(self.readonly_fields)

    @staticmethod
    def _counted(obj: Presale, name: str, fallback: QuerySet[Any]) -> int:
        if obj._state.adding:
            return 0
        value = getattr(obj, name, None)
        return value if value is not None else fallback.count()

    @admin.display(description=_("codes"))
    def code_count(self, obj: Presale) -> int:
        return self._counted(obj, "n_codes", PresaleCode.objects.filter(presale_id=obj.pk))

    @admin.display(description=_("codes used"))
    def codes_used(self, obj: Presale) -> int:
        return self._counted(obj, "n_used", PresaleCode.objects.filter(presale_id=obj.pk, used_by__isnull=False))

    @admin.display(description=_("e-mail addresses"))
    def email_count(self, obj: Presale) -> int:
        return self._counted(obj, "n_emails", PresaleEmail.objects.filter(presale_id=obj.pk))

    def save_model(self, request: HttpRequest, obj: Presale, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        cleaned = form.cleaned_data
        if cleaned.get("codes"):
            added, already = add_presale_codes(presale=obj, codes=cleaned["codes"])
            self.message_user(
                request,
                _("%(added)s codes added (%(already)s were on the list already).")
                % {"added": added, "already": already},
                messages.SUCCESS,
            )
        if cleaned.get("emails"):
            added, already = add_presale_emails(presale=obj, emails=cleaned["emails"])
            self.message_user(
                request,
                _("%(added)s e-mail addresses added (%(already)s were on the list already).")
                % {"added": added, "already": already},
                messages.SUCCESS,
            )
        if cleaned.get("generate"):
            request._presale_codes = generate_presale_codes(presale=obj, count=cleaned["generate"])  # type: ignore[attr-defined]

    def _codes_page(self, request: HttpRequest, obj: Presale) -> HttpResponse | None:
        codes = getattr(request, "_presale_codes", None)
        if not codes:
            return None
        return TemplateResponse(
            request,
            "admin/concerts/presale/generated_codes.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "presale": obj,
                "codes": [display_code(code) for code in codes],
                "title": _("New codes for %(presale)s") % {"presale": obj},
            },
        )

    def response_add(self, request: HttpRequest, obj: Presale, post_url_continue: str | None = None) -> HttpResponse:
        return self._codes_page(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Presale) -> HttpResponse:
        return self._codes_page(request, obj) or super().response_change(request, obj)

    def get_urls(self) -> list[Any]:
        from django.urls import path

        return [
            path(
                "codes.csv",
                self.admin_site.admin_view(self.download_codes),
                name="concerts_presale_codes_csv",
            ),
            *super().get_urls(),
        ]

    def download_codes(self, request: HttpRequest) -> HttpResponse:
        """The codes just shown on the generated-codes page, as a CSV: the page posts them back (nothing keeps them
        in clear), so only what staff already have on screen is turned into a file."""
        if request.method != "POST" or not self.has_change_permission(request):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        codes = [normalize_code(code) for code in request.POST.get("codes", "").split()]
        if not codes or any(code is None for code in codes):
            return HttpResponse(_("No codes to download."), status=400, content_type="text/plain; charset=utf-8")
        response = HttpResponse(codes_csv(c for c in codes if c), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="presale-codes.csv"'
        response["Cache-Control"] = "no-store"
        return response


@admin.register(PresaleCode)
class PresaleCodeAdmin(ReadOnlyAdmin):
    """Codes are kept as keyed hashes: staff see which are used, by whom and when, never a code itself."""

    list_display = ("presale", "short_hash", "used_by", "used_at", "created_at")
    list_filter = ("presale__concert",)
    search_fields = ("used_by__email", "presale__name")
    list_select_related = ("presale__concert", "used_by")

    @admin.display(description=_("code (keyed hash)"))
    def short_hash(self, obj: PresaleCode) -> str:
        return f"{obj.code_hash[:12]}…"


@admin.register(PresaleEmail)
class PresaleEmailAdmin(admin.ModelAdmin[PresaleEmail]):
    """The addresses on presales' lists: added on the presale's page (lower case, no duplicates), removed here."""

    list_display = ("email", "presale")
    list_filter = ("presale__concert",)
    search_fields = ("email",)
    list_select_related = ("presale__concert",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PresaleEmail | None = None) -> bool:
        return False
