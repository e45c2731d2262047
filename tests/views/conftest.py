"""Fixtures for the page tests: a logged-in fan, a concert date on sale, admission through the real queue."""

import pytest
from django.test import Client

from booking import services as booking_services
from queueing import services as queue_services
from tests import factories
from wallet import services as wallet_services


@pytest.fixture(autouse=True)
def _korean_by_default(settings):
    # The site's default; tests that want English switch with the language cookie like a fan would.
    settings.LANGUAGE_CODE = "ko"


@pytest.fixture
def fan(db):
    return factories.UserFactory(name="김팬", email="fan@example.com")


@pytest.fixture
def top_up():
    """Top a fan up through wallet.services.charge, so the ledger reconciles."""

    def top_up(user, amount):
        while amount > 0:
            step = min(amount, 1_000_000)
            wallet_services.charge(user=user, amount=step)
            amount -= step
        user.refresh_from_db(fields=["balance"])
        return user

    return top_up


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


@pytest.fixture
def csrf_client(fan):
    """A client that enforces CSRF like a browser would (the default test client skips the check)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(fan)
    return client


@pytest.fixture
def concert_date(db):
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")


@pytest.fixture
def admit():
    """Admit a user to the concert's waiting room (admitted at once: there is room and nobody waits)."""

    def admit(user, concert):
        current = queue_services.join(user=user, concert=concert)
        assert current.admitted
        return current

    return admit


@pytest.fixture
def admitted(fan, concert_date, admit):
    return admit(fan, concert_date.concert)


@pytest.fixture
def hold():
    def hold(user, concert_date, *numbers):
        return booking_services.hold_seats(user=user, concert_date=concert_date, seat_numbers=list(numbers))

    return hold


@pytest.fixture
def paid_reservation(fan, concert_date, top_up, hold):
    """Seat 7 held and paid by the fan (no admission needed: services are called directly)."""
    top_up(fan, 200_000)
    hold(fan, concert_date, 7)
    result = booking_services.pay(user=fan, concert_date=concert_date, idempotency_key="fixture-paid")
    fan.refresh_from_db(fields=["balance"])
    return result.reservations[0]
