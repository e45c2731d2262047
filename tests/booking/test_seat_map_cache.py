"""The seat grid every fan shares (booking.seat_map_cache): cached per date, seat version and language, dropped by
every kind of seat change, marking only each fan's own seats, and never a way to book a taken seat."""

import datetime
import re
import threading

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import override

from booking import seat_map_cache, seat_versions, services
from booking.exceptions import SeatTaken
from booking.models import Reservation
from tests import factories

pytestmark = pytest.mark.django_db


def statuses(rendered, user=None):
    """{seat number: css status} of the grid's HTML as `user` sees it."""
    html = rendered.html(user_id=user.pk if user is not None else None)
    return {int(number): status for status, number in re.findall(r'class="seat seat-(\w+)" data-seat="(\d+)"', html)}


@pytest.fixture
def warm(concert_date, django_assert_num_queries):
    """warm(): the date's grid, read into the cache and checked to come from it (no query) before a change."""

    def read_twice():
        seat_map_cache.rendered_grid(concert_date=concert_date)
        with django_assert_num_queries(0):
            return seat_map_cache.rendered_grid(concert_date=concert_date)

    return read_twice


def grid(concert_date, **kwargs):
    return seat_map_cache.rendered_grid(concert_date=concert_date, **kwargs)


# --- every kind of seat change drops the cached grid -------------------------------------------------


def test_a_hold_drops_the_cached_grid(make_fan, concert_date, warm):
    fan = make_fan()
    assert statuses(warm())[5] == "AVAILABLE"
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[5])
    assert statuses(grid(concert_date))[5] == "HELD"


def test_the_expiry_sweep_drops_the_cached_grid(make_fan, concert_date, warm, now):
    earlier = now - datetime.timedelta(seconds=settings.HOLD_SECONDS - 60)  # a hold with a minute left
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5], now=earlier)
    assert statuses(warm())[5] == "HELD"
    services.expire_holds(now=now + datetime.timedelta(minutes=2))
    assert statuses(grid(concert_date))[5] == "AVAILABLE"


def test_a_hold_that_runs_out_shows_free_before_any_sweep(make_fan, concert_date, warm):
    [hold] = services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    assert statuses(warm())[5] == "HELD"
    with time_machine.travel(hold.hold_expire_at + datetime.timedelta(milliseconds=1)):
        assert statuses(grid(concert_date))[5] == "AVAILABLE"


def test_a_payment_drops_the_cached_grid(funded_fan, concert_date, warm):
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[5])
    assert statuses(warm(), funded_fan)[5] == "MINE"
    services.pay(user=funded_fan, concert_date=concert_date, idempotency_key="k")
    rendered = grid(concert_date)
    assert (statuses(rendered)[5], statuses(rendered, funded_fan)[5]) == ("RESERVED", "MINE")
    assert rendered.grid.valid_until is None  # nothing held: nothing changes with time alone


def test_a_payment_refused_for_an_expired_hold_drops_the_cached_grid(funded_fan, concert_date, warm, now):
    services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[5], now=now)
    warm()
    later = now + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)
    with pytest.raises(Exception, match="expired|시간"):
        services.pay(user=funded_fan, concert_date=concert_date, idempotency_key="k", now=later)
    assert statuses(grid(concert_date, now=later))[5] == "AVAILABLE"


def test_a_fans_cancellation_drops_the_cached_grid(paid, concert_date, warm):
    assert statuses(warm())[1] == "RESERVED"
    services.cancel(user=paid.user, reservation=paid)
    assert statuses(grid(concert_date))[1] == "AVAILABLE"


def test_a_staff_refund_drops_the_cached_grid(paid, concert_date, warm):
    assert statuses(warm())[1] == "RESERVED"
    services.refund_and_cancel(reservation=paid)
    assert statuses(grid(concert_date))[1] == "AVAILABLE"


def test_a_staff_release_of_a_hold_drops_the_cached_grid(make_fan, concert_date, warm):
    [hold] = services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    assert statuses(warm())[5] == "HELD"
    services.release_hold(reservation=hold)
    assert statuses(grid(concert_date))[5] == "AVAILABLE"


def test_cancelling_the_date_and_its_refunds_drop_the_cached_grid(paid, make_fan, concert_date, warm):
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    before = warm()
    cancellation = services.cancel_concert_date(concert_date=concert_date, reason="storm", enqueue=False)
    assert grid(concert_date).version != before.version  # the mark alone already replaces the version
    services.end_reservations_of_cancelled_date(cancellation=cancellation)
    after = statuses(grid(concert_date))
    assert (after[1], after[5]) == ("AVAILABLE", "AVAILABLE")


