import datetime

import pytest

from booking import selectors, services

pytestmark = pytest.mark.django_db


def test_seat_map_shows_each_status_as_seen_now(make_fan, concert_date, now, django_assert_num_queries):
    fan, other = make_fan(500_000), make_fan(500_000)
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[1], now=now)  # HELD
    services.hold_seats(
        user=make_fan(), concert_date=concert_date, seat_numbers=[2], now=now - datetime.timedelta(minutes=10)
    )
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[3], now=now)  # MINE (held)
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[4], now=now)
    services.pay(user=other, concert_date=concert_date, idempotency_key="o", now=now)  # pays 1 and 4
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[6], now=now)
    services.pay(user=fan, concert_date=concert_date, idempotency_key="f", now=now)  # pays 3 and 6

    with django_assert_num_queries(1):
        seat_map = selectors.seat_map(concert_date=concert_date, user=fan, now=now)

    status = {entry.number: entry.status for entry in seat_map}
    assert len(seat_map) == 50 and [e.number for e in seat_map] == list(range(1, 51))
    assert (status[1], status[2], status[3], status[4], status[5], status[6]) == (
        "RESERVED",
        "AVAILABLE",  # expired hold
        "MINE",
        "RESERVED",
        "AVAILABLE",
        "MINE",
    )
    assert all(e.price == 99_000 for e in seat_map)


def test_seat_map_marks_live_holds_mine_with_their_expiry(make_fan, concert_date, now):
    fan, other = make_fan(), make_fan()
    [hold] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[7], now=now)
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[8], now=now)
    mine = {e.number: e for e in selectors.seat_map(concert_date=concert_date, user=fan, now=now)}
    theirs = {e.number: e for e in selectors.seat_map(concert_date=concert_date, user=other, now=now)}
    anonymous = {e.number: e for e in selectors.seat_map(concert_date=concert_date, user=None, now=now)}
    assert (mine[7].status, mine[7].hold_expire_at, mine[8].status) == ("MINE", hold.hold_expire_at, "HELD")
    assert (theirs[7].status, theirs[7].hold_expire_at, theirs[8].status) == ("HELD", None, "MINE")
    assert (anonymous[7].status, anonymous[8].status) == ("HELD", "HELD")
    # Once expired, even the holder sees the seat as available.
    after = hold.hold_expire_at
    assert selectors.seat_map(concert_date=concert_date, user=fan, now=after)[6].status == "AVAILABLE"


def test_live_holds_are_the_fans_unexpired_holds_of_the_date(make_fan, concert_date, now):
    fan = make_fan()
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[9, 4], now=now)
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5], now=now)
    holds = selectors.live_holds(user=fan, concert_date=concert_date, now=now)
    assert [h.seat.seat_number for h in holds] == [4, 9]
    assert selectors.live_holds(user=fan, concert_date=concert_date, now=holds[0].hold_expire_at) == []


def test_reservations_for_joins_everything_and_knows_the_cutoff(
    make_fan, concert_date, now, settings, django_assert_num_queries
):
    settings.CANCEL_CUTOFF_HOURS = 24
    fan = make_fan(500_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)
    first, second = services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now).reservations
    services.cancel(user=fan, reservation=second, now=now)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[3], now=now)  # a hold: not listed

    with django_assert_num_queries(3):  # the count, the page and its concerts' fee schedules
        reservations = selectors.reservations_for(user=fan, now=now)
        titles = [r.seat.concert_date.concert.title for r in reservations]

    assert titles == [concert_date.concert.title] * 2
    by_seat = {r.seat.seat_number: r for r in reservations}
    assert by_seat[1].cancellable and not by_seat[2].cancellable
    assert by_seat[1].cancel_deadline == concert_date.starts_at - datetime.timedelta(hours=24)
    assert (by_seat[1].cancel_fee.fee, by_seat[2].cancel_fee) == (0, None)  # booked today, a month before the show
    late = selectors.reservations_for(user=fan, now=by_seat[1].cancel_deadline)
    assert not any(r.cancellable for r in late)
    assert list(selectors.reservations_for(user=make_fan())) == []
