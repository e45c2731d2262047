"""Staff screens for booking: reservations, the payment record, check-ins and the door's check-in page, and
the pages over concert dates that show or change bookings: a date's revenue, buyers and refunds, cancelling
and exporting dates, the cancellations, the exports and the sales dashboard. Rows change only through
booking.services (the admin actions and pages call them), never by editing a form."""

import datetime
import io
import uuid
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from accounts.models import User
from accounts.requests import acting_user
from concerts import admin as concerts_admin
from concerts import selectors as concert_selectors
from concerts.models import Concert, ConcertDate, DateCancellation, DateExport, SalesDashboard, Seat
from concerts.pricing import won
from config.admin import ReadOnlyAdmin

from . import charts, selectors, services
from .exceptions import BookingError, TicketRefused
from .models import CheckIn, ConfirmationEmail, Payment, Reservation


class RefundForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (kept in the seat history)"), max_length=150, initial=_("refunded by staff")
    )


class PaymentInline(admin.TabularInline[Payment, Reservation]):
    model = Payment
    fields = ("paid_at", "amount", "status", "reason", "idempotency_key")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Reservation | None = None) -> bool:
        return False

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

    @admin.action(description=_("Release the selected holds (seats become free)"), permissions=["manage"])
    def release_holds(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        self._run(
            request,
            queryset,
            services.release_hold,
            lambda n: ngettext("%(n)d hold released.", "%(n)d holds released.", n) % {"n": n},
            reason="released by staff",
        )

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
    list_display = ("paid_at", "user", "reservation_concert", "amount", "status", "reason")
    list_filter = ("status", "paid_at", "reservation__seat__concert_date__concert")
    search_fields = ("user__email", "reservation__seat__concert_date__concert__title", "reason", "idempotency_key")
    list_select_related = ("user", "reservation__seat__concert_date__concert")
    date_hierarchy = "paid_at"

    @admin.display(description=_("concert date and seat"))
    def reservation_concert(self, obj: Payment) -> Seat:
        return obj.reservation.seat


class DoorDateChoiceField(forms.ModelChoiceField[ConcertDate]):
    def label_from_instance(self, obj: ConcertDate) -> str:
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.date_field.queryset = selectors.door_dates()

    @property
    def date_field(self) -> DoorDateChoiceField:
        return cast(DoorDateChoiceField, self.fields["concert_date"])  # this form's own copy of concert_date


def _default_door_date(dates: list[ConcertDate], requested: str | None) -> ConcertDate | None:
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

    def get_urls(self) -> list[URLPattern]:
        return [
            path("door/", self.admin_site.admin_view(self.door_view), name="booking_checkin_door"),
            *super().get_urls(),
        ]

    @admin.display(description=_("concert date"), ordering="reservation__seat__concert_date__concert_date")
    def concert_date(self, obj: CheckIn) -> ConcertDate:
        return obj.reservation.seat.concert_date

    @admin.display(description=_("seat"), ordering="reservation__seat__seat_number")
    def seat_number(self, obj: CheckIn) -> int:
        return obj.reservation.seat.seat_number

    @admin.display(description=_("fan"), ordering="reservation__user__email")
    def fan(self, obj: CheckIn) -> User:
        return obj.reservation.user

    def door_view(self, request: HttpRequest) -> TemplateResponse:
        """The door: staff pick the date they check, then scan or type each ticket's code (POST).

        Answers 200 with the entry, or the refusal's status (400 bad code, 409 used / other date /
        refunded) with its reason; an incomplete form is a 400. Needs booking.add_checkin.
        """
        if not request.user.has_perm("booking.add_checkin"):
            raise PermissionDenied
        status = 200
        check_in: CheckIn | None = None
        refusal: TicketRefused | None = None
        concert_date: ConcertDate | None
        if request.method == "POST":
            form = DoorCheckInForm(request.POST)
            if form.is_valid():
                concert_date = form.cleaned_data["concert_date"]
                try:
                    check_in = services.check_in_ticket(
                        code=form.cleaned_data["code"], concert_date=concert_date, by=acting_user(request)
                    )
                except TicketRefused as exc:
                    refusal, status = exc, exc.status
                form = DoorCheckInForm(initial={"concert_date": concert_date})  # the next scan, same date
            else:
                status, concert_date = 400, form.cleaned_data.get("concert_date")
        else:
            form = DoorCheckInForm()
            concert_date = _default_door_date(list(form.date_field.queryset or ()), request.GET.get("date"))
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


# --- concert dates as booking sees them -----------------------------------------------------------------
# The models below are concerts'; what these pages show and do (revenue, buyers, refunds, exports, sales) is
# booking's, so booking registers them. The date page is concerts.admin's date editing, registered again
# here with the booking parts added.


class CancelDatesForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (shown in every refund record)"), max_length=150, initial=_("date cancelled by the organiser")
    )


