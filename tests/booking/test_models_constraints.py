"""The database refuses a second live reservation of a seat and a second successful payment of a
reservation, even when application code tries."""

import pytest
from django.utils import timezone

from booking.models import CheckIn, Payment, Reservation
from tests.factories import PaymentFactory, ReservationFactory, SeatFactory, UserFactory

pytestmark = pytest.mark.django_db

HOLD, CONFIRMED = Reservation.Status.HOLD, Reservation.Status.CONFIRMED


def _live(status, seat, user=None):
    return Reservation.objects.create(
        seat=seat,
        user=user or UserFactory(),
        status=status,
        price=seat.price,
        confirmed_at=timezone.now() if status == CONFIRMED else None,
    )


@pytest.mark.parametrize(("first", "second"), [(HOLD, HOLD), (HOLD, CONFIRMED), (CONFIRMED, HOLD)])
def test_one_live_reservation_per_seat(refused, first, second):
    seat = SeatFactory()
    _live(first, seat)
    refused("reservation_one_live_per_seat", lambda: _live(second, seat))
    assert Reservation.objects.filter(seat=seat).count() == 1


def test_reviving_an_ended_reservation_beside_a_live_one_is_refused(refused):
    seat = SeatFactory()
    ended = ReservationFactory(seat=seat, status=Reservation.Status.EXPIRED)
    _live(HOLD, seat)
    refused("reservation_one_live_per_seat", lambda: Reservation.objects.filter(pk=ended.pk).update(status=HOLD))


def test_ended_reservations_do_not_block_a_new_hold():
    seat = SeatFactory()
    ReservationFactory(seat=seat, status=Reservation.Status.EXPIRED)
    ReservationFactory(seat=seat, status=Reservation.Status.CANCELLED)
    _live(HOLD, seat)
    assert Reservation.objects.filter(seat=seat).count() == 3


def test_reservation_price_positive(refused):
    reservation = ReservationFactory()
    refused("reservation_price_positive", lambda: Reservation.objects.filter(pk=reservation.pk).update(price=0))


def test_confirmed_reservation_has_paid_at(refused):
    reservation = _live(HOLD, SeatFactory())
    refused(
        "reservation_confirmed_has_paid_at",
        lambda: Reservation.objects.filter(pk=reservation.pk).update(status=CONFIRMED),
    )


def _payment(reservation, status, reason=""):
    return Payment.objects.create(
        user=reservation.user, reservation=reservation, amount=reservation.price, status=status, reason=reason
    )


def test_one_successful_payment_per_reservation(refused):
    reservation = _live(CONFIRMED, SeatFactory())
    _payment(reservation, Payment.Status.SUCCESS)
    refused("payment_one_success_per_reservation", lambda: _payment(reservation, Payment.Status.SUCCESS))
    assert reservation.payments.count() == 1


def test_failed_payments_may_repeat_beside_a_success():
    reservation = _live(CONFIRMED, SeatFactory())
    _payment(reservation, Payment.Status.FAILED, "insufficient balance")
    _payment(reservation, Payment.Status.FAILED, "hold expired")
    _payment(reservation, Payment.Status.SUCCESS)
    assert reservation.payments.count() == 3


def test_payment_amount_positive(refused):
    payment = PaymentFactory()
    refused("payment_amount_positive", lambda: Payment.objects.filter(pk=payment.pk).update(amount=0))


def test_failed_payment_has_a_reason(refused):
    payment = PaymentFactory(status=Payment.Status.FAILED, reason="insufficient balance")
    refused("payment_failed_has_reason", lambda: Payment.objects.filter(pk=payment.pk).update(reason=""))


def test_successful_payment_has_no_reason(refused):
    payment = PaymentFactory(status=Payment.Status.FAILED, reason="insufficient balance")
    refused(
        "payment_failed_has_reason",
        lambda: Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.SUCCESS),
    )


def test_one_check_in_per_reservation(refused):
    reservation = _live(CONFIRMED, SeatFactory())
    CheckIn.objects.create(reservation=reservation)
    refused("checkin_one_per_reservation", lambda: CheckIn.objects.create(reservation=reservation))
    assert reservation.checkins.count() == 1
