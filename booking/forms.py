"""Forms of the booking pages: which seats to hold, and the checkout's idempotency key."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


def _seat_choices():
    return [(n, n) for n in range(1, settings.SEATS_PER_DATE + 1)]


class HoldForm(forms.Form):
    """`seats` repeated once per seat number (the seat map's checkboxes); numbers must be 1..SEATS_PER_DATE."""

    seats = forms.TypedMultipleChoiceField(
        choices=_seat_choices,
        coerce=int,
        error_messages={
            "required": _("Choose at least one seat."),
            "invalid_choice": _("%(value)s is not a seat on this map. Choose seats from the map."),
            "invalid_list": _("Choose seats from the map."),
        },
    )

    def clean_seats(self):
        seats = self.cleaned_data["seats"]
        if len(set(seats)) != len(seats):
            # The map's checkboxes never repeat a seat: a repeat is a hand-made request, refused like any other.
            raise forms.ValidationError(_("Choose each seat only once."), code="repeated")
        return sorted(seats)


class CheckoutForm(forms.Form):
    """The key generated when the checkout page was rendered: the same key pays at most once."""

    idempotency_key = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("This checkout form is not valid any more. Please reload the page and try again."),
            "invalid": _("This checkout form is not valid any more. Please reload the page and try again."),
        },
    )
