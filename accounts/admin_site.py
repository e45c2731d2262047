"""Frontrow's admin site: Django's, with every ModelAdmin registered on it audited (accounts.audit).

FrontrowAdminSite.register mixes AuditedAdmin into each admin class, so every app's admin (and a third-party
app's: groups, log-in lockouts) is audited without asking for it:
- each admin view (and each custom view an admin adds in get_urls) runs inside audit.acting(request), so a
  service it calls records the staff member and their client address;
- every add, change (the change form, the list's editable columns, the inline rows) and delete writes an
  AuditEntry with the changed fields before and after, from ModelAdmin.log_addition / log_change /
  log_deletions, which Django calls inside the transaction that saves or deletes the row; "delete selected"
  runs in one transaction with its log;
- an admin action marked @audited_by_services is audited by the services it calls; any other (another app's)
  runs in one transaction with an "admin.action" entry naming it and the rows selected.

It is the admin's default site (config.apps.AdminConfig.default_site). A site of another kind (two-factor) can
subclass this one, or keep AuditedAdmin in its register().
"""

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db import models, router, transaction
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver

from . import audit, two_factor

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object

Changes = dict[str, tuple[Any, Any]]
PENDING = "_audit_pending"  # on the request: a save's changes, from construct_change_message to log_*
DELETED_PKS = "_audit_deleted_pks"  # on an inline formset: the pks of the rows it deletes, by id() of the row


def form_changes(form: forms.BaseForm, *, add: bool) -> Changes:
    """The fields this bound form changed, before (as the form read the row) and after (as saved).

    A new row: every field the form filled in. A model field's value is read from the saved row (a foreign
    key as its pk, many-to-many as the list of pks). A form-only field (a presale's box of e-mail addresses to add,
    an uploaded file) is recorded as changed, its value redacted: what it did is the service's own entry to say
    (e.g. presale.emails_add counts the addresses), and fans' data never goes into the append-only log.
    """
    instance = getattr(form, "instance", None)
    model_fields = {field.name: field for field in instance._meta.get_fields()} if instance is not None else {}
    cleaned = getattr(form, "cleaned_data", {})
    changes: Changes = {}
    for name in form.fields if add else form.changed_data:
        field = model_fields.get(name)
        if field is not None and hasattr(field, "value_from_object") and instance is not None:
            after = field.value_from_object(instance)
        else:
            if not (add and cleaned.get(name) in (None, "", [])):
                changes[name] = (None, audit.REDACTED)
            continue
        if isinstance(after, Sequence | models.QuerySet) and not isinstance(after, str | bytes):
            after = [getattr(item, "pk", item) for item in after]
        if add and after in (None, "", []):
            continue  # a new row's field left empty: nothing to say
        before = None if add else form.initial.get(name)
        if isinstance(before, Sequence | models.QuerySet) and not isinstance(before, str | bytes):
            before = [getattr(item, "pk", item) for item in before]
        changes[name] = (before, after)
    return changes


def _inline_records(formsets: Sequence[BaseFormSet[Any]] | None) -> list[tuple[str, models.Model, Changes]]:
    """(action, row, changes) for each inline row a change form added, changed or deleted."""
    records: list[tuple[str, models.Model, Changes]] = []
    for formset in formsets or ():
        forms_by_instance = {id(form.instance): form for form in formset.forms if hasattr(form, "instance")}
        for obj in getattr(formset, "new_objects", []):
            form = forms_by_instance.get(id(obj))
            if form is not None:
                records.append(("admin.add", obj, form_changes(form, add=True)))
            else:  # a row the formset's save_new made through a service: its saved values
                values = audit.snapshot(obj)
                records.append(("admin.add", obj, {k: (None, v) for k, v in values.items() if v not in (None, "")}))
        for obj, _names in getattr(formset, "changed_objects", []):
            form = forms_by_instance.get(id(obj))
            records.append(("admin.change", obj, form_changes(form, add=False) if form else {}))
        for obj in getattr(formset, "deleted_objects", []):
            records.append(("admin.delete", obj, {name: (value, None) for name, value in audit.snapshot(obj).items()}))
            if obj.pk is None:  # Model.delete() cleared it: the pk as save_formset saw it before deleting
                obj.pk = getattr(formset, DELETED_PKS, {}).get(id(obj))
    return records