def test_a_hold_on_another_date_leaves_this_dates_grid_cached(make_fan, concert_date, warm, django_assert_num_queries):
    other_date = factories.ConcertDateFactory(
        concert=concert_date.concert, starts_at=concert_date.starts_at + datetime.timedelta(days=1)
    )
    warm()
    services.hold_seats(user=make_fan(), concert_date=other_date, seat_numbers=[5])
    with django_assert_num_queries(0):
        grid(concert_date)


def test_a_grid_is_cached_per_language(concert_date, django_assert_num_queries):
    with override("ko"):
        korean = grid(concert_date).html(user_id=None)
    with override("en"):
        english = grid(concert_date).html(user_id=None)
        with django_assert_num_queries(0):
            assert grid(concert_date).html(user_id=None) == english
    assert "₩99,000" in english and "99,000원" in korean


def test_a_lost_version_key_is_never_matched_by_a_surviving_grid(make_fan, concert_date, warm):
    from django.core.cache import cache

    assert statuses(warm())[5] == "AVAILABLE"
    # Redis restarted or evicted the version while the grid survived, and the seat changed meanwhile.
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    cache.delete(seat_versions.version_key(concert_date.pk))
    assert statuses(grid(concert_date))[5] == "HELD"


def test_with_the_cache_off_every_read_comes_from_the_database(concert_date, settings, django_assert_num_queries):
    settings.SEAT_MAP_CACHE_SECONDS = 0
    grid(concert_date)
    with django_assert_num_queries(1):
        grid(concert_date)


# --- each fan sees their own seats, and only theirs --------------------------------------------------


def test_each_fan_sees_their_own_holds_and_tickets_and_nobody_elses(client, make_fan, concert_date, admit):
    alice, bob = make_fan(500_000), make_fan(500_000)
    services.hold_seats(user=alice, concert_date=concert_date, seat_numbers=[6])
    services.pay(user=alice, concert_date=concert_date, idempotency_key="a")
    services.hold_seats(user=alice, concert_date=concert_date, seat_numbers=[3])
    services.hold_seats(user=bob, concert_date=concert_date, seat_numbers=[4])
    seen = {}
    for fan in (alice, bob, alice):  # alice twice: the second map comes from the grid bob's visit cached
        admit(fan, concert_date.concert)
        client.force_login(fan)
        html = client.get(f"/dates/{concert_date.pk}/seats/").content.decode()
        seen[fan.email] = {
            int(n): s for s, n in re.findall(r'class="seat seat-(\w+)" data-seat="(\d+)"', html) if int(n) in (3, 4, 6)
        }
    assert seen[alice.email] == {3: "MINE", 4: "HELD", 6: "MINE"}
    assert seen[bob.email] == {3: "HELD", 4: "MINE", 6: "RESERVED"}


def test_the_fans_checked_seats_come_back_ticked_and_only_if_free(client, fan, concert_date, admitted, make_fan):
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[8])
    client.force_login(fan)
    client.get(f"/dates/{concert_date.pk}/seats/")  # caches the grid without a choice
    html = client.get(f"/dates/{concert_date.pk}/seats/?seats=7&seats=8").content.decode()
    checked = set(re.findall(r'name="seats" value="(\d+)"[^>]* checked', html))
    assert checked == {"7"}
    html = client.get(f"/dates/{concert_date.pk}/seats/").content.decode()
    assert not re.findall(r'name="seats" value="(\d+)"[^>]* checked', html)  # the choice is not cached


# --- what a seat map costs ---------------------------------------------------------------------------


def test_a_seat_map_from_the_cached_grid_reads_only_the_fan_and_the_date(
    fan_client, fan, concert_date, admitted, django_assert_num_queries
):
    url = f"/dates/{concert_date.pk}/seats/"
    fan_client.get(url)
    # The session and the fan (Django's own), the date with its concert and the admission's touch (the gate,
    # two on the database queue; none on Redis's); no seat.
    with django_assert_num_queries(5):
        assert fan_client.get(url).status_code == 200


def test_a_seat_map_after_a_change_reads_the_seats_once(
    fan_client, fan, concert_date, admitted, make_fan, django_assert_num_queries
):
    url = f"/dates/{concert_date.pk}/seats/"
    fan_client.get(url)
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[5])
    with django_assert_num_queries(6):  # the above and the seats, once
        assert fan_client.get(url).status_code == 200


