"""A seat that comes back on a date whose waiting list has fans waiting goes to them, in list order: nobody else
can hold it in the moment before its offer is made (the offer job runs after the commit that freed it, the beat
sweep later still). Real threads against PostgreSQL."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from booking import selectors, services
from booking.exceptions import SeatsKeptForWaitlist
from booking.models import Reservation, WaitlistEntry, WaitlistOffer
from concerts.models import Seat
from tests.factories import ConcertDateFactory, UserFactory
from tests.support.checks import assert_consistent
from tests.support.concurrency import run_at_once
from tests.support.waitlist import hold_out, return_seats, sell_out, waiting_fans

pytestmark = pytest.mark.django_db(transaction=True)

waitlist = services.waitlist


@pytest.fixture
def offers_left_to_the_workers(monkeypatch):
    """Seats coming back queue no offer job: the window between a seat's return and its offer stays open."""
    monkeypatch.setattr(waitlist, "seats_returned", lambda concert_date_ids: None)


def test_a_returned_seat_cannot_be_held_by_another_fan_before_the_waiting_fan_is_offered_it(
    offers_left_to_the_workers,
):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    [waiting] = waiting_fans(date, 1, now=now)
    return_seats(sold, 12, now=now)
    outsider = UserFactory()

    with pytest.raises(SeatsKeptForWaitlist) as refused:
        services.hold_seats(user=outsider, concert_date=date, seat_numbers=[12], now=now)
    assert refused.value.status == 409
    with pytest.raises(SeatsKeptForWaitlist):
        services.hold_best_seats(user=outsider, concert_date=date, count=1, now=now)
    with pytest.raises(SeatsKeptForWaitlist):  # nor the fan waiting: their seat comes as an offer, in turn
        services.hold_seats(user=waiting, concert_date=date, seat_numbers=[12], now=now)
    assert not Reservation.objects.filter(user__in=[outsider, waiting]).exists()

    [offer] = waitlist.make_offers(concert_date=date, now=now)
    assert (offer.entry.user_id, offer.seat.seat_number) == (waiting.pk, 12)
    assert_consistent()


def test_a_hold_that_runs_out_on_a_date_with_fans_waiting_is_kept_for_them(offers_left_to_the_workers):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    return_seats(sold, 3, now=now)
    holder = UserFactory()
    services.hold_seats(user=holder, concert_date=date, seat_numbers=[3], now=now)  # nobody waits yet: allowed
    [waiting] = waiting_fans(date, 1, now=now)  # the date is sold out again (seat 3 held)
    later = now + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)  # the hold ran out, not swept yet

    with pytest.raises(SeatsKeptForWaitlist):
        services.hold_seats(user=UserFactory(), concert_date=date, seat_numbers=[3], now=later)

    [offer] = waitlist.make_offers(concert_date=date, now=later)
    assert (offer.entry.user_id, offer.seat.seat_number) == (waiting.pk, 3)
    assert_consistent()


def test_seats_beyond_the_waiting_fans_are_free_to_everyone_once_the_list_is_served(offers_left_to_the_workers):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    [waiting] = waiting_fans(date, 1, now=now)
    return_seats(sold, 4, 9, now=now)

    [offer] = waitlist.make_offers(concert_date=date, now=now)  # the lowest-numbered seat to the one fan waiting
    assert (offer.entry.user_id, offer.seat.seat_number) == (waiting.pk, 4)
    [held] = services.hold_seats(user=UserFactory(), concert_date=date, seat_numbers=[9], now=now)
    assert held.seat.seat_number == 9
    assert_consistent()


def test_a_fan_can_join_the_list_while_returned_seats_wait_for_their_offers(offers_left_to_the_workers):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    [first] = waiting_fans(date, 1, now=now)
    return_seats(sold, 7, now=now)
    second = UserFactory()

    later = now + datetime.timedelta(seconds=1)

    entry = waitlist.join_waitlist(user=second, concert_date=date, now=later)

    assert entry.status == WaitlistEntry.Status.WAITING
    place = selectors.waitlist_place(user=second, concert_date=date, now=later)
    assert (place.position, place.free_seats) == (2, 0)
    [offer] = waitlist.make_offers(concert_date=date, now=now)
    assert offer.entry.user_id == first.pk


def test_the_seat_map_shows_a_seat_kept_for_the_waiting_list_as_taken(offers_left_to_the_workers):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    waiting_fans(date, 1, now=now)
    return_seats(sold, 15, now=now)

    seats = {entry.number: entry for entry in selectors.seat_map(concert_date=date, user=UserFactory(), now=now)}

    assert not seats[15].is_available
    assert not any(entry.is_available for entry in seats.values())


