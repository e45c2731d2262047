"""Staff screens for booking: reservations and the payment record. Rows change only through
booking.services (the admin actions call them), never by editing a form."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Payment, Reservation


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record staff may look up and search; nobody adds, edits or deletes rows here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ("paid_at", "amount", "status", "reason", "idempotency_key")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "concert", "concert_date", "seat_number", "status", "price", "confirmed_at")
    list_filter = ("status", "seat__concert_date__concert_date", "seat__concert_date__concert")
    search_fields = ("user__email", "user__name", "seat__concert_date__concert__title", "id")
    list_select_related = ("user", "seat__concert_date__concert")
    date_hierarchy = "created_at"
    inlines = [PaymentInline]

    @admin.display(description=_("concert"), ordering="seat__concert_date__concert__title")
    def concert(self, obj):
        return obj.seat.concert_date.concert

    @admin.display(description=_("date"), ordering="seat__concert_date__concert_date")
    def concert_date(self, obj):
        return obj.seat.concert_date.concert_date

    @admin.display(description=_("seat"), ordering="seat__seat_number")
    def seat_number(self, obj):
        return obj.seat.seat_number


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("paid_at", "user", "reservation_concert", "amount", "status", "reason")
    list_filter = ("status", "paid_at", "reservation__seat__concert_date__concert")
    search_fields = ("user__email", "reservation__seat__concert_date__concert__title", "reason", "idempotency_key")
    list_select_related = ("user", "reservation__seat__concert_date__concert")
    date_hierarchy = "paid_at"

    @admin.display(description=_("concert date and seat"))
    def reservation_concert(self, obj):
        return obj.reservation.seat
