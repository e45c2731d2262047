"""Staff screens for concerts: a concert with its dates in one form, a date's page with its seat counts, and
the read-only seat and seat-history tables. Dates are created, moved and deleted, and concerts deleted,
through concerts.services (their priced seats in the same transaction, the concert's span kept in step).
Saving an existing concert or date writes only the fields staff changed (status and cancellation move only
through booking's cancel service), and a concert or date whose seats fans have taken is never deleted: the
pages refuse early, the services again under their locks (a hold that landed after the page's check).

What reads or writes bookings — a date's revenue, buyers and refunds, cancelling and exporting dates, the
cancellations, the exports and the sales dashboard — is registered by booking.admin, which extends the
date page defined here."""

import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.forms.renderers import BaseRenderer
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.models import User
from accounts.requests import acting_user
from config.admin import GuardedDeleteAdmin, ReadOnlyAdmin, SavesChangedFieldsAdmin

from . import selectors
from .admin_presales import PresaleInline
from .cancellation_fees import (
    FREE_DAYS_AFTER_BOOKING,
    FREE_UNLESS_WITHIN_DAYS,
    STANDARD_SCHEDULE,
    FeeStep,
    check_fee_steps,
    describe_schedule,
    fee_schedule_of,
)
from .models import (
    CancellationFeeRule,
    Concert,
    ConcertDate,
    DateExport,
    Presale,
    PresaleCode,
    PresaleEmail,
    Seat,
    SeatStatusHistory,
    local_day,
)
from .pricing import PriceTier, default_tiers, describe_price_tier, format_price_tiers, parse_price_tiers, seat_prices
from .services import (
    check_date_start,
    check_sale_opening_change,
    create_concert_date,
    delete_concert,
    delete_concert_date,
    reschedule_concert_date,
)

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups
    from django.utils.datastructures import _ListOrTuple

    from .selectors import ConcertWithCounts

_Admin = TypeVar("_Admin", bound=type[admin.options.BaseModelAdmin[Any]])


