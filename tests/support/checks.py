"""Invariants of booking and the wallet, checked by the tests after every step that changes anything."""

from django.contrib.auth import get_user_model
from django.db.models import Count

from booking.models import Payment, Reservation
from concerts.models import Seat, SeatStatusHistory
from wallet.selectors import unbalanced_cancellations, unreconciled_wallets


def seat_snapshot(concert_date):
    """Everything a refused request must leave untouched on this date."""
    return (
        list(
            Seat.objects.filter(concert_date=concert_date)
            .order_by("seat_number")
            .values_list("seat_number", "status", "held_by_id", "hold_expire_at")
        ),
        sorted(Reservation.objects.filter(seat__concert_date=concert_date).values_list("id", "status")),
        SeatStatusHistory.objects.filter(seat__concert_date=concert_date).count(),
    )


def assert_consistent():
    """No seat sold twice, seats agree with their reservations and their last history row, ledgers reconcile."""
    doubled = (
        Reservation.objects.filter(status__in=Reservation.LIVE_STATUSES)
        .values("seat")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not doubled.exists()
    live = {r.seat_id: r for r in Reservation.objects.filter(status__in=Reservation.LIVE_STATUSES)}
    paid = set(
        Payment.objects.filter(
            status=Payment.Status.SUCCESS, reservation__status=Reservation.Status.CONFIRMED
        ).values_list("reservation_id", flat=True)
    )
    last_rows = {h.seat_id: h for h in SeatStatusHistory.objects.order_by("seat_id", "-changed_at").distinct("seat_id")}
    for seat in Seat.objects.all():
        last = last_rows.get(seat.pk)
        assert last is not None and last.to_status == seat.status, (seat, last)
        reservation = live.get(seat.pk)
        if seat.status == Seat.Status.AVAILABLE:
            assert reservation is None, seat
        elif seat.status == Seat.Status.HELD:
            assert reservation.status == Reservation.Status.HOLD
            assert reservation.user_id == seat.held_by_id
            assert reservation.hold_expire_at == seat.hold_expire_at
        else:
            assert reservation.status == Reservation.Status.CONFIRMED
            assert reservation.pk in paid
    assert Payment.objects.filter(status=Payment.Status.SUCCESS).values("reservation").distinct().count() == (
        Payment.objects.filter(status=Payment.Status.SUCCESS).count()
    )
    assert not get_user_model().objects.filter(balance__lt=0).exists()
    assert unreconciled_wallets() == []
    assert unbalanced_cancellations() == []
