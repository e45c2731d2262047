import datetime

import pytest

from booking import services
from booking.exceptions import BookingError, CancellationClosed, ReservationNotCancellable
from booking.models import Reservation
from concerts.models import Seat, SeatStatusHistory
from tests.support.checks import assert_consistent, seat_snapshot
from wallet.models import UsageHistory
from wallet.selectors import balance

pytestmark = pytest.mark.django_db


def test_cancel_refunds_in_full_and_frees_the_seat(funded_fan, paid, concert_date, now):
    before_balance = balance(user=funded_fan)
    at = now + datetime.timedelta(hours=1)

    cancelled = services.cancel(user=funded_fan, reservation=paid, now=at)

    assert cancelled.status == Reservation.Status.CANCELLED and cancelled.ended_at == at
    paid.refresh_from_db()
    assert paid.status == Reservation.Status.CANCELLED
    assert balance(user=funded_fan) == before_balance + paid.price
    refund = UsageHistory.objects.get(user=funded_fan, action_type="CANCELLATION")
    assert (refund.amount, refund.status, refund.reservation_id, refund.used_at) == (paid.price, "SUCCESS", paid.pk, at)
    seat = Seat.objects.get(pk=paid.seat_id)
    assert (seat.status, seat.held_by_id) == ("AVAILABLE", None)
    last = SeatStatusHistory.objects.filter(seat=seat).order_by("-changed_at").first()
    assert (last.from_status, last.to_status, last.changed_by_id) == ("RESERVED", "AVAILABLE", funded_fan.pk)
    assert_consistent()


def test_cancelled_seat_can_be_booked_again(make_fan, funded_fan, paid, concert_date, now):
    services.cancel(user=funded_fan, reservation=paid, now=now)
    other = make_fan(100_000)
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[1], now=now)
    services.pay(user=other, concert_date=concert_date, idempotency_key="o", now=now)
    assert_consistent()


def test_cancel_until_the_cutoff_but_not_after(funded_fan, paid, concert_date, settings):
    settings.CANCEL_CUTOFF_HOURS = 24
    deadline = concert_date.starts_at - datetime.timedelta(hours=24)
    before = seat_snapshot(concert_date), balance(user=funded_fan)

    with pytest.raises(CancellationClosed) as exc:
        services.cancel(user=funded_fan, reservation=paid, now=deadline)

    assert str(exc.value.message)
    assert (seat_snapshot(concert_date), balance(user=funded_fan)) == before
    services.cancel(user=funded_fan, reservation=paid, now=deadline - datetime.timedelta(microseconds=1))


def test_cannot_cancel_someone_elses_reservation(make_fan, funded_fan, paid, concert_date, now):
    before = seat_snapshot(concert_date), balance(user=funded_fan)
    intruder = make_fan()
    with pytest.raises(ReservationNotCancellable):
        services.cancel(user=intruder, reservation=paid, now=now)
    assert (seat_snapshot(concert_date), balance(user=funded_fan)) == before
    assert balance(user=intruder) == 0


def test_cancel_twice_refunds_once(funded_fan, paid, now):
    services.cancel(user=funded_fan, reservation=paid, now=now)
    after = balance(user=funded_fan)
    with pytest.raises(ReservationNotCancellable):
        services.cancel(user=funded_fan, reservation=paid, now=now)
    assert balance(user=funded_fan) == after
    assert UsageHistory.objects.filter(action_type="CANCELLATION").count() == 1


def test_a_hold_is_not_cancellable_by_the_fan(funded_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)
    before = seat_snapshot(concert_date)
    with pytest.raises(ReservationNotCancellable):
        services.cancel(user=funded_fan, reservation=hold, now=now)
    assert seat_snapshot(concert_date) == before


def test_staff_refund_ignores_the_cutoff_and_is_idempotent(funded_fan, paid, concert_date, make_fan):
    staff = make_fan()
    after_cutoff = concert_date.starts_at - datetime.timedelta(hours=1)
    before = balance(user=funded_fan)

    services.refund_and_cancel(reservation=paid, by=staff, reason="date cancelled", now=after_cutoff)
    again = services.refund_and_cancel(reservation=paid, by=staff, reason="date cancelled", now=after_cutoff)

    assert again.status == Reservation.Status.CANCELLED
    assert balance(user=funded_fan) == before + paid.price
    assert UsageHistory.objects.filter(action_type="CANCELLATION").count() == 1
    last = SeatStatusHistory.objects.filter(seat_id=paid.seat_id).order_by("-changed_at").first()
    assert (last.reason, last.note, last.changed_by_id) == (
        SeatStatusHistory.Reason.STAFF_REFUNDED,
        "date cancelled",
        staff.pk,
    )
    assert_consistent()


