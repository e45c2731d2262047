"""The reservation and payment records, staff refunds, and the confirmation e-mail outbox: read-only
screens whose one action (a fee-free refund) calls booking.services."""

import datetime
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_site import audited_by_services
from accounts.requests import acting_user
from concerts.models import Concert, Seat
from concerts.templatetags.frontrow import reason_text
from config.admin import ReadOnlyAdmin

from .. import services
from ..exceptions import BookingError
from ..models import ConfirmationEmail, Payment, Reservation


class RefundForm(forms.Form):
    # The staff member's own words, kept as the seat history's note (its reason is the code "refunded by staff").
    reason = forms.CharField(label=_("reason (kept in the seat history)"), max_length=150, required=False)


class PaymentInline(admin.TabularInline[Payment, Reservation]):
    model = Payment
    fields = ("paid_at", "amount", "status", "failure_reason", "idempotency_key")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Reservation | None = None) -> bool:
        return False

    @admin.display(description=_("failure reason"))
    def failure_reason(self, obj: Payment) -> str:
        return reason_text(obj.reason)

    # Django passes an inline the parent's row (the stubs say the inline's own model).
    def has_change_permission(self, request: HttpRequest, obj: Reservation | None = None) -> bool:  # type: ignore[override]
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

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Staff who may change reservations may run the actions (which go through booking.services)."""
        return request.user.has_perm("booking.change_reservation")

    def _run(
        self,
        request: HttpRequest,
        queryset: QuerySet[Reservation],
        service: Callable[..., Reservation],
        done_message: Callable[[int], str],
        **kwargs: Any,
    ) -> None:
        ended, refused = 0, []
        for reservation in queryset.select_related("seat__concert_date__concert", "user"):
            try:
                result = service(reservation=reservation, by=acting_user(request), **kwargs)
            except BookingError as exc:
                refused.append(f"{reservation.seat} ({reservation.user}): {exc.message}")
                continue
            ended += result.status == Reservation.Status.CANCELLED
        if ended:
            self.message_user(request, done_message(ended), messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @audited_by_services
    @admin.action(description=_("Release the selected holds (seats become free)"), permissions=["manage"])
    def release_holds(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        self._run(
            request,
            queryset,
            services.release_hold,
            lambda n: ngettext("%(n)d hold released.", "%(n)d holds released.", n) % {"n": n},
        )

    @audited_by_services
    @admin.action(description=_("Refund and cancel the selected reservations…"), permissions=["manage"])
    def refund_and_cancel(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> TemplateResponse | None:
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
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.display(description=_("concert"), ordering="seat__concert_date__concert__title")
    def concert(self, obj: Reservation) -> Concert:
        return obj.seat.concert_date.concert

    @admin.display(description=_("date"), ordering="seat__concert_date__concert_date")
    def concert_date(self, obj: Reservation) -> datetime.date:
        return obj.seat.concert_date.concert_date

    @admin.display(description=_("seat"), ordering="seat__seat_number")
    def seat_number(self, obj: Reservation) -> int:
        return obj.seat.seat_number


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("paid_at", "user", "reservation_concert", "amount", "status", "failure_reason")
    list_filter = ("status", "paid_at", "reservation__seat__concert_date__concert")
    search_fields = ("user__email", "reservation__seat__concert_date__concert__title", "reason", "idempotency_key")
    list_select_related = ("user", "reservation__seat__concert_date__concert")
    date_hierarchy = "paid_at"

    @admin.display(description=_("concert date and seat"))
    def reservation_concert(self, obj: Payment) -> Seat:
        return obj.reservation.seat

    @admin.display(description=_("failure reason"), ordering="reason")
    def failure_reason(self, obj: Payment) -> str:
        """Stored in English for the records (the refusal's reason): shown in the reader's language."""
        return reason_text(obj.reason)


@admin.register(ConfirmationEmail)
class ConfirmationEmailAdmin(ReadOnlyAdmin):
    """The confirmation e-mails owed and sent: one still unsent minutes after its payment is stuck (the RQ
    worker or the mail server); the beat sweep queues it again on its own."""

    list_display = ("created_at", "user", "language", "sent_at", "enqueued_at", "enqueue_count")
    list_filter = (("sent_at", admin.EmptyFieldListFilter), "language")
    search_fields = ("user__email", "id")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
