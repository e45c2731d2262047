"""Holds in a fan-club presale racing for its last seats, with real threads on PostgreSQL: together they never
pass the quota (the presale's row is locked after the fan and the date, before the seats), and a pick racing
plain holds neither deadlocks nor passes it."""

import pytest

from booking import services
from booking.exceptions import PresaleQuotaReached
from booking.models import Reservation
from tests.support.concurrency import run_at_once
from tests.support.presales import listed_fan, open_presale

pytestmark = pytest.mark.django_db(transaction=True)


def _live(presale):
    return Reservation.objects.filter(presale=presale, status__in=Reservation.LIVE_STATUSES).count()


def test_eight_fans_holding_at_once_get_exactly_the_five_seats_of_the_quota():
    presale = open_presale(quota=5)
    date = presale.concert.dates.get()
    fans = [listed_fan(presale) for _ in range(8)]
    outcomes = run_at_once(
        lambda fan, number: services.hold_seats(user=fan, concert_date=date, seat_numbers=[number]),
        [(fan, 10 + index) for index, fan in enumerate(fans)],
    )
    held = [result for result, error in outcomes if error is None]
    refused = [error for _result, error in outcomes if error is not None]
    assert len(held) == 5
    assert len(refused) == 3 and all(isinstance(error, PresaleQuotaReached) for error in refused)
    assert _live(presale) == 5


def test_picks_and_holds_racing_for_the_quota_never_pass_it():
    presale = open_presale(quota=6)
    date = presale.concert.dates.get()
    fans = [listed_fan(presale) for _ in range(6)]

    def take(fan, index):
        if index % 2:
            return services.hold_best_seats(user=fan, concert_date=date, count=2)
        return services.hold_seats(user=fan, concert_date=date, seat_numbers=[40 + index, 41 + index])

    outcomes = run_at_once(take, [(fan, index) for index, fan in enumerate(fans)])
    errors = [error for _result, error in outcomes if error is not None]
    assert all(isinstance(error, PresaleQuotaReached) for error in errors), errors
    assert len(errors) == 3  # 2 seats each, 6 in the quota: three fans get theirs
    assert _live(presale) == 6