admin.site.unregister(ConcertDate)


@admin.register(ConcertDate)
class ConcertDateWithBookingsAdmin(concerts_admin.ConcertDateAdmin):
    """concerts.admin's date page plus the date's revenue, its buyers on the seat map, its cancellation's
    refund progress and recent exports, and the actions that cancel (refunding every reservation) and export
    dates (booking.services)."""

    change_form_template = "admin/concerts/concertdate/change_form.html"
    list_display = (*concerts_admin.ConcertDateAdmin.list_display, "revenue_won")
    readonly_fields = (
        "seats_available",
        "seats_held",
        "seats_reserved",
        "revenue_won",
        "status",
        "cancelled_at",
        "created_at",
    )
    actions = ["cancel_dates", "export_csv"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConcertDate]:
        return super().get_queryset(request).annotate(revenue=selectors.date_revenue())

    @admin.display(description=_("revenue"), ordering="revenue")
    def revenue_won(self, obj: ConcertDate) -> str:
        revenue = getattr(obj, "revenue", None)  # a new row (not saved yet) has none
        return won(revenue) if revenue is not None else "—"

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = extra_context or {}
        date = self.get_object(request, object_id)
        if date is not None:
            cancellation = selectors.cancellation_of(concert_date=date)
            progress = selectors.cancellation_progress(cancellation) if cancellation else None
            extra_context.update(
                seat_map=selectors.staff_seat_map(concert_date=date),
                cancellation=cancellation,
                cancellation_progress=progress,
                exports=selectors.recent_exports(concert_date=date),
                can_manage=self.has_change_permission(request, date),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Cancel the selected dates and refund every reservation"), permissions=["change"])
    def cancel_dates(self, request: HttpRequest, queryset: QuerySet[ConcertDate]) -> HttpResponse:
        dates = list(queryset.select_related("concert"))
        form = CancelDatesForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            cancellations = []
            for date in dates:
                cancellation = services.cancel_concert_date(
                    concert_date=date, by=acting_user(request), reason=form.cleaned_data["reason"]
                )
                cancellations.append(cancellation)
                self.message_user(
                    request,
                    _("%(date)s is cancelled; the refunds run in the background.") % {"date": date},
                    messages.SUCCESS,
                )
            # Staff next want to see the refunds go: the one cancellation's progress, or all of them.
            if len(cancellations) == 1:
                return HttpResponseRedirect(
                    reverse("admin:concerts_datecancellation_change", args=[cancellations[0].pk])
                )
            return HttpResponseRedirect(reverse("admin:concerts_datecancellation_changelist"))
        live = selectors.live_reservations_summary(dates)
        return TemplateResponse(
            request,
            "admin/concerts/concertdate/cancel_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Cancel concert dates"),
                "opts": self.model._meta,
                "dates": [(date, live.get(date.pk)) for date in dates],
                "form": form,
                "action": "cancel_dates",
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Export reservations and payments (CSV)"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[ConcertDate]) -> None:
        dates = list(queryset.select_related("concert", "cancellation"))
        for date in dates:
            services.request_export(concert_date=date, by=acting_user(request))
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                ngettext("%(count)d export requested.", "%(count)d exports requested.", len(dates))
                % {"count": len(dates)},
                reverse("admin:concerts_dateexport_changelist"),
                _("Download it from the exports list when it is ready."),
            ),
            messages.SUCCESS,
        )
        for date in dates:
            # A cancelled date is exported like any other (each reservation says it was refunded); while
            # its refund job still runs, the file is a snapshot, and staff should know.
            if date.is_cancelled and not getattr(getattr(date, "cancellation", None), "finished_at", None):
                self.message_user(
                    request,
                    _(
                        "The refunds of %(date)s are still running: its export shows each reservation as it is "
                        "now. Export it again when the refunds have finished."
                    )
                    % {"date": date},
                    messages.WARNING,
                )


