"""Admin pieces every app's admin shares: the read-only admin for records, and the one way an admin form
saves an existing row (only the fields staff changed) together with the guard against deleting rows that
still matter."""

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.forms.boundfield import BoundField
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property
from django_stubs_ext import StrOrPromise

# The mixins below go in front of ModelForm / ModelAdmin; the checker is told so, the runtime classes stay
# plain mixins.
if TYPE_CHECKING:
    _ModelForm = forms.ModelForm[Any]
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelForm = _ModelAdmin = object

_Form = TypeVar("_Form", bound="type[forms.ModelForm[Any]]")


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """A record staff may look up and search; nobody adds, edits or deletes rows here (history, ledgers,
    rows that change only through the app's services)."""

    def has_add_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


# --- saving only what staff changed -----------------------------------------------------------------


class SeenValuesForm(_ModelForm):
    """A ModelForm mixin: the page carries, in hidden inputs, the values staff saw when it was drawn, and
    `changed_data` names the fields whose posted value differs from *that*.

    Without it, a field counts as changed when the post differs from the row as read during the post, so a
    value another staff member or a service set in between (a pause, a counter) looks like an edit and is
    written back. A post without the hidden values (an older page, a script) falls back to that comparison.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            for field in self.fields.values():
                if not field.disabled and not field.widget.is_hidden:
                    field.show_hidden_initial = True

    @cached_property
    def changed_data(self) -> list[str]:
        bound_items = self._bound_items()  # type: ignore[attr-defined]  # Django's own, missing from the stubs
        return [name for name, bound in bound_items if self._staff_changed(bound)]

    def _staff_changed(self, bound: BoundField) -> bool:
        field = bound.field
        if field.show_hidden_initial and field.hidden_widget().value_omitted_from_data(
            self.data, self.files, bound.html_initial_name
        ):
            return field.has_changed(bound.initial, bound.data)
        changed: bool = bound._has_changed()  # type: ignore[attr-defined]  # Django's own, missing from the stubs
        return changed


def with_seen_values(form_class: _Form) -> _Form:
    """`form_class` with SeenValuesForm mixed in (once)."""
    if issubclass(form_class, SeenValuesForm):
        return form_class
    return cast(_Form, type(form_class.__name__, (SeenValuesForm, form_class), {"__module__": form_class.__module__}))


def changed_model_fields(form: forms.ModelForm[Any]) -> list[str]:
    """The model columns among the fields this bound ModelForm changed (no many-to-many, no form-only field)."""
    columns = {field.name for field in form.instance._meta.concrete_fields if not field.primary_key}
    return [name for name in form.changed_data if name in columns]


def save_changed_fields(obj: models.Model, form: forms.ModelForm[Any], *, change: bool) -> None:
    """Insert a new row whole; of an existing row write only the columns the form changed (nothing if none)."""
    if not change or obj._state.adding:
        obj.save()
        return
    fields = changed_model_fields(form)
    if fields:
        obj.save(update_fields=fields)


def save_changed_many_to_many(form: forms.ModelForm[Any], *, change: bool) -> None:
    """Save the form's many-to-many fields: all of them for a new row, the changed ones for an existing row."""
    if not change:
        form.save_m2m()
        return
    for field in form.instance._meta.many_to_many:
        if field.name in form.changed_data and field.name in form.cleaned_data:
            field.save_form_data(form.instance, form.cleaned_data[field.name])


def save_formset_changed_fields(formset: BaseModelFormSet[Any, Any]) -> None:
    """Save an inline formset like formset.save(), but write only the changed columns of existing rows.

    Fills formset.new_objects / changed_objects / deleted_objects as save() does (the admin's change
    message reads them). New rows are saved by the formset's save_new (which may call a service).
    """
    formset.save(commit=False)
    for obj in formset.deleted_objects:
        formset.delete_existing(obj, commit=True)
    for obj, _changed in formset.changed_objects:
        form = next(f for f in formset.saved_forms if f.instance is obj)
        save_changed_fields(obj, form, change=True)
        save_changed_many_to_many(form, change=True)
    for obj in formset.new_objects:
        if obj._state.adding:  # a formset whose save_new creates the row (through a service) is done already
            obj.save()
            next(f for f in formset.saved_forms if f.instance is obj).save_m2m()