def test_staff_refund_of_a_hold_is_refused(funded_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)
    with pytest.raises(ReservationNotCancellable):
        services.refund_and_cancel(reservation=hold, now=now)


def test_staff_release_a_hold(funded_fan, concert_date, now, make_fan):
    staff = make_fan()
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)

    released = services.release_hold(reservation=hold, by=staff, reason="stuck checkout", now=now)
    again = services.release_hold(reservation=hold, by=staff, now=now)

    assert released.status == again.status == Reservation.Status.CANCELLED
    seat = Seat.objects.get(pk=hold.seat_id)
    assert seat.status == "AVAILABLE"
    assert (
        SeatStatusHistory.objects.filter(
            seat=seat, reason=SeatStatusHistory.Reason.STAFF_RELEASED, note="stuck checkout", changed_by=staff
        ).count()
        == 1
    )
    assert_consistent()


def test_staff_release_of_a_paid_reservation_is_refused(paid, now):
    with pytest.raises(ReservationNotCancellable):
        services.release_hold(reservation=paid, now=now)
    assert Seat.objects.get(pk=paid.seat_id).status == "RESERVED"


def test_a_ticket_of_a_date_staff_cancelled_is_refunded_by_the_date_not_cancelled_by_the_fan(
    funded_fan, paid, concert_date, now
):
    topped_up = balance(user=funded_fan) + paid.price
    cancellation, _created = services.mark_date_cancelled(concert_date=concert_date, reason="storm", now=now)
    before = seat_snapshot(concert_date), balance(user=funded_fan)

    with pytest.raises(BookingError) as refused:
        services.cancel(user=funded_fan, reservation=paid, now=now)

    assert (refused.value.code, refused.value.status) == ("date_cancelled", 409)
    assert refused.value.reason.startswith("The organiser cancelled this date")
    assert (seat_snapshot(concert_date), balance(user=funded_fan)) == before
    services.end_reservations_of_cancelled_date(cancellation=cancellation)
    paid.refresh_from_db()
    assert (paid.status, paid.end_reason) == (Reservation.Status.CANCELLED, Reservation.EndReason.DATE_CANCELLED)
    assert balance(user=funded_fan) == topped_up
    with pytest.raises(BookingError) as again:  # refunded by the date: still the date's answer
        services.cancel(user=funded_fan, reservation=paid, now=now)
    assert again.value.code == "date_cancelled"
    assert_consistent()


def test_the_cancel_quote_and_my_tickets_refuse_a_ticket_of_a_cancelled_date_as_the_service_does(
    funded_fan, paid, concert_date, now
):
    from booking import selectors

    assert selectors.cancellation_quote(reservation=paid, now=now).cancellable
    services.mark_date_cancelled(concert_date=concert_date, reason="storm", now=now)
    paid = Reservation.objects.select_related("seat__concert_date__concert").get(pk=paid.pk)

    quote = selectors.cancellation_quote(reservation=paid, now=now)
    [ticket] = selectors.reservations_for(user=funded_fan, now=now).object_list

    assert quote.refusal is not None and quote.refusal.code == "date_cancelled"
    assert (ticket.cancellable, ticket.organiser_cancelled) == (False, True)


def test_a_ticket_used_at_the_door_cannot_be_cancelled_and_nothing_changes(funded_fan, paid, concert_date, now):
    from booking import tickets
    from booking.exceptions import TicketUsed

    services.check_in_ticket(code=tickets.ticket_code(paid), concert_date=concert_date, by=None, now=now)
    before = seat_snapshot(concert_date), balance(user=funded_fan)

    with pytest.raises(TicketUsed) as exc:
        services.cancel(user=funded_fan, reservation=paid, now=now + datetime.timedelta(minutes=1))

    assert "door" in str(exc.value.reason)
    assert (seat_snapshot(concert_date), balance(user=funded_fan)) == before
    paid.refresh_from_db()
    assert paid.status == Reservation.Status.CONFIRMED
    assert_consistent()
