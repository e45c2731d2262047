"""Forms of the booking pages: which seats to hold, what the picker should find, and what the checkout page showed
(its key and holds); and the door page's setup and scan."""

import uuid
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from concerts.models import ConcertDate
from concerts.pricing import MAX_SEAT_PRICE

from . import selectors
from .models import CheckIn


def _seat_choices() -> list[tuple[int, int]]:
    return [(n, n) for n in range(1, settings.SEATS_PER_DATE + 1)]


class SeatNumbersField(forms.TypedMultipleChoiceField):
    """Seat numbers 1..SEATS_PER_DATE, each written as the map writes it ("7", not "07").

    Answers what Django's check against every choice would (a choice's text equals the value's), by arithmetic:
    that check normalises the fifty choices again for every value, a good part of a hold's CPU in a rush.
    """

    def valid_value(self, value: Any) -> bool:
        text = str(value)
        # The length check comes before int(): int() of text longer than 4,300 digits raises ValueError
        # (Python's limit), and no seat number is longer than the largest one.
        return (
            len(text) <= len(str(settings.SEATS_PER_DATE))
            and text.isascii()
            and text.isdigit()
            and str(int(text)) == text
            and 1 <= int(text) <= settings.SEATS_PER_DATE
        )


class HoldForm(forms.Form):
    """`seats` repeated once per seat number (the seat map's checkboxes); numbers must be 1..SEATS_PER_DATE."""

    seats = SeatNumbersField(
        choices=_seat_choices,
        coerce=int,
        error_messages={
            "required": _("Choose at least one seat."),
            "invalid_choice": _("%(value)s is not a seat on this map. Choose seats from the map."),
            "invalid_list": _("Choose seats from the map."),
        },
    )

    def clean_seats(self) -> list[int]:
        seats: list[int] = self.cleaned_data["seats"]
        if len(set(seats)) != len(seats):
            # The map's checkboxes never repeat a seat: a repeat is a hand-made request, refused like any other.
            raise forms.ValidationError(_("Choose each seat only once."), code="repeated")
        return sorted(seats)


class PickForm(forms.Form):
    """The seat picker ("Pick the best seats for me"): how many seats side by side, and at which price (empty:
    any price)."""

    # Any whole number: the service refuses a count it cannot pick, saying how many it can.
    count = forms.IntegerField(
        error_messages={"required": _("Choose how many seats to pick."), "invalid": _("Choose how many seats to pick.")}
    )
    price = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_SEAT_PRICE,
        error_messages={
            "invalid": _("Choose one of the prices listed."),
            "min_value": _("Choose one of the prices listed."),
            "max_value": _("Choose one of the prices listed."),
        },
    )


_STALE_FORM = _("This checkout form is not valid any more. Please reload the page and try again.")


class ReservationIdsField(forms.Field):
    """The ids of the holds a page showed, one hidden input each; cleaned to a list of UUIDs."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _STALE_FORM}

    def to_python(self, value: Any) -> list[uuid.UUID]:
        if value in self.empty_values:
            return []
        if not isinstance(value, (list, tuple)) or len(value) > settings.SEATS_PER_DATE:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return [uuid.UUID(str(item)) for item in value]
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class CheckoutForm(forms.Form):
    """What the checkout page showed: a key generated when it was rendered (the same key pays at most once)
    and the holds it listed (the payment is refused if the fan's holds are no longer exactly those)."""

    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput, error_messages={"required": _STALE_FORM, "invalid": _STALE_FORM}
    )
    # Not required: a page with nothing to pay shows none, and a post without them (a page drawn before
    # they existed) is refused by pay as a changed bill, with the page shown again to pay what it lists.
    reservations = ReservationIdsField(required=False)


# --- the door page (booking.door_views) -------------------------------------------------------------


class DoorDateChoiceField(forms.ModelChoiceField[ConcertDate]):
    """One of the dates the door may check (booking.selectors.door_dates), labelled day, time and concert."""

    def label_from_instance(self, obj: ConcertDate) -> str:
        return f"{obj.concert_date:%Y-%m-%d} {timezone.localtime(obj.starts_at):%H:%M} · {obj.concert.title}"


def _door_name_field(**kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=_("Door"),
        max_length=CheckIn.DOOR_MAX_LENGTH,
        strip=True,
        help_text=_("The entrance this phone checks, e.g. Gate A. Every entry records it."),
        **kwargs,
    )


class DoorSetupForm(forms.Form):
    """Which date this phone checks and at which door: kept in the session until changed."""

    concert_date = DoorDateChoiceField(queryset=None, label=_("Date being checked"), empty_label=None)
    door = _door_name_field(
        widget=forms.TextInput(attrs={"autocomplete": "off", "enterkeyhint": "done", "placeholder": _("Gate A")})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(DoorDateChoiceField, self.fields["concert_date"]).queryset = selectors.door_dates()


class DoorScanForm(forms.Form):
    """One scan: the ticket code (the camera's or typed), and the date and door the page showed (hidden), so a
    scan is checked against what the staff member saw even if another tab changed the door's setup.

    Always POSTed: a code in a URL would end up in access logs and the browser's history.
    """

    concert_date = DoorDateChoiceField(queryset=None, widget=forms.HiddenInput)
    door = _door_name_field(widget=forms.HiddenInput)
    code = forms.CharField(
        label=_("Ticket code"),
        max_length=500,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "off",
                "autocorrect": "off",
                "spellcheck": "false",
                "enterkeyhint": "go",
            }
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(DoorDateChoiceField, self.fields["concert_date"]).queryset = selectors.door_dates()
