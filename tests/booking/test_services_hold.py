import datetime

import pytest

from booking import services
from booking.exceptions import (
    DateNotBookable,
    InvalidSeatSelection,
    SaleNotOpen,
    SeatLimitReached,
    SeatTaken,
)
from booking.models import Reservation
from concerts.models import ConcertDate, Seat, SeatStatusHistory
from tests import factories
from tests.support.checks import assert_consistent, seat_snapshot

pytestmark = pytest.mark.django_db


def test_hold_marks_seats_held_creates_reservations_and_history(funded_fan, concert_date, now, settings):
    reservations = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3, 1], now=now)

    expire_at = now + datetime.timedelta(seconds=settings.HOLD_SECONDS)
    assert [r.seat.seat_number for r in reservations] == [1, 3]
    assert all(r.status == Reservation.Status.HOLD and r.hold_expire_at == expire_at for r in reservations)
    seats = Seat.objects.filter(concert_date=concert_date, seat_number__in=[1, 3])
    assert {(s.status, s.held_by_id, s.hold_expire_at) for s in seats} == {(Seat.Status.HELD, funded_fan.pk, expire_at)}
    history = SeatStatusHistory.objects.filter(seat__in=seats, to_status=Seat.Status.HELD)
    expected = {(Seat.Status.AVAILABLE, funded_fan.pk, now)}
    assert {(h.from_status, h.changed_by_id, h.changed_at) for h in history} == expected
    assert history.count() == 2
    assert_consistent()


def test_all_or_nothing_when_one_seat_is_taken(make_fan, funded_fan, concert_date, now):
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[2], now=now)
    before = seat_snapshot(concert_date)

    with pytest.raises(SeatTaken) as exc:
        services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1, 2, 3], now=now)

    assert exc.value.seat_numbers == [2]
    assert "2" in str(exc.value.message)
    assert seat_snapshot(concert_date) == before


def test_reserved_seat_is_taken(paid, make_fan, concert_date, now):
    with pytest.raises(SeatTaken):
        services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[1], now=now)


def test_own_live_hold_cannot_be_held_again(funded_fan, concert_date, now):
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1], now=now)
    with pytest.raises(SeatTaken):
        services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1], now=now)
    assert Reservation.objects.filter(user=funded_fan).count() == 1


def test_expired_hold_is_available_and_its_reservation_expires(make_fan, funded_fan, concert_date, now, settings):
    other = make_fan()
    [old] = services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[5], now=now)
    later = old.hold_expire_at + datetime.timedelta(seconds=1)

    [new] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[5], now=later)

    old.refresh_from_db()
    assert old.status == Reservation.Status.EXPIRED and old.ended_at == later
    assert new.user_id == funded_fan.pk
    history = list(SeatStatusHistory.objects.filter(seat=new.seat).order_by("changed_at"))
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "AVAILABLE"),
        ("AVAILABLE", "HELD"),
        ("HELD", "AVAILABLE"),
        ("AVAILABLE", "HELD"),
    ]
    assert history[-1].changed_by_id == funded_fan.pk and history[-2].changed_by_id is None
    assert_consistent()


def test_hold_at_the_exact_expiry_instant_takes_the_seat(make_fan, funded_fan, concert_date, now):
    [old] = services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5], now=now)
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[5], now=old.hold_expire_at)
    assert Seat.objects.get(pk=old.seat_id).held_by_id == funded_fan.pk


def test_limit_counts_live_holds_and_paid_seats_per_date(paid, funded_fan, concert_date, now, settings):
    settings.MAX_SEATS_PER_USER = 4
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[2, 3], now=now)
    before = seat_snapshot(concert_date)

    with pytest.raises(SeatLimitReached) as exc:
        services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[4, 5], now=now)

    assert (exc.value.limit, exc.value.already) == (4, 3)
    assert seat_snapshot(concert_date) == before
    # The fourth seat is fine, and another date has its own limit.
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[4], now=now)
    other_date = factories.ConcertDateFactory(
        concert=concert_date.concert, concert_date=concert_date.concert_date + datetime.timedelta(days=1)
    )
    services.hold_seats(user=funded_fan, concert_date=other_date, seat_numbers=[1, 2, 3, 4], now=now)


