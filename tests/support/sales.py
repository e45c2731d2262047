"""Test helpers for staff features: fans who really paid (through wallet and booking services)."""

import datetime
import uuid

from django.conf import settings
from django.utils import timezone

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


def after_the_cutoff_before_the_day(show: datetime.datetime) -> datetime.datetime:
    """A moment past the cancellation cutoff (CANCEL_CUTOFF_HOURS before the show) but still the day before the show
    in Seoul: the cutoff's refusal, not the show day's own (no cancelling on the day), whatever time the test runs.
    A show in its day's first minutes has no such moment (the caller's fixture starts shows later)."""
    midnight = timezone.localtime(show).replace(hour=0, minute=0, second=0, microsecond=0)
    moment = min(
        midnight - datetime.timedelta(minutes=1), show - datetime.timedelta(hours=settings.CANCEL_CUTOFF_HOURS - 1)
    )
    assert moment > show - datetime.timedelta(hours=settings.CANCEL_CUTOFF_HOURS), (
        "the show starts right after midnight"
    )
    return moment