@admin.register(DateCancellation)
class DateCancellationAdmin(ReadOnlyAdmin):
    list_display = ("concert_date", "requested_at", "requested_by", "reason", "progress", "runs", "state")
    list_select_related = ("concert_date__concert", "requested_by")
    search_fields = ("concert_date__concert__title", "reason")
    list_filter = ("requested_at",)
    readonly_fields = ("progress", "state")
    change_list_template = "admin/concerts/datecancellation/change_list.html"

    @admin.display(description=_("refund progress"))
    def progress(self, obj: DateCancellation) -> SafeString:
        done, total, remaining = selectors.cancellation_progress(obj)
        return format_html(
            '<progress value="{}" max="{}"></progress> {} / {} ({} {})',
            done,
            max(total, 1),
            done,
            total,
            remaining,
            _("left"),
        )

    @admin.display(description=_("state"))
    def state(self, obj: DateCancellation) -> StrOrPromise:
        if obj.finished_at:
            return _("finished")
        if obj.last_error:
            return format_html("{}: {}", _("failed, will retry"), obj.last_error)
        return _("running") if obj.started_at else _("waiting for a worker")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        running = selectors.refunds_running()
        extra_context = {**(extra_context or {}), "refresh_seconds": 5 if running else None}
        return super().changelist_view(request, extra_context)


@admin.register(DateExport)
class DateExportAdmin(ReadOnlyAdmin):
    list_display = ("concert_date", "requested_at", "requested_by", "status", "rows", "download")
    list_select_related = ("concert_date__concert", "requested_by")
    list_filter = ("status", "requested_at")
    search_fields = ("concert_date__concert__title",)
    exclude = ("content",)  # the CSV is downloaded, not shown
    readonly_fields = ("download",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DateExport]:
        return super().get_queryset(request).defer("content")

    @admin.display(description=_("file"))
    def download(self, obj: DateExport) -> str:
        if obj.status != DateExport.Status.READY:
            return obj.error or "—"
        url = reverse("admin:concerts_dateexport_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download CSV"))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<uuid:export_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="concerts_dateexport_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, export_id: uuid.UUID) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = get_object_or_404(DateExport, pk=export_id, status=DateExport.Status.READY)
        return FileResponse(
            io.BytesIO(selectors.export_bytes(export)),
            as_attachment=True,
            filename=export.filename,
            content_type="text/csv; charset=utf-8",
        )


@admin.register(SalesDashboard)
class SalesDashboardAdmin(admin.ModelAdmin[SalesDashboard]):
    """The sales dashboard (selectors.sales_dashboard): per concert and date seats sold / held / free and gross,
    refunded and net won; gross payments per day as a chart (charts.daily_sales_svg)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SalesDashboard | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SalesDashboard | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: SalesDashboard | None = None) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.has_perm("concerts.view_concertdate")

    def get_urls(self) -> list[URLPattern]:
        return [
            path("ticket/", self.admin_site.admin_view(self.ticket_check_view), name="concerts_ticket_check"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        concert = concert_selectors.find_concert(request.GET.get("concert"))
        dashboard = selectors.sales_dashboard(concert=concert, days=30, now=timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": _("Sales dashboard"),
            "opts": self.model._meta,
            "dashboard": dashboard,
            "all_concerts": concert_selectors.concert_choices(),
            "selected": concert,
            "chart": charts.daily_sales_svg(dashboard.series),
        }
        return TemplateResponse(request, "admin/concerts/sales_dashboard.html", context)

    def ticket_check_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """The old "check a ticket" address: the door check-in page now (CheckInAdmin.door_view), without the query,
        so a code in an old bookmark is neither checked nor carried on."""
        return HttpResponseRedirect(reverse("admin:booking_checkin_door"))
