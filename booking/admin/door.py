"""The door's records: every check-in, a date's list with its counts (entered / expected, by door), and the way
to the door page staff scan tickets on (booking.door_views, a page of its own built for a phone)."""

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from concerts.models import ConcertDate
from config.admin import ReadOnlyAdmin

from .. import selectors
from ..models import CheckIn


class CheckInDateFilter(admin.SimpleListFilter):
    """One date's entries (?date=<date id>): the list the door page links to, with the date's counts above it."""

    title = _("concert date")
    parameter_name = "date"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (
                str(date.pk),
                f"{date.concert_date:%Y-%m-%d} {timezone.localtime(date.starts_at):%H:%M} · {date.concert.title}",
            )
            for date in selectors.checkin_list_dates()[:60]
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CheckIn]) -> QuerySet[CheckIn]:
        if not self.value():
            return queryset
        chosen = _as_uuid(self.value())
        return queryset.filter(reservation__seat__concert_date_id=chosen) if chosen else queryset.none()


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    """Every entry at the door, searchable; filtered on a date it shows that date's counts, in all and by door.
    Entries are made on the door page only (booking.door_views, through booking.services.check_in_ticket)."""

    list_display = ("entered_at", "concert_date", "seat_number", "fan", "door", "checked_in_by")
    list_filter = (CheckInDateFilter, "door", "checked_in_at")
    search_fields = (
        "reservation__user__email",
        "reservation__user__name",
        "reservation__seat__concert_date__concert__title",
        "door",
    )
    list_select_related = ("reservation__seat__concert_date__concert", "reservation__user", "checked_in_by")
    date_hierarchy = "checked_in_at"

    def get_urls(self) -> list[URLPattern]:
        return [
            path("door/", self.admin_site.admin_view(self.door_view), name="booking_checkin_door"),
            *super().get_urls(),
        ]

    @admin.display(description=_("checked in at"), ordering="checked_in_at")
    def entered_at(self, obj: CheckIn) -> str:
        return f"{timezone.localtime(obj.checked_in_at):%Y-%m-%d %H:%M:%S}"  # to the second, in one short line

    @admin.display(description=_("concert date"), ordering="reservation__seat__concert_date__starts_at")
    def concert_date(self, obj: CheckIn) -> str:
        date = obj.reservation.seat.concert_date
        return format_html(
            '<span style="white-space:nowrap">{}</span><br>{}',
            f"{timezone.localtime(date.starts_at):%Y-%m-%d %H:%M}",
            date.concert.title,
        )

    @admin.display(description=_("seat"), ordering="reservation__seat__seat_number")
    def seat_number(self, obj: CheckIn) -> int:
        return obj.reservation.seat.seat_number

    @admin.display(description=_("fan"), ordering="reservation__user__email")
    def fan(self, obj: CheckIn) -> User:
        return obj.reservation.user

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The list; on one date (?date=) with that date's entered / expected and the entries by door."""
        context: dict[str, Any] = {"door_url": reverse("booking:door"), **(extra_context or {})}
        chosen = _as_uuid(request.GET.get(CheckInDateFilter.parameter_name))
        concert_date = ConcertDate.objects.select_related("concert").filter(pk=chosen).first() if chosen else None
        if concert_date is not None:
            context.update(
                summary_date=concert_date,
                summary_counts=selectors.checkin_counts(concert_date=concert_date),
                summary_doors=selectors.checkin_counts_by_door(concert_date=concert_date),
            )
        return super().changelist_view(request, extra_context=context)

    def door_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """The door page's old address in the admin: the door page now (booking.door_views), nothing checked."""
        return HttpResponseRedirect(reverse("booking:door"))


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None
