"""The database refuses ledger rows that would break reconciliation: non-positive amounts, a
successful top-up without an amount, a reservation paid or refunded twice."""

import pytest

from booking.models import Reservation
from tests.factories import ChargeHistoryFactory, ReservationFactory, UsageHistoryFactory, UserFactory
from wallet.models import ChargeHistory, UsageHistory

pytestmark = pytest.mark.django_db

CHARGE_RULE = "charge_success_positive_failed_has_reason"


@pytest.mark.parametrize(
    "amount",
    [
        0,
        -1000,
        None,
    ],
)
def test_successful_top_up_has_a_positive_amount(refused, amount):
    charge = ChargeHistoryFactory(amount=10_000)
    refused(CHARGE_RULE, lambda: ChargeHistory.objects.filter(pk=charge.pk).update(amount=amount))


def test_successful_top_up_has_no_reason(refused):
    charge = ChargeHistoryFactory()
    refused(CHARGE_RULE, lambda: ChargeHistory.objects.filter(pk=charge.pk).update(reason="because"))


def test_failed_top_up_has_a_reason(refused):
    user = UserFactory()
    refused(
        CHARGE_RULE,
        lambda: ChargeHistory.objects.create(user=user, amount=500, status=ChargeHistory.Status.FAILED, reason=""),
    )


def test_failed_top_up_may_have_any_amount_or_none():
    user = UserFactory()
    for amount in (None, -5, 0, 10**15):
        ChargeHistory.objects.create(user=user, amount=amount, status=ChargeHistory.Status.FAILED, reason="refused")
    assert user.charges.count() == 4


def test_usage_amount_positive(refused):
    usage = UsageHistoryFactory()
    refused("usage_amount_positive", lambda: UsageHistory.objects.filter(pk=usage.pk).update(amount=0))


def _usage(reservation, action, status=UsageHistory.Status.SUCCESS):
    return UsageHistory.objects.create(
        user=reservation.user, reservation=reservation, amount=reservation.price, action_type=action, status=status
    )


@pytest.mark.parametrize("action", [UsageHistory.ActionType.RESERVATION, UsageHistory.ActionType.CANCELLATION])
def test_reservation_paid_or_refunded_once(refused, action):
    reservation = ReservationFactory(status=Reservation.Status.CANCELLED)
    _usage(reservation, action)
    refused("usage_once_per_reservation_and_action", lambda: _usage(reservation, action))
    assert reservation.usages.count() == 1


def test_payment_and_refund_of_one_reservation_and_failures_are_allowed():
    reservation = ReservationFactory(status=Reservation.Status.CANCELLED)
    _usage(reservation, UsageHistory.ActionType.RESERVATION)
    _usage(reservation, UsageHistory.ActionType.CANCELLATION)
    _usage(reservation, UsageHistory.ActionType.CANCELLATION, status=UsageHistory.Status.FAILED)
    user = reservation.user
    UsageHistoryFactory(user=user, reservation=None)
    UsageHistoryFactory(user=user, reservation=None)
    assert user.usages.count() == 5


def test_one_successful_top_up_per_idempotency_key(refused):
    from tests.factories import UserFactory
    from wallet.models import ChargeHistory

    user = UserFactory()
    ChargeHistory.objects.create(user=user, amount=1000, status="SUCCESS", idempotency_key="k")
    ChargeHistory.objects.create(user=user, amount=1000, status="FAILED", reason="r", idempotency_key="k")
    ChargeHistory.objects.create(user=user, amount=1000, status="SUCCESS")  # the page's: no key
    ChargeHistory.objects.create(user=user, amount=1000, status="SUCCESS")
    refused(
        "charge_one_success_per_key",
        lambda: ChargeHistory.objects.create(user=user, amount=500, status="SUCCESS", idempotency_key="k"),
    )
