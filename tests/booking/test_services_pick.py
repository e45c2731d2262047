"""The seat picker ("Pick the best seats for me", booking.services.hold_best_seats over booking.seat_rows): which
seats it takes on crafted layouts (ties, gaps, the aisle, price tiers, nothing that fits), that it holds them like
any hold, and that fans picking at once never get the same seat (real threads on PostgreSQL)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import seat_rows, services
from booking.exceptions import (
    DateNotBookable,
    InvalidSeatSelection,
    NoSeatsTogether,
    SaleNotOpen,
    SeatLimitReached,
)
from booking.models import Reservation
from concerts.models import Seat, SeatStatusHistory
from concerts.pricing import PriceTier
from tests import factories
from tests.support.checks import assert_consistent, seat_snapshot
from tests.support.concurrency import run_at_once

pytestmark = pytest.mark.django_db

TIERS = [PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 30, 132_000), PriceTier("S", 31, 50, 99_000)]


def held_numbers(reservations):
    return [reservation.seat.seat_number for reservation in reservations]


def take(concert_date, numbers, now=None):
    """Another fan holds these seats (one hold each, so no seat limit gets in the way)."""
    for number in numbers:
        services.hold_seats(user=factories.UserFactory(), concert_date=concert_date, seat_numbers=[number], now=now)


def pick(fan, concert_date, count, price=None, now=None):
    return held_numbers(
        services.hold_best_seats(user=fan, concert_date=concert_date, count=count, price=price, now=now)
    )


# --- the choice, on the layout alone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, [5]), (2, [4, 5]), (3, [3, 4, 5]), (4, [2, 3, 4, 5]), (5, [1, 2, 3, 4, 5])],
)
def test_in_an_empty_hall_the_best_block_is_in_the_front_row_against_the_aisle_on_its_left(count, expected):
    # Two blocks as near the middle (4-5 and 6-7 for two) tie: the lower numbers, left of the aisle, win.
    free = dict.fromkeys(range(1, 51), 99_000)
    assert seat_rows.best_block(free, count=count, seats=50).numbers == expected


def test_seats_either_side_of_the_aisle_or_a_row_s_end_are_not_side_by_side():
    free = dict.fromkeys([5, 6, 10, 11, 12], 99_000)  # 5|6 across the aisle, 10|11 across two rows
    assert seat_rows.best_block(free, count=2, seats=50).numbers == [11, 12]
    assert seat_rows.best_block(dict.fromkeys([5, 6, 10, 11], 1), count=2, seats=50) is None
    assert seat_rows.best_block(dict.fromkeys(range(1, 51), 1), count=6, seats=50) is None  # 5 a side at most


def test_a_row_of_fewer_seats_at_the_end_of_the_hall_still_counts_its_places_from_the_left():
    free = dict.fromkeys([41, 42, 43, 47, 48], 1)  # a date of 48 seats: its last row has 8
    assert seat_rows.best_block(free, count=2, seats=48).numbers == [47, 48]  # off centre 2, against 41-42's 3.5


# --- through the service ------------------------------------------------------------------------------


def test_the_pick_holds_like_a_hold_and_writes_its_history(make_fan, concert_date):
    fan = make_fan()
    reservations = services.hold_best_seats(user=fan, concert_date=concert_date, count=2)
    assert held_numbers(reservations) == [4, 5]
    assert all(r.status == Reservation.Status.HOLD and r.user_id == fan.pk for r in reservations)
    seats = Seat.objects.filter(concert_date=concert_date, seat_number__in=[4, 5])
    assert {(s.status, s.held_by_id) for s in seats} == {(Seat.Status.HELD, fan.pk)}
    assert (
        SeatStatusHistory.objects.filter(
            seat__in=seats, to_status=Seat.Status.HELD, reason=SeatStatusHistory.Reason.HELD
        ).count()
        == 2
    )
    assert_consistent()


def test_a_tie_goes_to_the_left_and_a_taken_seat_moves_the_pick_across_the_aisle(make_fan, concert_date):
    take(concert_date, [4])
    assert pick(make_fan(), concert_date, 2) == [6, 7]  # 6-7 is as near the middle as 4-5 was
    assert pick(make_fan(), concert_date, 2) == [2, 3]  # then 2-3 and 8-9 tie: the left one
    assert pick(make_fan(), concert_date, 2) == [8, 9]


def test_gaps_in_the_front_row_send_the_pick_to_the_next_row(make_fan, concert_date):
    take(concert_date, [2, 4, 6, 8, 10])  # row 1 free: 1, 3, 5, 7, 9: nothing side by side
    assert pick(make_fan(), concert_date, 2) == [14, 15]
    assert pick(make_fan(), concert_date, 1) == [5]  # one seat still fits in front


def test_a_price_tier_picks_among_its_own_seats_and_any_price_among_all(make_fan):
    concert_date = factories.ConcertDateFactory(tiers=TIERS)
    assert pick(make_fan(), concert_date, 2, price=99_000) == [34, 35]
    assert pick(make_fan(), concert_date, 3, price=132_000) == [13, 14, 15]
    assert pick(make_fan(), concert_date, 2) == [4, 5]
    assert {r.price for r in Reservation.objects.filter(seat__seat_number__in=[34, 35])} == {99_000}


def test_a_block_never_mixes_prices_when_a_price_is_asked(make_fan):
    concert_date = factories.ConcertDateFactory(
        tiers=[PriceTier("A", 1, 3, 50_000), PriceTier("B", 4, 50, 40_000)]
    )  # 1-3 at 50,000: no two of them are as near the middle as 4-5
    take(concert_date, range(4, 11))
    assert pick(make_fan(), concert_date, 2, price=50_000) == [2, 3]


def test_when_nothing_fits_the_pick_is_refused_and_nothing_changes(make_fan):
    concert_date = factories.ConcertDateFactory(tiers=TIERS)
    take(concert_date, [2, 4, 6, 8, 10])  # the VIP row has no two free side by side
    before = seat_snapshot(concert_date)
    fan = make_fan()
    with pytest.raises(NoSeatsTogether) as refused:
        services.hold_best_seats(user=fan, concert_date=concert_date, count=2, price=165_000)
    assert (refused.value.status, refused.value.code) == (409, "no_seats_together")
    assert refused.value.reason == (
        "No 2 free seats at ₩165,000 are side by side any more. Nothing was held: ask for fewer seats or another "
        "price, or choose seats on the map."
    )
    assert seat_snapshot(concert_date) == before
    assert not Reservation.objects.filter(user=fan).exists()
    assert pick(fan, concert_date, 1, price=165_000) == [5]  # one still fits


def test_a_sold_out_date_refuses_a_single_seat_too(make_fan, concert_date, settings):
    settings.MAX_SEATS_PER_USER = 50
    take(concert_date, range(1, 51))
    with pytest.raises(NoSeatsTogether) as refused:
        services.hold_best_seats(user=make_fan(), concert_date=concert_date, count=1)
    assert refused.value.reason == "No seat is free any more. Nothing was held."


def test_a_hold_that_ran_out_counts_as_free(make_fan, concert_date):
    now = timezone.now()
    take(concert_date, [4, 5], now=now - datetime.timedelta(seconds=301))
    assert pick(make_fan(), concert_date, 2, now=now) == [4, 5]
    assert set(Reservation.objects.filter(seat__seat_number__in=[4, 5]).values_list("status", flat=True)) == {
        Reservation.Status.EXPIRED,
        Reservation.Status.HOLD,
    }
    assert_consistent()


def test_a_pick_costs_the_queries_of_a_hold_of_the_same_seats_each_check_and_lock_once(make_fan, concert_date):
    # The pick's read of the free seats takes the place of the hold's read of the seats asked for: the fan's row,
    # the date's share lock and the fan's seat count are taken once, not again by a second hold inside the pick.
    with CaptureQueriesContext(connection) as held:
        services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[20, 21])
    with CaptureQueriesContext(connection) as picked:
        assert pick(make_fan(), concert_date, 2) == [4, 5]
    assert len(picked) == len(held)
    sql = [query["sql"] for query in picked.captured_queries]
    assert sum('FROM "accounts_user"' in s and "FOR NO KEY UPDATE" in s for s in sql) == 1
    assert sum("FOR SHARE OF d" in s for s in sql) == 1
    assert sum('COUNT(*) AS "__count" FROM "booking_reservation"' in s for s in sql) == 1


@pytest.mark.parametrize("count", [0, -1, 5, True, "2"])
def test_a_count_it_cannot_pick_is_a_400_saying_how_many_it_can(make_fan, concert_date, count):
    with pytest.raises(InvalidSeatSelection) as refused:
        services.hold_best_seats(user=make_fan(), concert_date=concert_date, count=count)
    assert refused.value.status == 400
    assert refused.value.reason == "Ask for 1 to 4 seats side by side."


def test_a_price_no_seat_has_is_a_400(make_fan, concert_date):
    with pytest.raises(InvalidSeatSelection) as refused:
        services.hold_best_seats(user=make_fan(), concert_date=concert_date, count=1, price=1)
    assert refused.value.reason == "No seat of this date has that price. Choose one of the prices listed."


def test_the_seat_limit_counts_the_fans_seats_already_held(make_fan, concert_date):
    fan = make_fan()
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[20, 30, 40])
    with pytest.raises(SeatLimitReached):
        services.hold_best_seats(user=fan, concert_date=concert_date, count=2)
    assert pick(fan, concert_date, 1) == [5]


def test_a_cancelled_started_or_unopened_date_is_refused(make_fan, concert_date):
    fan = make_fan()
    services.mark_date_cancelled(concert_date=concert_date, by=factories.StaffFactory(), reason="storm")
    concert_date.refresh_from_db()
    with pytest.raises(DateNotBookable):
        services.hold_best_seats(user=fan, concert_date=concert_date, count=1)
    later = factories.ConcertDateFactory(
        concert=factories.ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(days=1))
    )
    with pytest.raises(SaleNotOpen):
        services.hold_best_seats(user=fan, concert_date=later, count=1)


# --- fans picking at once -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ten_fans_picking_at_once_get_ten_different_blocks_the_ten_best(make_fan, concert_date):
    fans = [make_fan() for _ in range(10)]
    outcomes = run_at_once(lambda fan: pick(fan, concert_date, 2), [(fan,) for fan in fans])
    assert [error for _result, error in outcomes if error is not None] == []
    blocks = [tuple(result) for result, _error in outcomes]
    assert len({n for block in blocks for n in block}) == 20  # no seat twice
    # Each took the best block left when its turn came: together, the ten best blocks of two.
    free, best = dict.fromkeys(range(1, 51), 99_000), []
    for _ in range(10):
        block = seat_rows.best_block(free, count=2, seats=50)
        best.append(tuple(block.numbers))
        for number in block.numbers:
            del free[number]
    assert sorted(blocks) == sorted(best)
    assert Seat.objects.filter(concert_date=concert_date, status=Seat.Status.HELD).count() == 20
    assert_consistent()


@pytest.mark.django_db(transaction=True)
def test_more_fans_than_blocks_picking_at_once_each_block_goes_once_and_the_rest_are_refused(
    make_fan, concert_date, settings
):
    settings.MAX_SEATS_PER_USER = 5
    fans = [make_fan() for _ in range(12)]  # 50 seats are ten sides of five
    outcomes = run_at_once(lambda fan: pick(fan, concert_date, 5), [(fan,) for fan in fans])
    won = [result for result, error in outcomes if error is None]
    refused = [error for _result, error in outcomes if error is not None]
    assert len(won) == 10 and len(refused) == 2
    assert all(isinstance(error, NoSeatsTogether) for error in refused), refused
    assert sorted(n for block in won for n in block) == list(range(1, 51))
    assert_consistent()


@pytest.mark.django_db(transaction=True)
def test_a_pick_racing_plain_holds_never_deadlocks_nor_takes_their_seats(make_fan, concert_date):
    picker, others = make_fan(), [make_fan() for _ in range(4)]
    plain = [[4, 5], [5, 6], [3, 4, 7], [1, 2, 9, 10]]

    def work(fan, numbers):
        if numbers is None:
            return pick(fan, concert_date, 2)
        return held_numbers(services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=numbers))

    outcomes = run_at_once(work, [(picker, None)] + list(zip(others, plain, strict=True)))
    taken = [n for result, error in outcomes if error is None for n in result]
    assert len(taken) == len(set(taken))
    assert outcomes[0][1] is None  # the picker always finds two seats side by side somewhere
    assert_consistent()
