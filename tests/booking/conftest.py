"""Fixtures of booking's service tests: fans whose money came through the wallet, a paid seat, one `now`.

The concert date and the page tests' fan (`fan`, no money) come from tests/conftest.py.
"""

import pytest
from django.utils import timezone

from booking import services
from tests import factories
from tests.support import fans


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def make_fan():
    """A fan whose balance came through wallet.charge, so the ledger reconciles."""

    def make(balance=0):
        fan = factories.UserFactory()
        if balance:
            fans.top_up(fan, balance)
        return fan

    return make


@pytest.fixture
def funded_fan(make_fan):
    return make_fan(500_000)


@pytest.fixture
def paid(funded_fan, concert_date, now):
    """A fan's confirmed reservation of seat 1."""
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1], now=now)
    return services.pay(user=funded_fan, concert_date=concert_date, idempotency_key="k-paid", now=now).reservations[0]