class PriceTiersWidget(forms.Textarea):
    """The tiers as text to type for a new date; once the date exists (the field is disabled, its seats are
    priced), as a read-only list with the tier names."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        if not (attrs or {}).get("disabled"):
            return super().render(name, value, attrs, renderer)
        try:
            tiers = parse_price_tiers(value)
        except ValidationError:
            tiers = []
        lines = format_html_join(mark_safe("<br>"), "{}", ((describe_price_tier(tier),) for tier in tiers))
        return format_html('<div class="readonly fr-price-tiers">{}</div>', lines)


class PriceTiersField(forms.CharField):
    widget = PriceTiersWidget(attrs={"rows": 3, "cols": 26})

    def to_python(self, value: Any) -> str | None:
        # Browsers post "\r\n"; normalise so an untouched extra inline row does not count as changed.
        text = super().to_python(value)
        return text.replace("\r\n", "\n") if text else text


class ConcertDateForm(forms.ModelForm[ConcertDate]):
    """A date's start plus the price tiers its seats are created with (only when the date is new)."""

    price_tiers = PriceTiersField(
        label=_("price tiers"),
        required=False,
        help_text=_("One tier per line: NAME FIRST-LAST PRICE, e.g. VIP 1-10 165000. Fixed once the date exists."),
    )
    # On a date that exists already: the tiers are fixed (its seats are priced), so no help to type them.
    fixed_help_text = _("Fixed once the date exists: its seats are priced.")

    class Meta:
        model = ConcertDate
        fields = ("concert", "starts_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.fields["price_tiers"].initial = format_price_tiers(default_tiers())
        else:
            self.fields["price_tiers"].disabled = True
            self.fields["price_tiers"].help_text = self.fixed_help_text
            self.fields["price_tiers"].initial = format_price_tiers(selectors.price_tiers_of(self.instance))

    def clean_price_tiers(self) -> list[PriceTier] | None:
        """The parsed, validated tiers for a new date (default: one price for every seat)."""
        if not self.instance._state.adding:
            return None
        tiers = parse_price_tiers(self.cleaned_data.get("price_tiers")) or default_tiers()
        seat_prices(tiers)  # raises ValidationError when the tiers do not cover each seat once
        return tiers

    def clean(self) -> dict[str, Any]:
        """A new date's day must be free; an existing date moved to another day is refused onto a day the
        concert has already, or while fans have paid for or hold its seats (check_date_start, under the
        seats' locks: the admin's change view is one transaction)."""
        cleaned = super().clean() or {}
        starts_at = cleaned.get("starts_at")
        concert = cleaned.get("concert") or getattr(self.instance, "concert", None)
        changed = self.instance._state.adding or "starts_at" in self.changed_data
        if starts_at and concert is not None and not concert._state.adding and changed:
            date = None if self.instance._state.adding else self.instance
            try:
                check_date_start(concert=concert, starts_at=starts_at, date=date)
            except forms.ValidationError as error:
                self.add_error("starts_at", error)
        return cleaned


class ConcertForm(forms.ModelForm[Concert]):
    """A concert's own fields. Its sale's opening and its pre-queue's move only until the sale has opened
    (check_sale_opening_change, under the concert's lock: the admin's change view is one transaction)."""

    OPENINGS = ("sale_opens_at", "prequeue_opens_at")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # changed_data compares at the widget's precision (seconds): re-sending the page unchanged moves nothing.
        moved = [field for field in self.OPENINGS if field in self.changed_data]
        if self.instance._state.adding or not moved or any(field in self.errors for field in self.OPENINGS):
            return cleaned
        concert = self.instance
        try:
            check_sale_opening_change(
                concert=concert,
                sale_opens_at=cleaned["sale_opens_at"] if "sale_opens_at" in moved else concert.sale_opens_at,
                prequeue_opens_at=(
                    cleaned.get("prequeue_opens_at") if "prequeue_opens_at" in moved else concert.prequeue_opens_at
                ),
            )
        except ValidationError as error:
            for field in moved:
                self.add_error(field, error)
        return cleaned


class ConcertDateInlineFormSet(forms.BaseInlineFormSet[ConcertDate, Concert, forms.ModelForm[ConcertDate]]):
    created_by: User | None = None  # set per request by ConcertDateInline.get_formset

    def clean(self) -> None:
        super().clean()
        days: dict[datetime.date, forms.ModelForm[ConcertDate]] = {}
        for form in self.forms:
            starts_at = getattr(form, "cleaned_data", {}).get("starts_at")
            # _should_delete_form is Django's own, missing from the stubs.
            if not starts_at or self.can_delete and self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            day = local_day(starts_at)
            if day in days:
                message = _("Two rows are on %(day)s; a concert has at most one show a day.")
                form.add_error("starts_at", message % {"day": day.isoformat()})
            days[day] = form

    def save_new(self, form: forms.ModelForm[ConcertDate], commit: bool = True) -> ConcertDate:
        return create_concert_date(
            concert=self.instance,
            starts_at=form.cleaned_data["starts_at"],
            tiers=form.cleaned_data["price_tiers"],
            created_by=self.created_by,
        )

    def save_existing(self, form: forms.ModelForm[ConcertDate], obj: ConcertDate, commit: bool = True) -> ConcertDate:
        if "starts_at" in form.changed_data:
            return reschedule_concert_date(concert_date=obj, starts_at=form.cleaned_data["starts_at"])
        return obj  # nothing else of an existing date is edited here (its tiers are fixed)

    def delete_existing(self, obj: ConcertDate, commit: bool = True) -> None:
        if commit:
            delete_concert_date(concert_date=obj)


def _seat_count_columns(admin_class: _Admin) -> _Admin:
    """Add seats_available / seats_held / seats_reserved columns reading the selector's annotations."""
    for name, label in (
        ("seats_available", _("free")),
        ("seats_held", _("held")),
        ("seats_reserved", _("sold")),
    ):

        @admin.display(description=label, ordering=name)
        def column(self: admin.options.BaseModelAdmin[Any], obj: ConcertDate, name: str = name) -> object:
            value = getattr(obj, name, None)  # a new row (not saved yet) has no counts
            return self.get_empty_value_display() if value is None else value

        setattr(admin_class, name, column)
    return admin_class


@_seat_count_columns
class ConcertDateInline(admin.TabularInline[ConcertDate, Concert]):
    model = ConcertDate
    form = ConcertDateForm
    formset = ConcertDateInlineFormSet
    fields = ("starts_at", "price_tiers", "seats_available", "seats_held", "seats_reserved")
    readonly_fields = ("seats_available", "seats_held", "seats_reserved")
    extra = 1
    show_change_link = True

    # Django passes an inline the parent's row (the stubs say the inline's own model).
    def get_fields(self, request: HttpRequest, obj: Concert | None = None) -> "_FieldGroups":  # type: ignore[override]
        # A concert being added has no seats yet: no count columns to show.
        return self.fields if obj else tuple(f for f in self.fields if f not in self.readonly_fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConcertDate]:
        seats = Prefetch("seats", queryset=Seat.objects.only("id", "concert_date_id", "seat_number", "price", "tier"))
        queryset = super().get_queryset(request).select_related("concert").prefetch_related(seats)
        # Meta.ordering does not apply to a query with aggregates: order the rows by start explicitly.
        return selectors.dates_with_seat_counts(queryset).order_by("starts_at")

    def get_formset(
        self, request: HttpRequest, obj: Concert | None = None, **kwargs: Any
    ) -> type[ConcertDateInlineFormSet]:
        # A subclass of `formset` above, made per call.
        formset = cast(type[ConcertDateInlineFormSet], super().get_formset(request, obj, **kwargs))
        formset.created_by = acting_user(request)  # a fresh class per call, so this does not leak across requests
        form_class = formset.form

        class GuardedDeleteForm(form_class):  # type: ignore[valid-type,misc]  # a base known only at run time
            def hand_clean_DELETE(self) -> None:
                """A date with bookings is not deleted from the concert page either: say why (cancel it)."""
                if self.cleaned_data.get("DELETE") and not self.instance._state.adding:
                    refusal = selectors.date_delete_refusal(self.instance)
                    if refusal:
                        raise ValidationError(
                            "%(date)s: %(refusal)s", params={"date": self.instance, "refusal": refusal}
                        )
                super().hand_clean_DELETE()

        formset.form = GuardedDeleteForm
        return formset


class CancellationFeeRuleFormSet(forms.BaseInlineFormSet[CancellationFeeRule, Concert, Any]):
    """The concert's fee steps as a whole: one step per day, and no step lower than an earlier one
    (concerts.cancellation_fees.check_fee_steps); each row's own range is its fields' validators."""

    def clean(self) -> None:
        # Ours first: Django's own check of the unique day (validate_unique, in super().clean()) names no day.
        steps = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", {})
            # _should_delete_form is Django's own, missing from the stubs.
            if not data or self.can_delete and self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            if data.get("days_before") is not None and data.get("percent") is not None:
                steps.append(FeeStep(data["days_before"], data["percent"]))
        try:
            check_fee_steps(steps)
        except ValidationError as error:
            raise ValidationError(error.error_list) from None
        super().clean()


class CancellationFeeRuleInline(admin.TabularInline[CancellationFeeRule, Concert]):
    """The concert's cancellation fee schedule, one row per step: "from N days before the show: P %"."""

    model = CancellationFeeRule
    formset = CancellationFeeRuleFormSet
    fields = ("days_before", "percent")
    extra = 0
    ordering = ("-days_before",)
    verbose_name = _("cancellation fee step")
    verbose_name_plural = _("cancellation fee schedule (no rows: the standard schedule)")


@admin.register(Concert)
class ConcertAdmin(SavesChangedFieldsAdmin, GuardedDeleteAdmin, admin.ModelAdmin[Concert]):
    list_display = ("title", "venue", "sale_opens_at", "start_time", "end_time", "date_count", "seats_sold")
    list_filter = ("sale_opens_at", "start_time")
    search_fields = ("title", "venue")
    date_hierarchy = "start_time"
    # The span (start_time / end_time) follows the dates below: shown, never edited.
    readonly_fields = ("created_at", "start_time", "end_time", "queue_controls", "cancellation_fees")
    fields = ("title", "description", "venue", "sale_opens_at", "prequeue_opens_at", "created_at")
    form = ConcertForm
    inlines = [ConcertDateInline, PresaleInline, CancellationFeeRuleInline]

    def get_fields(self, request: HttpRequest, obj: Concert | None = None) -> "_FieldGroups":
        if obj is None:  # nothing to show yet for what only an existing concert has
            return tuple(f for f in self.fields if f not in self.readonly_fields)
        return (*self.fields, "start_time", "end_time", "queue_controls", "cancellation_fees")

    def delete_refusal(self, obj: Concert) -> str | None:
        return selectors.concert_delete_refusal(obj)

    deletes_with_it = (
        ConcertDate,
        Seat,
        SeatStatusHistory,
        DateExport,
        Presale,
        PresaleCode,
        PresaleEmail,
        CancellationFeeRule,
    )

    def delete_model(self, request: HttpRequest, obj: Concert) -> None:
        delete_concert(concert=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Concert]) -> None:
        for concert in queryset:
            delete_concert(concert=concert)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if isinstance(formset, ConcertDateInlineFormSet):
            # Every date row goes through concerts.services (create, reschedule, delete), which keep the
            # concert's span in step; the start is the only column of an existing date written here.
            formset.save()
            return
        super().save_formset(request, form, formset, change)

    @admin.display(description=_("cancellation fees in effect"))
    def cancellation_fees(self, obj: Concert) -> str:
        """The schedule fans are charged by now (the rows below as saved, or the standard one) and the rules
        that hold whatever the rows say."""
        steps = fee_schedule_of(obj)
        schedule = describe_schedule(steps)
        if steps == STANDARD_SCHEDULE and not obj.cancellation_fee_rules.exists():
            schedule = _("the standard schedule: %(schedule)s") % {"schedule": schedule}
        return format_html(
            '{}<br><span class="help">{}</span>',
            schedule,
            _(
                "Always: free for %(free)s days after booking (the day of payment included) unless the show is "
                "%(within)s days away or fewer; no cancelling on the show's day; the fee is rounded down to 10 won. "
                "Staff refunds and cancelled dates are always refunded in full."
            )
            % {"free": FREE_DAYS_AFTER_BOOKING, "within": FREE_UNLESS_WITHIN_DAYS},
        )

    @admin.display(description=_("waiting room"))
    def queue_controls(self, obj: Concert) -> str:
        """A link to the concert's queue controls (max admitted, pause/resume, live counts)."""
        try:
            if hasattr(obj, "waiting_room"):
                url = reverse("admin:queueing_waitingroom_change", args=[obj.pk])
            else:
                url = reverse("admin:queueing_waitingroom_add") + f"?concert={obj.pk}"
        except NoReverseMatch:
            return "—"
        return format_html('<a class="button" href="{}">{}</a>', url, _("Queue controls and live counts"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Concert]:
        return selectors.concerts_with_counts(super().get_queryset(request))

    @admin.display(description=_("dates"), ordering="date_count")
    def date_count(self, obj: "ConcertWithCounts") -> int:
        return obj.date_count

    @admin.display(description=_("seats sold"), ordering="seats_sold")
    def seats_sold(self, obj: "ConcertWithCounts") -> int:
        return obj.seats_sold


@_seat_count_columns
@admin.register(ConcertDate)
class ConcertDateAdmin(SavesChangedFieldsAdmin, GuardedDeleteAdmin, admin.ModelAdmin[ConcertDate]):
    """A date's start, price tiers and seat counts; dates are created, moved and deleted through
    concerts.services. booking.admin registers this page again with the date's sales, buyers and refunds
    and the cancel and export actions."""

    form = ConcertDateForm
    list_display: tuple[str, ...] = (
        "__str__",
        "starts_at",
        "status",
        "seats_available",
        "seats_held",
        "seats_reserved",
    )
    list_filter = ("status", "concert_date", "concert")
    search_fields = ("concert__title",)
    list_select_related = ("concert",)
    autocomplete_fields = ("concert",)
    date_hierarchy = "concert_date"
    readonly_fields: ClassVar[tuple[str, ...]] = (
        "seats_available",
        "seats_held",
        "seats_reserved",
        "status",
        "cancelled_at",
        "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConcertDate]:
        return selectors.dates_with_seat_counts(super().get_queryset(request))

    def get_fields(self, request: HttpRequest, obj: ConcertDate | None = None) -> "_FieldGroups":
        if obj is None:
            return ("concert", "starts_at", "price_tiers")
        return ("concert", "starts_at", "price_tiers", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: ConcertDate | None = None) -> "_ListOrTuple[str]":
        # A date keeps its concert: its seats, reservations and payments belong to that concert.
        return ("concert", *self.readonly_fields) if obj else ()

    def delete_refusal(self, obj: ConcertDate) -> str | None:
        return selectors.date_delete_refusal(obj)

    deletes_with_it = (Seat, SeatStatusHistory, DateExport)

    def save_model(self, request: HttpRequest, obj: ConcertDate, form: Any, change: bool) -> None:
        if change:
            # The start is all this form edits (the rest is read-only or moves through services).
            if "starts_at" in form.changed_data:
                reschedule_concert_date(concert_date=obj, starts_at=form.cleaned_data["starts_at"])
            return None
        date = create_concert_date(
            concert=obj.concert,
            starts_at=obj.starts_at,
            tiers=form.cleaned_data["price_tiers"],
            created_by=acting_user(request),
        )
        # The admin goes on with `obj` (log entry, redirect): make it the row the service created.
        obj.pk, obj.created_at = date.pk, date.created_at
        obj._state.adding, obj._state.db = False, date._state.db

    def delete_model(self, request: HttpRequest, obj: ConcertDate) -> None:
        delete_concert_date(concert_date=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ConcertDate]) -> None:
        for date in queryset.select_related("concert"):
            delete_concert_date(concert_date=date)


@admin.register(Seat)
class SeatAdmin(ReadOnlyAdmin):
    """Seats change only through the booking services; this is a searchable view of them."""

    list_display = ("concert_date", "seat_number", "price", "status_now", "held_by", "hold_expire_at")
    list_filter = ("status", "concert_date__concert")
    search_fields = ("concert_date__concert__title", "held_by__email")
    list_select_related = ("concert_date__concert", "held_by")
    ordering = ("concert_date__concert_date", "seat_number")

    @admin.display(description=_("status now"), ordering="status")
    def status_now(self, obj: Seat) -> StrOrPromise:
        return obj.Status(obj.status_at(timezone.now())).label


@admin.register(SeatStatusHistory)
class SeatStatusHistoryAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "seat", "from_status", "to_status", "changed_by", "reason", "note")
    list_filter = ("to_status", "from_status", "reason", "changed_at")
    search_fields = ("seat__concert_date__concert__title", "changed_by__email", "note")
    list_select_related = ("seat__concert_date__concert", "changed_by")
    date_hierarchy = "changed_at"
