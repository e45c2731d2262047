"""The database refuses a second live reservation of a seat, a second successful payment of a reservation, a
second live waiting-list entry of a fan on a date and a second open offer of a seat, even when application code
tries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import CheckIn, Payment, Reservation, WaitlistEntry, WaitlistOffer
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


# --- the waiting list of a sold-out date ---------------------------------------------------------------------


def _entry(user, concert_date, status=WaitlistEntry.Status.WAITING):
    ended = None if status in WaitlistEntry.LIVE_STATUSES else timezone.now()
    return WaitlistEntry.objects.create(
        user=user, concert_date=concert_date, status=status, language="ko", ended_at=ended
    )


def _offer(entry, seat, reservation=None, **fields):
    now = timezone.now()
    reservation = reservation or _live(HOLD, seat, entry.user)
    return WaitlistOffer.objects.create(
        entry=entry,
        seat=seat,
        reservation=reservation,
        offered_at=now,
        expires_at=now + timedelta(minutes=10),
        **fields,
    )


def test_one_live_waitlist_entry_per_fan_and_date(refused):
    seat = SeatFactory()
    fan = UserFactory()
    _entry(fan, seat.concert_date, WaitlistEntry.Status.LEFT)
    first = _entry(fan, seat.concert_date)
    refused("waitlist_entry_one_live_per_fan_date", lambda: _entry(fan, seat.concert_date))
    WaitlistEntry.objects.filter(pk=first.pk).update(status=WaitlistEntry.Status.OFFERED)
    refused("waitlist_entry_one_live_per_fan_date", lambda: _entry(fan, seat.concert_date))


def test_an_ended_waitlist_entry_has_its_end_time_and_a_live_one_none(refused):
    entry = _entry(UserFactory(), SeatFactory().concert_date)
    refused(
        "waitlist_entry_ended_has_time",
        lambda: WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.LEFT),
    )
    refused(
        "waitlist_entry_ended_has_time",
        lambda: WaitlistEntry.objects.filter(pk=entry.pk).update(ended_at=timezone.now()),
    )


def test_one_open_offer_per_seat(refused):
    seat = SeatFactory()
    first = _offer(_entry(UserFactory(), seat.concert_date), seat)
    other = _entry(UserFactory(), seat.concert_date)
    ended = ReservationFactory(seat=seat, user=other.user, status=Reservation.Status.EXPIRED)
    refused("waitlist_offer_one_open_per_seat", lambda: _offer(other, seat, ended))
    WaitlistOffer.objects.filter(pk=first.pk).update(status=WaitlistOffer.Status.ACCEPTED, accepted_at=timezone.now())
    refused("waitlist_offer_one_open_per_seat", lambda: _offer(other, seat, ended))


def test_one_offer_per_waitlist_entry(refused):
    seat = SeatFactory()
    entry = _entry(UserFactory(), seat.concert_date)
    _offer(entry, seat, status=WaitlistOffer.Status.EXPIRED, ended_at=timezone.now())
    other_seat = SeatFactory(concert_date=seat.concert_date, seat_number=2)
    refused("waitlist_offer_one_per_entry", lambda: _offer(entry, other_seat))


def test_one_offer_per_reservation(refused):
    seat = SeatFactory()
    offer = _offer(
        _entry(UserFactory(), seat.concert_date), seat, status=WaitlistOffer.Status.EXPIRED, ended_at=timezone.now()
    )
    refused(
        "waitlist_offer_one_per_reservation",
        lambda: _offer(_entry(UserFactory(), seat.concert_date), seat, offer.reservation),
    )


def test_an_offer_expires_after_it_is_made(refused):
    seat = SeatFactory()
    offer = _offer(_entry(UserFactory(), seat.concert_date), seat)
    refused(
        "waitlist_offer_expires_after_offered",
        lambda: WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=offer.offered_at),
    )


def test_an_ended_offer_has_its_end_time_and_an_open_one_none(refused):
    seat = SeatFactory()
    offer = _offer(_entry(UserFactory(), seat.concert_date), seat)
    refused(
        "waitlist_offer_ended_has_time",
        lambda: WaitlistOffer.objects.filter(pk=offer.pk).update(status=WaitlistOffer.Status.EXPIRED),
    )
    refused(
        "waitlist_offer_ended_has_time",
        lambda: WaitlistOffer.objects.filter(pk=offer.pk).update(ended_at=timezone.now()),
    )


def test_an_accepted_offer_has_its_acceptance_time(refused):
    seat = SeatFactory()
    offer = _offer(_entry(UserFactory(), seat.concert_date), seat)
    refused(
        "waitlist_offer_accepted_has_time",
        lambda: WaitlistOffer.objects.filter(pk=offer.pk).update(status=WaitlistOffer.Status.ACCEPTED),
    )
