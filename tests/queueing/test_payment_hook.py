"""Paying ends the fan's admission through booking's on_commit hook, and the freed place goes to the next fan."""

import pytest
from django.utils import timezone

from booking import services as booking_services
from queueing import services
from queueing.models import QueueEntryHistory
from tests.factories import ConcertDateFactory
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, so on_commit hooks really run


def test_paying_ends_the_admission_and_admits_the_next_fan(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    date = ConcertDateFactory(concert=concert)
    buyer, next_fan = make_fans(2)
    wallet_services.charge(user=buyer, amount=500_000)
    services.join(user=buyer, concert=concert)
    services.join(user=next_fan, concert=concert)
    assert services.touch(user=buyer, concert=concert)

    booking_services.hold_seats(user=buyer, concert_date=date, seat_numbers=[7])
    booking_services.pay(user=buyer, concert_date=date, idempotency_key="hook-test")

    assert not services.touch(user=buyer, concert=concert)
    assert QueueEntryHistory.objects.get(user=buyer).exit_reason == "paid"
    assert services.admit_batch(concert=concert, now=timezone.now()) == 1
    assert services.touch(user=next_fan, concert=concert)
