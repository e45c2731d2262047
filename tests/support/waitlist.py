"""A sold-out date and its waiting list as the waiting-list tests set them up: through the real services."""

import datetime
import uuid

from django.conf import settings
from django.utils import timezone

from booking import services as booking_services
from booking.models import Reservation
from tests.factories import UserFactory
from wallet import services as wallet_services


def sell_out(concert_date, *, now=None):
    """Sell every seat of the date, MAX_SEATS_PER_USER a fan, paid from topped-up wallets; return
    {seat number: its CONFIRMED reservation}."""
    sold = {}
    numbers = list(range(1, settings.SEATS_PER_DATE + 1))
    step = settings.MAX_SEATS_PER_USER
    for start in range(0, len(numbers), step):
        fan = UserFactory()
        wallet_services.charge(user=fan, amount=1_000_000)
        booking_services.hold_seats(
            user=fan, concert_date=concert_date, seat_numbers=numbers[start : start + step], now=now
        )
        paid = booking_services.pay(user=fan, concert_date=concert_date, idempotency_key=uuid.uuid4().hex, now=now)
        for reservation in paid.reservations:
            sold[reservation.seat.seat_number] = reservation
    return sold


def hold_out(concert_date, *, now=None):
    """Hold every seat of the date, MAX_SEATS_PER_USER a fan, none paid: sold out until the holds run out."""
    numbers = list(range(1, settings.SEATS_PER_DATE + 1))
    step = settings.MAX_SEATS_PER_USER
    for start in range(0, len(numbers), step):
        booking_services.hold_seats(
            user=UserFactory(), concert_date=concert_date, seat_numbers=numbers[start : start + step], now=now
        )


def return_seats(sold, *numbers, now=None):
    """Staff refund these seats: they come back (and the date's offer job is queued when each refund commits)."""
    for number in numbers:
        booking_services.refund_and_cancel(reservation=sold[number], now=now)


def waiting_fans(concert_date, count, *, now=None):
    """`count` new fans joining the date's list one after another, a millisecond apart from `now` (default: now)."""
    start = now or timezone.now()
    fans = []
    for i in range(count):
        fan = UserFactory()
        at = start + datetime.timedelta(milliseconds=i)
        booking_services.waitlist.join_waitlist(user=fan, concert_date=concert_date, now=at)
        fans.append(fan)
    return fans


def live_offer_holds(concert_date):
    return Reservation.objects.filter(
        seat__concert_date=concert_date, status=Reservation.Status.HOLD, waitlist_offers__isnull=False
    )