def test_expired_holds_do_not_count_toward_the_limit(funded_fan, concert_date, now, settings):
    settings.MAX_SEATS_PER_USER = 2
    [old, _] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)
    later = old.hold_expire_at
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3, 4], now=later)
    assert_consistent()


def test_more_seats_than_the_limit_in_one_request(funded_fan, concert_date, now, settings):
    settings.MAX_SEATS_PER_USER = 4
    with pytest.raises(SeatLimitReached):
        services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1, 2, 3, 4, 5], now=now)
    assert not Reservation.objects.exists()


@pytest.mark.parametrize(
    "seat_numbers",
    [
        [],
        [0],
        [51],
        [-1],
        [1, 1],
        ["1", "1"],
        [1.5],
        [True],
        ["x"],
        ["²"],
        ["1e1"],
        [None],
        "12",
        7,
        None,
        ["99999999"],
        ["9" * 5000],
        [2**70],
        list(range(1, 200)),
    ],
)
def test_bad_seat_numbers_are_refused_and_change_nothing(funded_fan, concert_date, now, seat_numbers):
    before = seat_snapshot(concert_date)
    with pytest.raises(InvalidSeatSelection) as exc:
        services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=seat_numbers, now=now)
    assert str(exc.value.message)
    assert seat_snapshot(concert_date) == before


def test_seat_numbers_from_a_form_are_accepted(funded_fan, concert_date, now):
    reservations = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[" 7", "50"], now=now)
    assert [r.seat.seat_number for r in reservations] == [7, 50]


def test_past_date_is_refused(funded_fan, concert_date):
    after_show = concert_date.starts_at + datetime.timedelta(minutes=1)
    before = seat_snapshot(concert_date)
    with pytest.raises(DateNotBookable):
        services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[1], now=after_show)
    assert seat_snapshot(concert_date) == before


def test_sale_not_open_is_refused(funded_fan, now):
    concert = factories.ConcertFactory(sale_opens_at=now + datetime.timedelta(minutes=5))
    date = factories.ConcertDateFactory(concert=concert)
    with pytest.raises(SaleNotOpen) as exc:
        services.hold_seats(user=funded_fan, concert_date=date, seat_numbers=[1], now=now)
    assert str(exc.value.message)
    assert not Reservation.objects.exists()
    # At the opening instant it works.
    services.hold_seats(user=funded_fan, concert_date=date, seat_numbers=[1], now=concert.sale_opens_at)


def test_refusal_messages_follow_the_language_and_reasons_stay_english(make_fan, funded_fan, concert_date, now):
    from django.utils import translation

    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[2], now=now)
    with pytest.raises(SeatTaken) as exc:
        services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[2], now=now)

    with translation.override("ko"):
        assert "좌석" in str(exc.value.message)
    with translation.override("en"):
        assert str(exc.value.message) == "Seat 2 is no longer available. Please choose other seats."
    assert exc.value.reason == "Seat 2 is no longer available. Please choose other seats."


def test_a_cancelled_date_is_refused_even_through_a_stale_instance(funded_fan, concert_date, now):
    from booking.services import mark_date_cancelled
    from concerts.models import ConcertDate

    stale = ConcertDate.objects.get(pk=concert_date.pk)
    mark_date_cancelled(concert_date=concert_date, reason="storm", now=now)

    with pytest.raises(DateNotBookable) as exc:
        services.hold_seats(user=funded_fan, concert_date=stale, seat_numbers=[1], now=now)

    assert "cancelled" in exc.value.reason
    assert not Reservation.objects.exists()


def test_a_date_staff_moved_to_an_earlier_start_is_checked_again_under_the_lock(funded_fan, now):
    from concerts.services import reschedule_concert_date

    date = factories.ConcertDateFactory(starts_at=now + datetime.timedelta(hours=3))
    stale = ConcertDate.objects.select_related("concert").get(pk=date.pk)  # what the request read
    reschedule_concert_date(concert_date=date, starts_at=now - datetime.timedelta(minutes=5))

    with pytest.raises(DateNotBookable):
        services.hold_seats(user=funded_fan, concert_date=stale, seat_numbers=[1], now=now)
    assert not Reservation.objects.exists()
