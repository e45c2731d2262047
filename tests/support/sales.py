"""Test helpers for staff features: fans who really paid (through wallet and booking services)."""

import uuid

from booking import services as booking_services
from tests.factories import UserFactory
from wallet import services as wallet_services


def paid_fan(*, concert_date, seats, user=None, top_up=500_000):
    """A fan who topped up `top_up` won, held `seats` on the date and paid for them; returns (user, result)."""
    user = user or UserFactory()
    wallet_services.charge(user=user, amount=top_up)
    booking_services.hold_seats(user=user, concert_date=concert_date, seat_numbers=seats)
    result = booking_services.pay(user=user, concert_date=concert_date, idempotency_key=uuid.uuid4().hex)
    user.refresh_from_db()
    return user, result


def holding_fan(*, concert_date, seats, user=None):
    user = user or UserFactory()
    reservations = booking_services.hold_seats(user=user, concert_date=concert_date, seat_numbers=seats)
    return user, reservations
