import datetime

import pytest
from django.core.management import call_command

from booking import services, tasks
from booking.models import Reservation
from concerts.models import Seat, SeatStatusHistory
from tests.support.checks import assert_consistent

pytestmark = pytest.mark.django_db


def test_sweep_expires_only_holds_past_their_time(make_fan, funded_fan, concert_date, now):
    other = make_fan()
    [old] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1], now=now)
    [fresh] = services.hold_seats(
        user=other, concert_date=concert_date, seat_numbers=[2], now=now + datetime.timedelta(seconds=10)
    )
    at = old.hold_expire_at + datetime.timedelta(seconds=1)

    assert services.expire_holds(now=at) == 1

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, old.ended_at) == (Reservation.Status.EXPIRED, at)
    assert fresh.status == Reservation.Status.HOLD
    seat = Seat.objects.get(pk=old.seat_id)
    assert (seat.status, seat.held_by_id, seat.hold_expire_at) == ("AVAILABLE", None, None)
    last = SeatStatusHistory.objects.filter(seat=seat).order_by("-changed_at").first()
    assert (last.from_status, last.to_status, last.reason, last.changed_by_id) == (
        "HELD",
        "AVAILABLE",
        SeatStatusHistory.Reason.HOLD_EXPIRED,
        None,
    )
    assert Seat.objects.get(pk=fresh.seat_id).status == "HELD"
    assert_consistent()


def test_sweep_is_idempotent(funded_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)[:1]
    at = hold.hold_expire_at
    assert services.expire_holds(now=at) == 2
    history = SeatStatusHistory.objects.count()
    assert services.expire_holds(now=at) == 0
    assert SeatStatusHistory.objects.count() == history


def test_sweep_leaves_paid_seats_alone(funded_fan, paid, concert_date, now):
    assert services.expire_holds(now=now + datetime.timedelta(days=1)) == 0
    assert Seat.objects.get(pk=paid.seat_id).status == "RESERVED"


def test_sweep_works_in_batches_with_a_constant_number_of_queries(
    make_fan, now, django_assert_max_num_queries, settings
):
    from tests import factories

    settings.MAX_SEATS_PER_USER = 4
    dates = [factories.ConcertDateFactory() for _ in range(2)]
    for date in dates:
        for first in range(1, 41, 4):
            services.hold_seats(user=make_fan(), concert_date=date, seat_numbers=range(first, first + 4), now=now)
    at = now + datetime.timedelta(seconds=settings.HOLD_SECONDS)

    # Three batches of 30 (30, 30, 20): a handful of statements per batch, not per seat.
    with django_assert_max_num_queries(3 * 8):
        assert services.expire_holds(now=at, batch_size=30) == 80

    assert not Seat.objects.filter(status="HELD").exists()
    assert Reservation.objects.filter(status="EXPIRED").count() == 80
    assert_consistent()


def test_a_sweep_with_an_earlier_clock_still_writes_history_in_order(funded_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1], now=now)
    # A caller whose clock lags behind the hold's own history row: the expiry row still sorts last.
    services.release_hold(reservation=hold, now=now - datetime.timedelta(seconds=5))
    assert_consistent()


def test_task_and_command_run_the_sweep(funded_fan, concert_date, now, capsys):
    past = now - datetime.timedelta(seconds=1000)
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1], now=past)
    assert tasks.expire_holds.name == "booking.tasks.expire_holds"
    assert tasks.expire_holds.apply().get() == 1

    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[2], now=past)
    call_command("expire_holds")
    assert "Expired 1 hold(s)." in capsys.readouterr().out
    assert not Seat.objects.filter(status="HELD").exists()
