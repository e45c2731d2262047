"""Fixtures shared by tests/security, tests/fuzz and tests/faults: two fans, a date on sale, admission
through the real waiting room, and a snapshot of everything a refused request must leave unchanged."""

import pytest
from django.test import Client

from booking import services as booking_services
from booking.models import Payment, Reservation
from concerts.models import PresaleCode, Seat, SeatStatusHistory
from queueing.models import QueueEntryHistory
from tests import factories
from tests.support.fans import admit, hold, top_up  # noqa: F401  (admit and hold: tests import them from here)
from wallet.models import ChargeHistory, UsageHistory
from wallet.selectors import unreconciled_wallets


def login_client(user, *, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def pay(user, concert_date, key="fixture-key"):
    return booking_services.pay(user=user, concert_date=concert_date, idempotency_key=key)


def state_snapshot():
    """Every row a refused request must not change: seats, reservations, payments, the wallet ledger,
    balances, the accounts' addresses and passwords and the waiting-room history."""
    from accounts.models import ApiToken, User

    return {
        "seats": sorted(Seat.objects.values_list("id", "status", "held_by_id", "hold_expire_at")),
        "seat_history": SeatStatusHistory.objects.count(),
        "reservations": sorted(Reservation.objects.values_list("id", "user_id", "status", "seat_id")),
        "payments": sorted(Payment.objects.values_list("id", "status")),
        "charges": sorted(ChargeHistory.objects.filter(status="SUCCESS").values_list("id", "amount")),
        "usages": sorted(UsageHistory.objects.values_list("id", "action_type", "status", "amount")),
        "balances": sorted(User.objects.values_list("id", "balance")),
        "accounts": sorted(User.objects.values_list("id", "email", "password", "email_verified_at")),
        "queue_history": sorted(QueueEntryHistory.objects.values_list("id", "admitted_at", "exited_at")),
        "presale_codes": sorted(PresaleCode.objects.values_list("id", "used_by_id")),
        "api_tokens": sorted(ApiToken.objects.values_list("id", "revoked_at")),
    }


def assert_ledger_reconciles():
    assert unreconciled_wallets() == []


@pytest.fixture
def concert_date(db):
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night")


@pytest.fixture
def other_concert_date(db):
    return factories.ConcertDateFactory(concert__title="Busan Rock Night")


@pytest.fixture
def alice(db):
    return top_up(factories.UserFactory(email="alice@example.com", name="Alice"), 500_000)


@pytest.fixture
def mallory(db):
    return top_up(factories.UserFactory(email="mallory@example.com", name="Mallory"), 500_000)


@pytest.fixture
def alice_client(alice):
    return login_client(alice)


@pytest.fixture
def mallory_client(mallory):
    return login_client(mallory)
