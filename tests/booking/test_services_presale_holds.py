"""Holding seats in a fan-club presale (booking.services.hold_seats and hold_best_seats): before the general sale,
the fans on the list of the presale open now hold within its quota; everyone else is told when the general sale
opens."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from booking import services
from booking.exceptions import PresaleQuotaReached, SaleNotOpen
from booking.models import Reservation
from config.refusals import RefusalCode
from tests.factories import UserFactory
from tests.support.presales import listed_fan, open_presale
from tests.support.sales import paid_fan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _date(presale):
    return presale.concert.dates.get()


def _hold(fan, presale, numbers, **kwargs):
    return services.hold_seats(user=fan, concert_date=_date(presale), seat_numbers=numbers, **kwargs)


def test_a_fan_on_the_list_holds_in_the_presale_and_the_reservations_say_so():
    presale = open_presale()
    held = _hold(listed_fan(presale), presale, [1, 2])
    assert [r.presale_id for r in held] == [presale.pk, presale.pk]
    assert all(r.presale_id == presale.pk for r in Reservation.objects.all())


def test_a_fan_not_on_the_list_is_told_when_the_general_sale_opens():
    presale = open_presale()
    with pytest.raises(SaleNotOpen) as refused:
        _hold(UserFactory(), presale, [1])
    assert refused.value.code == RefusalCode.SALE_NOT_OPEN
    assert "Only the fan-club presale is open now. The general sale opens at" in str(refused.value.message)
    assert not Reservation.objects.exists()


def test_outside_the_window_the_presale_lets_nobody_hold_before_the_general_sale():
    presale = open_presale()
    fan = listed_fan(presale)
    for moment in (presale.opens_at - datetime.timedelta(seconds=1), presale.closes_at):
        with pytest.raises(SaleNotOpen) as refused:
            _hold(fan, presale, [1], now=moment)
        assert str(refused.value.message) == "Sales for this concert have not opened yet."


def test_holds_never_pass_the_quota_and_the_refusal_says_how_many_are_left():
    presale = open_presale(quota=3)
    _hold(listed_fan(presale), presale, [1, 2])
    second = listed_fan(presale)
    with pytest.raises(PresaleQuotaReached) as refused:
        _hold(second, presale, [3, 4])
    assert str(refused.value.message) == "This presale has only 1 seat left. Choose fewer seats."
    assert refused.value.status == 409
    _hold(second, presale, [3])
    with pytest.raises(PresaleQuotaReached) as refused:
        _hold(listed_fan(presale), presale, [4])
    assert str(refused.value.message) == "This presale's seats are all taken. Please wait for the general sale."
    with pytest.raises(PresaleQuotaReached):
        services.hold_best_seats(user=listed_fan(presale), concert_date=_date(presale), count=1)


def test_a_hold_that_ran_out_gives_its_seat_back_to_the_quota_and_a_paid_seat_keeps_it():
    presale = open_presale(quota=2)
    paid_fan(concert_date=_date(presale), seats=[1], user=listed_fan(presale))
    lapsing = listed_fan(presale)
    [lapsed] = _hold(lapsing, presale, [2])
    later = lapsed.hold_expire_at + datetime.timedelta(seconds=1)
    with pytest.raises(PresaleQuotaReached):
        _hold(listed_fan(presale), presale, [3, 4], now=later)  # one left: the paid seat still counts
    [taken] = _hold(listed_fan(presale), presale, [3], now=later)
    assert taken.presale_id == presale.pk


def test_a_pick_in_the_presale_counts_against_the_quota():
    presale = open_presale(quota=2)
    picked = services.hold_best_seats(user=listed_fan(presale), concert_date=_date(presale), count=2)
    assert [r.presale_id for r in picked] == [presale.pk, presale.pk]
    with pytest.raises(PresaleQuotaReached):
        _hold(listed_fan(presale), presale, [40])


def test_a_pick_in_the_presale_checks_the_list_and_locks_the_quota_once():
    presale = open_presale(quota=4)
    with CaptureQueriesContext(connection) as picked:
        services.hold_best_seats(user=listed_fan(presale), concert_date=_date(presale), count=2)
    sql = [query["sql"] for query in picked.captured_queries]
    assert sum('FROM "concerts_presale"' in s and "FOR NO KEY UPDATE" in s for s in sql) == 1
    assert sum("FOR SHARE OF d" in s for s in sql) == 1


def test_once_the_general_sale_opens_holds_are_no_longer_the_presales():
    presale = open_presale(quota=1)
    _hold(listed_fan(presale), presale, [1])
    opening = presale.concert.sale_opens_at
    held = _hold(UserFactory(), presale, [2, 3], now=opening)
    assert [r.presale_id for r in held] == [None, None]
    assert settings.MAX_SEATS_PER_USER >= 2