# --- a hold racing a seat map read ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_grid_read_while_a_hold_commits_is_dropped_and_the_seat_cannot_be_booked_twice(make_fan, concert_date):
    """The reader sees the hold's first new version but the seats from before its commit, and caches them: the
    version replaced after the commit drops that grid, and the hold service refuses the seat anyway."""
    holder, late = make_fan(), make_fan()
    held, read = threading.Event(), threading.Event()
    seen = {}

    def hold_and_wait():
        try:
            with transaction.atomic():
                services.hold_seats(user=holder, concert_date=concert_date, seat_numbers=[5])
                held.set()  # the first new version is out, the hold is not committed yet
                assert read.wait(10)
        finally:
            connection.close()

    def read_meanwhile():
        try:
            assert held.wait(10)
            rendered = grid(concert_date)
            seen["during"] = statuses(rendered)[5]
            seen["version"] = rendered.version
        finally:
            read.set()
            connection.close()

    threads = [threading.Thread(target=hold_and_wait), threading.Thread(target=read_meanwhile)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert seen["during"] == "AVAILABLE"  # the race happened: read before the commit, under the new version
    after = grid(concert_date)
    assert after.version != seen["version"]
    assert statuses(after)[5] == "HELD"
    with pytest.raises(SeatTaken):  # a fan who saw the stale grid and clicks seat 5 is refused
        services.hold_seats(user=late, concert_date=concert_date, seat_numbers=[5])
    assert Reservation.objects.filter(seat__seat_number=5, seat__concert_date=concert_date).count() == 1


@pytest.mark.django_db(transaction=True)
def test_fans_reading_the_map_while_others_hold_never_see_a_taken_seat_free_after_the_hold(make_fan, concert_date):
    """Ten holds and a stream of map reads at once: once every hold has committed, the map shows every held
    seat as held, and no seat has two live reservations."""
    from tests.support.concurrency import run_at_once

    fans = [make_fan() for _ in range(10)]

    def hold(fan, number):
        return services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[number])

    def read_maps():
        for _ in range(20):
            grid(concert_date, now=timezone.now())

    outcomes = run_at_once(
        lambda job, *args: job(*args),
        [(hold, fan, 1 + index % 5) for index, fan in enumerate(fans)] + [(read_maps,)] * 3,
    )
    assert all(error is None or isinstance(error, SeatTaken) for _result, error in outcomes)
    assert {n for n, status in statuses(grid(concert_date)).items() if status == "HELD"} == {1, 2, 3, 4, 5}
    live = Reservation.objects.filter(seat__concert_date=concert_date, status=Reservation.Status.HOLD)
    assert sorted(live.values_list("seat__seat_number", flat=True)) == [1, 2, 3, 4, 5]


def test_the_title_and_prices_come_with_the_grid_and_follow_a_staff_change(
    fan_client, concert_date, admitted, django_capture_on_commit_callbacks
):
    from concerts import services as concert_services

    url = f"/dates/{concert_date.pk}/seats/"
    first = fan_client.get(url).content.decode()
    assert "Seoul Jazz Night" in first and "Olympic Hall" in first
    concert = concert_date.concert
    concert.venue = "Jamsil Arena"
    later = concert_date.starts_at.replace(hour=(concert_date.starts_at.hour + 1) % 24)
    with django_capture_on_commit_callbacks(execute=True):
        concert.save()
        concert_services.reschedule_concert_date(concert_date=concert_date, starts_at=later)
    page = fan_client.get(url).content.decode()  # no seat changed: the same seat version, a new head
    assert "Jamsil Arena" in page and "Olympic Hall" not in page


def test_the_price_list_shows_each_tier_of_the_date(fan_client, fan, admit):
    from concerts.pricing import PriceTier

    tiered = factories.ConcertDateFactory(
        tiers=[PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 50, 99_000)],
    )
    admit(fan, tiered.concert)
    for _ in range(2):  # rendered, then from the cache
        page = fan_client.get(f"/dates/{tiered.pk}/seats/").content.decode()
        assert "1–10번 좌석" in page and "11–50번 좌석" in page and "165,000원" in page


@pytest.mark.parametrize("language", ["ko", "en"])
def test_each_seat_reads_exactly_as_if_rendered_on_its_own(make_fan, concert_date, language):
    """The grid is put together from one rendering per (status, price) with the number filled in after: every
    seat, in every look, must come out as booking/_seat.html renders that seat by itself."""
    from django.template.loader import render_to_string

    from booking import selectors

    fan, other = make_fan(500_000), make_fan(500_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[3])
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[4, 44])
    services.pay(user=other, concert_date=concert_date, idempotency_key="o")
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[5])
    with override(language):
        html = grid(concert_date).html(user_id=fan.pk, checked=[7, 5])
        expected = "".join(
            render_to_string("booking/_seat.html", {"seat": entry, "checked": entry.number == 7})
            for entry in selectors.seat_map(concert_date=concert_date, user=fan)
        )
    assert html == expected
    assert seat_map_cache.NUMBER not in html
