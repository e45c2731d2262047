"""Staff screens for concerts: a concert with its dates in one form, seat counts per date, and the
read-only seat and seat-history tables. New dates go through concerts.services.create_concert_date so
their priced seats are created in the same transaction."""

from django import forms
from django.contrib import admin
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Concert, ConcertDate, Seat, SeatStatusHistory
from .services import create_concert_date, default_tiers, format_price_tiers, parse_price_tiers, seat_prices


class ReadOnlyAdmin(admin.ModelAdmin):
    """A history table: staff may look and search, nobody adds, edits or deletes rows here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PriceTiersField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "cols": 26})

    def to_python(self, value):
        # Browsers post "\r\n"; normalise so an untouched extra inline row does not count as changed.
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if value else value


class ConcertDateForm(forms.ModelForm):
    """A date plus the price tiers its seats are created with (only when the date is new)."""

    price_tiers = PriceTiersField(
        label=_("price tiers"),
        required=False,
        help_text=_("One tier per line: NAME FIRST-LAST PRICE, e.g. VIP 1-10 165000. Fixed once the date exists."),
    )

    class Meta:
        model = ConcertDate
        fields = ("concert", "concert_date")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.fields["price_tiers"].initial = format_price_tiers(default_tiers())
        else:
            self.fields["price_tiers"].disabled = True
            self.fields["price_tiers"].initial = format_price_tiers(selectors.price_tiers_of(self.instance))

    def clean_price_tiers(self):
        """The parsed, validated tiers for a new date (default: one price for every seat)."""
        if not self.instance._state.adding:
            return None
        tiers = parse_price_tiers(self.cleaned_data.get("price_tiers")) or default_tiers()
        seat_prices(tiers)  # raises ValidationError when the tiers do not cover each seat once
        return tiers


class ConcertDateInlineFormSet(forms.BaseInlineFormSet):
    created_by = None  # set per request by ConcertDateInline.get_formset

    def save_new(self, form, commit=True):
        return create_concert_date(
            concert=self.instance,
            concert_date=form.cleaned_data["concert_date"],
            tiers=form.cleaned_data["price_tiers"],
            created_by=self.created_by,
        )


def _seat_count_columns(admin_class):
    """Add seats_available / seats_held / seats_reserved columns reading the selector's annotations."""
    for name, label in (
        ("seats_available", _("free")),
        ("seats_held", _("held")),
        ("seats_reserved", _("sold")),
    ):

        def column(self, obj, name=name):
            return getattr(obj, name, None)

        column.short_description = label
        column.admin_order_field = name
        setattr(admin_class, name, column)
    return admin_class


@_seat_count_columns
class ConcertDateInline(admin.TabularInline):
    model = ConcertDate
    form = ConcertDateForm
    formset = ConcertDateInlineFormSet
    fields = ("concert_date", "price_tiers", "seats_available", "seats_held", "seats_reserved")
    readonly_fields = ("seats_available", "seats_held", "seats_reserved")
    extra = 1
    show_change_link = True

    def get_queryset(self, request):
        seats = Prefetch("seats", queryset=Seat.objects.only("id", "concert_date_id", "seat_number", "price"))
        queryset = super().get_queryset(request).select_related("concert").prefetch_related(seats)
        return selectors.dates_with_seat_counts(queryset)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.created_by = request.user  # a fresh class per call, so this does not leak across requests
        return formset


@admin.register(Concert)
class ConcertAdmin(admin.ModelAdmin):
    list_display = ("title", "venue", "sale_opens_at", "start_time", "end_time", "date_count", "seats_sold")
    list_filter = ("sale_opens_at", "start_time")
    search_fields = ("title", "venue")
    date_hierarchy = "start_time"
    readonly_fields = ("created_at",)
    fields = ("title", "description", "venue", "start_time", "end_time", "sale_opens_at", "created_at")
    inlines = [ConcertDateInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                date_count=Count("dates", distinct=True),
                seats_sold=Count("dates__seats", filter=Q(dates__seats__status=Seat.Status.RESERVED)),
            )
        )

    @admin.display(description=_("dates"), ordering="date_count")
    def date_count(self, obj):
        return obj.date_count

    @admin.display(description=_("seats sold"), ordering="seats_sold")
    def seats_sold(self, obj):
        return obj.seats_sold


@_seat_count_columns
@admin.register(ConcertDate)
class ConcertDateAdmin(admin.ModelAdmin):
    form = ConcertDateForm
    list_display = ("__str__", "concert", "concert_date", "seats_available", "seats_held", "seats_reserved")
    list_filter = ("concert_date", "concert")
    search_fields = ("concert__title",)
    list_select_related = ("concert",)
    autocomplete_fields = ("concert",)
    date_hierarchy = "concert_date"
    readonly_fields = ("seats_available", "seats_held", "seats_reserved", "created_at")

    def get_queryset(self, request):
        return selectors.dates_with_seat_counts(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("concert", "concert_date", "price_tiers")
        return ("concert", "concert_date", "price_tiers", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # A date keeps its concert: its seats, reservations and payments belong to that concert.
        return ("concert", *self.readonly_fields) if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        date = create_concert_date(
            concert=obj.concert,
            concert_date=obj.concert_date,
            tiers=form.cleaned_data["price_tiers"],
            created_by=request.user,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the row the service created.
        obj.pk, obj.created_at = date.pk, date.created_at
        obj._state.adding, obj._state.db = False, date._state.db


@admin.register(Seat)
class SeatAdmin(ReadOnlyAdmin):
    """Seats change only through the booking services; this is a searchable view of them."""

    list_display = ("concert_date", "seat_number", "price", "status_now", "held_by", "hold_expire_at")
    list_filter = ("status", "concert_date__concert")
    search_fields = ("concert_date__concert__title", "held_by__email")
    list_select_related = ("concert_date__concert", "held_by")
    ordering = ("concert_date__concert_date", "seat_number")

    @admin.display(description=_("status now"), ordering="status")
    def status_now(self, obj):
        return obj.Status(obj.status_at(timezone.now())).label


@admin.register(SeatStatusHistory)
class SeatStatusHistoryAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "seat", "from_status", "to_status", "changed_by", "reason")
    list_filter = ("to_status", "from_status", "changed_at")
    search_fields = ("seat__concert_date__concert__title", "changed_by__email", "reason")
    list_select_related = ("seat__concert_date__concert", "changed_by")
    date_hierarchy = "changed_at"