def test_the_seat_map_frees_the_seats_when_the_last_waiting_fan_leaves(offers_left_to_the_workers):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    [waiting] = waiting_fans(date, 1, now=now)
    return_seats(sold, 15, now=now)
    fan = UserFactory()
    assert not {e.number: e for e in selectors.seat_map(concert_date=date, user=fan, now=now)}[15].is_available

    waitlist.leave_waitlist(user=waiting, concert_date=date, now=now)

    assert {e.number: e for e in selectors.seat_map(concert_date=date, user=fan, now=now)}[15].is_available
    services.hold_seats(user=fan, concert_date=date, seat_numbers=[15], now=now)


def test_fans_racing_the_offer_job_for_a_returned_seat_never_take_it_from_the_waiting_fan(offers_left_to_the_workers):
    """Eight admitted fans click the seat that just came back while the offer job runs: the first fan on the list
    gets it, every click is refused with the reason, and the seat is held once."""
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    first, second = waiting_fans(date, 2, now=now)
    return_seats(sold, 21, now=now)
    clickers = [UserFactory() for _ in range(8)]

    def act(who):
        if who is None:
            return waitlist.make_offers(concert_date=date)
        return services.hold_seats(user=who, concert_date=date, seat_numbers=[21])

    outcomes = run_at_once(act, [(None,)] + [(fan,) for fan in clickers])

    (made, job_error), *clicks = outcomes
    assert job_error is None
    assert [(o.entry.user_id, o.seat.seat_number) for o in made] == [(first.pk, 21)]
    assert all(isinstance(error, SeatsKeptForWaitlist) for _result, error in clicks), clicks
    assert not Reservation.objects.filter(user__in=clickers).exists()
    seat = Seat.objects.get(concert_date=date, seat_number=21)
    assert (seat.status, seat.held_by_id) == (Seat.Status.HELD, first.pk)
    assert WaitlistEntry.objects.get(user=second).status == WaitlistEntry.Status.WAITING
    assert WaitlistOffer.objects.filter(seat=seat).count() == 1
    assert_consistent()


# --- holds that ran out while the beat sweep is late --------------------------------------------------------------


def _held_out_and_run_out(waiting=1):
    """A date whose every seat was held (none paid) HOLD_SECONDS and a second ago, with fans who joined its list
    then: every hold has run out, and no sweep has freed one."""
    date = ConcertDateFactory()
    then = timezone.now() - datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)
    hold_out(date, now=then)
    return date, waiting_fans(date, waiting, now=then)


def test_a_hold_refused_for_the_list_has_the_holds_that_ran_out_offered_at_once_not_at_the_next_sweep():
    date, [waiting] = _held_out_and_run_out()

    with pytest.raises(SeatsKeptForWaitlist):
        services.hold_seats(user=UserFactory(), concert_date=date, seat_numbers=[30])

    # The refusal queued the date's offer job (RQ runs it at once in the tests): the first fan on the list has the
    # lowest-numbered seat whose hold ran out, e-mailed, and the other seats are anyone's again.
    [offer] = WaitlistOffer.objects.all()
    assert (offer.entry.user_id, offer.seat.seat_number, offer.emailed_at is not None) == (waiting.pk, 1, True)
    [held] = services.hold_best_seats(user=UserFactory(), concert_date=date, count=1)
    assert held.seat.seat_number != 1
    assert_consistent()


def test_a_pick_refused_for_the_list_has_the_holds_that_ran_out_offered_too():
    date, [waiting] = _held_out_and_run_out()
    with pytest.raises(SeatsKeptForWaitlist):
        services.hold_best_seats(user=UserFactory(), concert_date=date, count=2)
    assert [offer.entry.user_id for offer in WaitlistOffer.objects.all()] == [waiting.pk]


@pytest.mark.django_db(transaction=False)
def test_a_rush_of_refused_holds_queues_the_offer_job_once(django_capture_on_commit_callbacks):
    date, [waiting] = _held_out_and_run_out()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        for number in (30, 31, 32, 33, 34):
            with pytest.raises(SeatsKeptForWaitlist):
                services.hold_seats(user=UserFactory(), concert_date=date, seat_numbers=[number])
    jobs = [callback for callback in queued if callback.__name__ == "enqueue_offers"]
    assert len(jobs) == 1
    jobs[0]()  # the commit: RQ runs the job at once in the tests
    assert [offer.entry.user_id for offer in WaitlistOffer.objects.all()] == [waiting.pk]


@pytest.mark.django_db(transaction=False)
def test_a_refusal_with_no_hold_run_out_queues_nothing_of_its_own(
    offers_left_to_the_workers, django_capture_on_commit_callbacks
):
    date = ConcertDateFactory()
    sold = sell_out(date)
    waiting_fans(date, 1)
    return_seats(sold, 12)  # its own offer job is the refund's (left to the workers here), not the refusal's
    with django_capture_on_commit_callbacks(execute=False) as queued, pytest.raises(SeatsKeptForWaitlist):
        services.hold_seats(user=UserFactory(), concert_date=date, seat_numbers=[12])
    assert "enqueue_offers" not in [callback.__name__ for callback in queued]
