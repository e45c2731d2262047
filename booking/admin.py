"""Staff screens for booking: reservations, the payment record, check-ins and the door's check-in page.
Rows change only through booking.services / booking.checkins (the admin actions and the door page call
them), never by editing a form."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin import ReadOnlyAdmin

from . import checkins, selectors, services
from .exceptions import BookingError, TicketRefused
from .models import CheckIn, ConfirmationEmail, Payment, Reservation


class RefundForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (kept in the seat history)"), max_length=150, initial=_("refunded by staff")
    )


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
    actions = ["release_holds", "refund_and_cancel"]

    def has_manage_permission(self, request):
        """Staff who may change reservations may run the actions (which go through booking.services)."""
        return request.user.has_perm("booking.change_reservation")

    def _run(self, request, queryset, service, done_message, **kwargs):
        ended, refused = 0, []
        for reservation in queryset.select_related("seat__concert_date__concert", "user"):
            try:
                result = service(reservation=reservation, by=request.user, **kwargs)
            except BookingError as exc:
                refused.append(f"{reservation.seat} ({reservation.user}): {exc.message}")
                continue
            ended += result.status == Reservation.Status.CANCELLED
        if ended:
            self.message_user(request, done_message(ended), messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description=_("Release the selected holds (seats become free)"), permissions=["manage"])
    def release_holds(self, request, queryset):
        self._run(
            request,
            queryset,
            services.release_hold,
            lambda n: ngettext("%(n)d hold released.", "%(n)d holds released.", n) % {"n": n},
            reason="released by staff",
        )

    @admin.action(description=_("Refund and cancel the selected reservations…"), permissions=["manage"])
    def refund_and_cancel(self, request, queryset):
        form = RefundForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._run(
                request,
                queryset,
                services.refund_and_cancel,
                lambda n: (
                    ngettext(
                        "%(n)d reservation refunded and cancelled.", "%(n)d reservations refunded and cancelled.", n
                    )
                    % {"n": n}
                ),
                reason=form.cleaned_data["reason"],
            )
            return None
        reservations = list(queryset.select_related("seat__concert_date__concert", "user"))
        return TemplateResponse(
            request,
            "admin/booking/reservation/refund_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Refund and cancel reservations"),
                "opts": self.model._meta,
                "reservations": reservations,
                "total": sum(r.price for r in reservations if r.status == Reservation.Status.CONFIRMED),
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

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


class DoorDateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.concert_date:%Y-%m-%d} {timezone.localtime(obj.starts_at):%H:%M} · {obj.concert.title}"


class DoorCheckInForm(forms.Form):
    """One scan at the door: the date the door checks (kept from scan to scan) and the ticket code.

    Always POSTed: a code in a URL would end up in access logs and the browser's history.
    """

    concert_date = DoorDateChoiceField(queryset=None, label=_("Date being checked"), empty_label=None)
    code = forms.CharField(
        label=_("Ticket code"),
        max_length=500,
        widget=forms.TextInput(
            attrs={"size": 40, "autofocus": True, "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["concert_date"].queryset = selectors.door_dates()


def _default_door_date(dates, requested):
    """The date named in ?date=, else the first date today or later, else the first listed."""
    by_pk = {str(date.pk): date for date in dates}
    if requested in by_pk:
        return by_pk[requested]
    today = timezone.localdate()
    return next((date for date in dates if date.concert_date >= today), dates[0] if dates else None)


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    """Every entry at the door, searchable; the door page (door_view) is where entries are made."""

    list_display = ("checked_in_at", "concert_date", "seat_number", "fan", "checked_in_by")
    list_filter = ("checked_in_at", "reservation__seat__concert_date__concert")
    search_fields = (
        "reservation__user__email",
        "reservation__user__name",
        "reservation__seat__concert_date__concert__title",
    )
    list_select_related = ("reservation__seat__concert_date__concert", "reservation__user", "checked_in_by")
    date_hierarchy = "checked_in_at"

    def get_urls(self):
        return [
            path("door/", self.admin_site.admin_view(self.door_view), name="booking_checkin_door"),
            *super().get_urls(),
        ]

    @admin.display(description=_("concert date"), ordering="reservation__seat__concert_date__concert_date")
    def concert_date(self, obj):
        return obj.reservation.seat.concert_date

    @admin.display(description=_("seat"), ordering="reservation__seat__seat_number")
    def seat_number(self, obj):
        return obj.reservation.seat.seat_number

    @admin.display(description=_("fan"), ordering="reservation__user__email")
    def fan(self, obj):
        return obj.reservation.user

    def door_view(self, request):
        """The door: staff pick the date they check, then scan or type each ticket's code (POST).

        Answers 200 with the entry, or the refusal's status (400 bad code, 409 used / other date /
        refunded) with its reason; an incomplete form is a 400. Needs booking.add_checkin.
        """
        if not request.user.has_perm("booking.add_checkin"):
            raise PermissionDenied
        status, check_in, refusal = 200, None, None
        if request.method == "POST":
            form = DoorCheckInForm(request.POST)
            if form.is_valid():
                concert_date = form.cleaned_data["concert_date"]
                try:
                    check_in = checkins.check_in_ticket(
                        code=form.cleaned_data["code"], concert_date=concert_date, by=request.user
                    )
                except TicketRefused as exc:
                    refusal, status = exc, exc.status
                form = DoorCheckInForm(initial={"concert_date": concert_date})  # the next scan, same date
            else:
                status, concert_date = 400, form.cleaned_data.get("concert_date")
        else:
            form = DoorCheckInForm()
            concert_date = _default_door_date(list(form.fields["concert_date"].queryset), request.GET.get("date"))
            form.initial["concert_date"] = concert_date
        context = {
            **self.admin_site.each_context(request),
            "title": _("Door check-in"),
            "opts": self.model._meta,
            "form": form,
            "concert_date": concert_date,
            "counts": selectors.checkin_counts(concert_date=concert_date) if concert_date else None,
            "check_in": check_in,
            "refusal": refusal,
        }
        return TemplateResponse(request, "admin/booking/checkin/door.html", context, status=status)


@admin.register(ConfirmationEmail)
class ConfirmationEmailAdmin(ReadOnlyAdmin):
    """The confirmation e-mails owed and sent: one still unsent minutes after its payment is stuck (the RQ
    worker or the mail server); the beat sweep queues it again on its own."""

    list_display = ("created_at", "user", "language", "sent_at", "enqueued_at", "enqueue_count")
    list_filter = (("sent_at", admin.EmptyFieldListFilter), "language")
    search_fields = ("user__email", "id")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
