"""The door: the check-in records and the page staff scan tickets on (booking.services.check_in_ticket)."""

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.requests import acting_user
from concerts.models import ConcertDate
from config.admin import ReadOnlyAdmin

from .. import selectors, services
from ..exceptions import TicketRefused
from ..models import CheckIn


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
