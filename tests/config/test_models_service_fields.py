"""Columns only a service writes (config.service_fields): a plain save() of a row read earlier never
writes them back, a new row is inserted whole, and a service can still name them in update_fields."""

import pytest

from booking import services as booking_services
from concerts.models import ConcertDate, Seat
from tests.factories import ConcertDateFactory
from tests.support.sales import holding_fan

pytestmark = pytest.mark.django_db


def test_a_plain_save_of_a_date_read_before_its_cancellation_keeps_it_cancelled():
    date = ConcertDateFactory()
    stale = ConcertDate.objects.get(pk=date.pk)
    booking_services.cancel_concert_date(concert_date=date, reason="storm", enqueue=False)
    stale.save()
    date.refresh_from_db()
    assert date.status == ConcertDate.Status.CANCELLED and date.cancelled_at is not None


def test_a_plain_save_of_a_seat_read_before_a_hold_keeps_the_hold():
    date = ConcertDateFactory()
    stale = Seat.objects.get(concert_date=date, seat_number=7)
    fan, _ = holding_fan(concert_date=date, seats=[7])
    stale.save()
    seat = Seat.objects.get(pk=stale.pk)
    assert (seat.status, seat.held_by_id) == (Seat.Status.HELD, fan.pk)


def test_update_fields_naming_a_service_column_still_writes_it():
    date = ConcertDateFactory()
    seat = Seat.objects.get(concert_date=date, seat_number=1)
    seat.price = 1_000
    seat.save(update_fields=["price"])
    assert Seat.objects.get(pk=seat.pk).price == 1_000
