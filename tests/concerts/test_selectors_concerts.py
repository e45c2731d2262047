"""Reads about concerts: the dates a concert page lists, with the seats left on each."""

import datetime

import pytest
from django.utils import timezone

from booking import services as booking_services
from booking.services import mark_date_cancelled
from concerts import selectors
from tests import factories
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


def test_bookable_dates_skip_past_shows_and_count_expired_holds_as_free(now):
    concert = factories.ConcertFactory(start_time=now + datetime.timedelta(days=2))
    today = timezone.localdate(now)
    past = factories.ConcertDateFactory(concert=concert, concert_date=today - datetime.timedelta(days=1))
    soon = factories.ConcertDateFactory(concert=concert, concert_date=today + datetime.timedelta(days=2))
    later = factories.ConcertDateFactory(concert=concert, concert_date=today + datetime.timedelta(days=3))
    fan = factories.UserFactory()
    wallet_services.charge(user=fan, amount=500_000)
    booking_services.hold_seats(
        user=fan, concert_date=soon, seat_numbers=[1, 2], now=now - datetime.timedelta(minutes=10)
    )
    booking_services.hold_seats(user=fan, concert_date=soon, seat_numbers=[3], now=now)
    booking_services.hold_seats(user=fan, concert_date=later, seat_numbers=[1], now=now)
    booking_services.pay(user=fan, concert_date=later, idempotency_key="k", now=now)

    dates = selectors.bookable_dates(concert=concert, now=now)

    assert past not in dates
    assert [(d.pk, d.seats_left) for d in dates] == [(soon.pk, 49), (later.pk, 49)]


def test_a_show_that_has_started_is_not_bookable(now):
    date = factories.ConcertDateFactory()
    assert selectors.bookable_dates(concert=date.concert, now=date.starts_at - datetime.timedelta(seconds=1))
    assert selectors.bookable_dates(concert=date.concert, now=date.starts_at) == []


def test_bookable_dates_leave_out_cancelled_dates(now):
    date = factories.ConcertDateFactory()
    mark_date_cancelled(concert_date=date, reason="storm", now=now)
    assert selectors.bookable_dates(concert=date.concert, now=now) == []
