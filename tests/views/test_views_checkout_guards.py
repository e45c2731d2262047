"""Checkout pays only what it may: nothing once the show has started."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from booking import services as booking_services
from booking.models import Payment, Reservation
from tests import factories

pytestmark = pytest.mark.django_db


def _checkout_form(client, concert_date):
    page = client.get(reverse("booking:checkout", args=[concert_date.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    return {name: form[name].value() for name in form.fields}


def test_paying_after_the_show_has_started_is_refused_on_the_checkout_page(fan_client, fan, admit, top_up):
    concert_date = factories.ConcertDateFactory(starts_at=timezone.now() + datetime.timedelta(hours=1))
    top_up(fan, 500_000)
    start = concert_date.starts_at
    with time_machine.travel(start - datetime.timedelta(seconds=60), tick=False):
        admit(fan, concert_date.concert)
        booking_services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[3, 4])
        data = _checkout_form(fan_client, concert_date)

    with time_machine.travel(start + datetime.timedelta(seconds=200), tick=False):
        response = fan_client.post(reverse("booking:checkout", args=[concert_date.pk]), data)

    assertContains(response, "이미 시작된 회차라 결제할 수 없습니다.", status_code=409)
    fan.refresh_from_db()
    assert fan.balance == 500_000
    assert set(Payment.objects.filter(user=fan).values_list("status", flat=True)) == {"FAILED"}
    assert not Reservation.objects.filter(user=fan, status="CONFIRMED").exists()