def _with_acting(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with audit.acting(request):
            return view(request, *args, **kwargs)

    return wrapped


def _in_acting(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _with_acting(pattern.callback)
    return patterns


_Action = Callable[..., Any]
SELF_AUDITED = "audited_by_services"


def audited_by_services(action: _Action) -> _Action:
    """Mark an admin action whose services write its audit entries (each in the transaction of its change), so
    the admin does not record it again."""
    setattr(action, SELF_AUDITED, True)
    return action


def _in_one_transaction(action: _Action) -> _Action:
    """delete_selected in one transaction: its audit entries (log_deletions) and its deletions commit together."""

    @functools.wraps(action)
    def run(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            return action(modeladmin, request, queryset)

    return audited_by_services(run)


def _recorded_here(action: _Action, name: str, description: Any) -> _Action:
    """An action that audits nothing itself (another app's), run in one transaction with an "admin.action" entry
    naming it and the rows selected; an action that answers a page of its own (a confirmation step) has done
    nothing yet and records nothing."""

    @functools.wraps(action)
    def run(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        selected = [str(pk) for pk in queryset.values_list("pk", flat=True)[:100]]
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            response = action(modeladmin, request, queryset)
            if response is None or getattr(response, "status_code", None) in (301, 302, 303):
                audit.record(
                    "admin.action",
                    None,
                    changes={"selected": (None, selected)},
                    request=request,
                    note=f"{name}: {description}",
                    object_repr=modeladmin.opts.label,  # "app.Model", whatever the language
                )
            return response

    return run


class AuditedAdmin(_ModelAdmin):
    """Mixed into every ModelAdmin on FrontrowAdminSite: see the module's docstring."""

    def get_urls(self) -> list[URLPattern]:
        return _in_acting(super().get_urls())  # type: ignore[arg-type,return-value]  # only URLPatterns here

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)
        for name, (func, _name, description) in list(actions.items()):
            if name == "delete_selected":
                actions[name] = (_in_one_transaction(func), name, description)
            elif not getattr(func, SELF_AUDITED, False):
                actions[name] = (_recorded_here(func, name, description), name, description)
        return actions

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        setattr(formset, DELETED_PKS, {id(f.instance): f.instance.pk for f in formset.deleted_forms})
        super().save_formset(request, form, formset, change)

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        message: list[dict[str, Any]] = super().construct_change_message(request, form, formsets, add)
        setattr(request, PENDING, (form_changes(form, add=add), _inline_records(formsets)))
        return message

    def _record_save(self, request: HttpRequest, action: str, obj: models.Model) -> None:
        changes, inline = getattr(request, PENDING, ({}, []))
        if hasattr(request, PENDING):
            delattr(request, PENDING)
        with transaction.atomic(using=router.db_for_write(type(obj))):  # the view's own transaction, as a savepoint
            audit.record(action, obj, changes=changes, request=request)
            for inline_action, row, row_changes in inline:
                audit.record(inline_action, row, changes=row_changes, request=request)

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        self._record_save(request, "admin.add", obj)
        return entry

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        self._record_save(request, "admin.change", obj)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            with transaction.atomic(using=router.db_for_write(type(obj))):
                before = {name: (value, None) for name, value in audit.snapshot(obj).items()}
                audit.record("admin.delete", obj, changes=before, request=request)
        return entries


def audited(admin_class: type[admin.ModelAdmin[Any]]) -> type[admin.ModelAdmin[Any]]:
    """`admin_class` with AuditedAdmin mixed in (once)."""
    if issubclass(admin_class, AuditedAdmin):
        return admin_class
    return type(admin_class.__name__, (AuditedAdmin, admin_class), {"__module__": admin_class.__module__})


class FrontrowAdminSite(admin.AdminSite):
    """Django's admin site, auditing every ModelAdmin registered on it, and letting staff in only once they passed
    their second factor (accounts.two_factor)."""

    def has_permission(self, request: HttpRequest) -> bool:
        """Active staff who passed the second factor in this session. The staff-paths middleware sends staff who
        have not to the verify page before any admin view runs; this says it again, so an admin mounted outside
        STAFF_TWO_FACTOR_PATHS still lets nobody in on a password alone (it shows its log-in page instead)."""
        return super().has_permission(request) and two_factor.session_verified(request)

    def register(
        self, model_or_iterable: Any, admin_class: type[admin.ModelAdmin[Any]] | None = None, **options: Any
    ) -> None:
        super().register(model_or_iterable, audited(admin_class or admin.ModelAdmin), **options)
