"""Concert dates as booking sees them: the date page extended with its revenue, buyers and refunds, the
cancel and export actions, and the records of date cancellations and CSV exports.

The models are concerts'; what these pages show and do is booking's, so booking registers them. The date
page is concerts.admin's date editing, registered again here with the booking parts added.
"""

import io
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from accounts.admin_site import audited_by_services
from accounts.requests import acting_user
from concerts import admin as concerts_admin
from concerts.models import ConcertDate, DateCancellation, DateExport
from concerts.pricing import won
from config.admin import ReadOnlyAdmin

from .. import selectors, services


class CancelDatesForm(forms.Form):
    reason = forms.CharField(label=_("reason (shown in every refund record)"), max_length=150, required=False)


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

    @audited_by_services
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

    @audited_by_services
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