class SavesChangedFieldsAdmin(_ModelAdmin):
    """Mix into every ModelAdmin whose rows other code also updates (services, jobs, other staff).

    Saving an existing row writes only the fields staff changed on the form (the change form, the list
    page's editable columns and the inlines alike): a column a service moved while the form was open (a
    balance, a queue counter, a date's cancellation) is never written back with the value the form read.
    New rows are saved whole. Subclasses customise saving in save_model / save_formset as usual and call
    save_changed_fields for existing rows.
    """

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        return with_seen_values(super().get_form(request, obj, change=change, **kwargs))

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> type[BaseModelFormSet[Any, Any]]:
        formset = super().get_changelist_formset(request, **kwargs)
        formset.form = with_seen_values(formset.form)
        return formset

    def get_formsets_with_inlines(self, request: HttpRequest, obj: Any = None) -> Iterator[Any]:
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            formset.form = with_seen_values(formset.form)
            yield formset, inline

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        save_changed_fields(obj, form, change=change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        save_changed_many_to_many(form, change=change)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        save_formset_changed_fields(formset)


# --- refusing to delete rows that still matter ----------------------------------------------------------


class GuardedDeleteAdmin(_ModelAdmin):
    """Mix into a ModelAdmin whose rows may not be deleted while something depends on them.

    `delete_refusal(obj)` returns why `obj` may not be deleted (text for staff), or None. A refused row has
    no Delete button; its delete page sends staff back to the row with the reason; the list's "delete
    selected" action lists the reasons and deletes nothing. `deletes_with_it` names the models whose rows
    belong to this one and go with it (its seats, say), though staff may not delete those on their own.

    That check reads without locks, so something may come to depend on the row between it and the delete:
    the delete's service checks again under its locks and raises ValidationError. The delete page, the
    change page (an inline row ticked for deletion) and the "delete selected" action (one transaction for
    all the selected rows) then show its message as an error and change nothing.
    """

    deletes_with_it: tuple[type[models.Model], ...] = ()

    def delete_refusal(self, obj: Any) -> StrOrPromise | None:
        return None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.delete_refusal(obj):
            return False
        return super().has_delete_permission(request, obj)

    def _back_to_row(self, request: HttpRequest, obj: Any, refusal: StrOrPromise) -> HttpResponseRedirect:
        self.message_user(request, refusal, messages.ERROR)
        opts = self.opts
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk], current_app=self.admin_site.name)
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and (refusal := self.delete_refusal(obj)):
            return self._back_to_row(request, obj, refusal)
        try:
            return super().delete_view(request, object_id, extra_context)  # one transaction, rolled back here
        except ValidationError as error:  # the service's check under its locks: booked since the check above
            return self._back_to_row(request, obj, " ".join(error.messages))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # one transaction
        except ValidationError as error:  # an inline row's delete refused under the service's locks
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_actions(self, request: HttpRequest) -> dict[str, tuple[Callable[..., str], str, str] | None]:
        actions = super().get_actions(request)
        if actions.get("delete_selected"):
            func, name, description = actions["delete_selected"]  # type: ignore[misc]  # not None: checked above
            actions[name] = (_all_or_nothing(func), name, description)
        return actions

    def get_deleted_objects(
        self, objs: Sequence[Any] | models.QuerySet[Any], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        deletable, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed = perms_needed - {str(model._meta.verbose_name) for model in self.deletes_with_it}
        refusals = [f"{obj}: {reason}" for obj in objs if (reason := self.delete_refusal(obj))]
        return deletable, model_count, perms_needed, [*refusals, *protected]


def _all_or_nothing(action: Callable[..., Any]) -> Callable[..., Any]:
    """The "delete selected" action in one transaction: a refusal raised while deleting one of the rows (a
    ValidationError from the service's check under its locks) deletes none of them and logs no deletion,
    and staff read it as an error message on the list."""

    @functools.wraps(action)
    def delete_selected(
        modeladmin: GuardedDeleteAdmin, request: HttpRequest, queryset: models.QuerySet[Any]
    ) -> HttpResponse | None:
        try:
            with transaction.atomic(using=router.db_for_write(queryset.model)):
                response: HttpResponse | None = action(modeladmin, request, queryset)
                return response
        except ValidationError as error:
            modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
            return None

    return delete_selected
