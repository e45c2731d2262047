"""The hold form's seat numbers: the quick check answers exactly what Django's check against every choice does."""

import pytest
from django import forms

from booking.forms import HoldForm, SeatNumbersField, _seat_choices

VALUES = [
    "1",
    "7",
    "50",
    "0",
    "51",
    "07",
    "-1",
    " 7",
    "7 ",
    "7.0",
    "٣",
    "³",
    "",
    "abc",
    "1e1",
    "+7",
    "100",
    "9" * 30,
    "1" * 4301,
    "0" * 4301 + "7",
]


@pytest.mark.parametrize("value", VALUES)
def test_a_seat_number_is_valid_exactly_when_djangos_choice_check_says_so(value):
    django_check = forms.TypedMultipleChoiceField(choices=_seat_choices, coerce=int)
    assert SeatNumbersField(choices=_seat_choices, coerce=int).valid_value(value) == django_check.valid_value(value)


def test_the_hold_form_cleans_the_maps_numbers_and_refuses_others():
    form = HoldForm({"seats": ["12", "3"]})
    assert form.is_valid() and form.cleaned_data["seats"] == [3, 12]
    refused = HoldForm({"seats": ["3", "07"]})
    assert not refused.is_valid() and refused.has_error("seats", "invalid_choice")
