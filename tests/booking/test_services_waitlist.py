"""The waiting list of a sold-out date (booking.services.waitlist): joining and leaving, offers of returned seats
in list order, the offer as a hold for the fan until it runs out, and what happens to an offer not used."""

import datetime
import uuid

import pytest
from django.conf import settings
from django.core import mail

from booking import services
from booking.exceptions import (
    DateNotBookable,
    HoldExpired,
    OfferExpired,
    OfferLinkInvalid,
    SeatLimitReached,
    SeatTaken,
    WaitlistNotNeeded,
)
from booking.models import Reservation, WaitlistEntry, WaitlistOffer
from concerts.models import Seat, SeatStatusHistory
from tests.support.checks import assert_consistent
from tests.support.waitlist import return_seats, sell_out, waiting_fans

pytestmark = pytest.mark.django_db

waitlist = services.waitlist
WAITING, OFFERED = WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED
OFFER_TIME = datetime.timedelta(seconds=settings.OFFER_SECONDS)


@pytest.fixture
def sold_out(concert_date, now):
    return sell_out(concert_date, now=now)


def _later(now, seconds):
    return now + datetime.timedelta(seconds=seconds)


# --- joining and leaving --------------------------------------------------------------------------------------


def test_a_fan_joins_a_sold_out_dates_list_once_and_joining_again_gives_the_same_place(
    make_fan, concert_date, sold_out, now
):
    fan = make_fan()
    entry = waitlist.join_waitlist(user=fan, concert_date=concert_date, language="en", now=now)
    again = waitlist.join_waitlist(user=fan, concert_date=concert_date, now=_later(now, 5))
    assert again.pk == entry.pk and again.joined_at == now
    assert entry.status == WAITING and entry.language == "en"
    assert WaitlistEntry.objects.filter(user=fan).count() == 1


def test_a_date_with_a_free_seat_has_no_list_to_join(make_fan, concert_date, sold_out, now):
    return_seats(sold_out, 9, now=now)
    with pytest.raises(WaitlistNotNeeded) as refused:
        waitlist.join_waitlist(user=make_fan(), concert_date=concert_date, now=now)
    assert refused.value.status == 409
    assert not WaitlistEntry.objects.exists()


def test_a_hold_that_ran_out_is_a_free_seat_too(make_fan, concert_date, sold_out, now):
    return_seats(sold_out, 9, now=now)
    services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[9], now=now)
    assert waitlist.join_waitlist(user=make_fan(), concert_date=concert_date, now=now)  # sold out while it lasts
    waitlist.leave_waitlist(user=WaitlistEntry.objects.get().user, concert_date=concert_date, now=now)
    after_hold = _later(now, settings.HOLD_SECONDS + 1)
    with pytest.raises(WaitlistNotNeeded):  # nobody waits: the seat is anyone's to hold
        waitlist.join_waitlist(user=make_fan(), concert_date=concert_date, now=after_hold)


def test_a_fan_with_the_most_seats_already_cannot_join(concert_date, sold_out, now):
    holder = sold_out[1].user
    with pytest.raises(SeatLimitReached):
        waitlist.join_waitlist(user=holder, concert_date=concert_date, now=now)


def test_a_cancelled_date_has_no_list(make_fan, concert_date, sold_out, now):
    services.mark_date_cancelled(concert_date=concert_date, reason="storm", now=now)
    with pytest.raises(DateNotBookable):
        waitlist.join_waitlist(user=make_fan(), concert_date=concert_date, now=now)


def test_leaving_ends_the_entry_and_a_fan_who_comes_back_joins_at_the_end(make_fan, concert_date, sold_out, now):
    first, second = waiting_fans(concert_date, 2, now=now)
    left = waitlist.leave_waitlist(user=first, concert_date=concert_date, now=_later(now, 1))
    assert left.status == WaitlistEntry.Status.LEFT and left.ended_at == _later(now, 1)
    assert waitlist.leave_waitlist(user=first, concert_date=concert_date, now=_later(now, 2)) is None
    back = waitlist.join_waitlist(user=first, concert_date=concert_date, now=_later(now, 3))
    assert back.pk != left.pk
    from booking import selectors

    assert selectors.waitlist_place(user=first, concert_date=concert_date, now=_later(now, 3)).position == 2
    assert selectors.waitlist_place(user=second, concert_date=concert_date, now=_later(now, 3)).position == 1


def test_a_fans_place_counts_the_fans_waiting_once_and_that_count_keeps_the_returned_seats_for_them(
    make_fan, concert_date, sold_out, now, django_assert_num_queries
):
    from booking import selectors

    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 9, now=now)  # its offer not made yet: kept for the list, so no seat is free
    with django_assert_num_queries(3):  # the fan's entry, the fans ahead, the fans waiting: no second probe
        place = selectors.waitlist_place(user=second, concert_date=concert_date, now=now)
    assert (place.position, place.waiting, place.free_seats) == (2, 2, 0)
    for fan in (first, second):
        waitlist.leave_waitlist(user=fan, concert_date=concert_date, now=now)
    with django_assert_num_queries(3):  # the fan's entry (none), the fans waiting (none), the free seats
        place = selectors.waitlist_place(user=first, concert_date=concert_date, now=now)
    assert (place.position, place.waiting, place.free_seats) == (None, 0, 1)


# --- offers -------------------------------------------------------------------------------------------------------


def test_a_returned_seat_is_held_for_the_first_fan_on_the_list_until_the_offer_runs_out(concert_date, sold_out, now):
    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=_later(now, 10))
    at = _later(now, 11)

    [offer] = waitlist.make_offers(concert_date=concert_date, now=at)

    assert offer.entry.user_id == first.pk and offer.seat.seat_number == 17
    assert offer.status == WaitlistOffer.Status.OPEN and offer.expires_at == at + OFFER_TIME
    seat = Seat.objects.get(pk=offer.seat_id)
    assert (seat.status, seat.held_by_id, seat.hold_expire_at) == (Seat.Status.HELD, first.pk, at + OFFER_TIME)
    hold = Reservation.objects.get(pk=offer.reservation_id)
    assert (hold.user_id, hold.status, hold.hold_expire_at) == (first.pk, Reservation.Status.HOLD, at + OFFER_TIME)
    assert (
        SeatStatusHistory.objects.filter(seat=seat).latest("changed_at").reason
        == SeatStatusHistory.Reason.WAITLIST_OFFERED
    )
    assert WaitlistEntry.objects.get(user=first).status == OFFERED
    assert WaitlistEntry.objects.get(user=second).status == WAITING
    assert waitlist.make_offers(concert_date=concert_date, now=_later(now, 12)) == []  # once
    assert_consistent()


def test_nobody_else_can_take_the_offered_seat_while_the_offer_runs(make_fan, concert_date, sold_out, now, admit):
    waiting_fans(concert_date, 1, now=now)
    return_seats(sold_out, 17, now=now)
    waitlist.make_offers(concert_date=concert_date, now=now)
    with pytest.raises(SeatTaken):
        services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[17], now=_later(now, 599))


def test_several_returned_seats_go_to_the_fans_in_list_order_one_seat_each(concert_date, sold_out, now):
    fans = waiting_fans(concert_date, 4, now=now)
    return_seats(sold_out, 30, 5, 12, now=now)

    offers = waitlist.make_offers(concert_date=concert_date, now=_later(now, 1))

    assert [(o.entry.user_id, o.seat.seat_number) for o in offers] == [
        (fans[0].pk, 5),
        (fans[1].pk, 12),
        (fans[2].pk, 30),
    ]
    assert WaitlistEntry.objects.get(user=fans[3]).status == WAITING
    assert_consistent()


def test_an_offer_not_used_in_time_passes_to_the_next_fan(concert_date, sold_out, now):
    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)

    after = offer.expires_at + datetime.timedelta(seconds=1)
    [passed_on] = waitlist.make_offers(concert_date=concert_date, now=after)

    offer.refresh_from_db()
    assert (offer.status, offer.ended_at) == (WaitlistOffer.Status.EXPIRED, after)
    assert WaitlistEntry.objects.get(user=first).status == WaitlistEntry.Status.PASSED
    assert Reservation.objects.get(pk=offer.reservation_id).status == Reservation.Status.EXPIRED
    assert passed_on.entry.user_id == second.pk and passed_on.seat_id == offer.seat_id
    assert Seat.objects.get(pk=offer.seat_id).held_by_id == second.pk
    assert_consistent()


def test_the_expiry_sweep_frees_an_offer_that_ran_out_and_the_offer_job_passes_it_on(
    concert_date, sold_out, now, django_capture_on_commit_callbacks
):
    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.expire_holds(now=offer.expires_at + datetime.timedelta(seconds=1))
    assert [c.__name__ for c in queued].count("enqueue_offers") == 1
    assert WaitlistOffer.objects.get(pk=offer.pk).status == WaitlistOffer.Status.OPEN  # not settled until the job


def test_a_fan_who_leaves_lets_the_offered_seat_go_to_the_next_fan(concert_date, sold_out, now):
    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)

    entry = waitlist.leave_waitlist(user=first, concert_date=concert_date, now=_later(now, 5))

    offer.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT and offer.status == WaitlistOffer.Status.DECLINED
    hold = Reservation.objects.get(pk=offer.reservation_id)
    assert (hold.status, hold.end_reason) == (Reservation.Status.CANCELLED, Reservation.EndReason.OFFER_DECLINED)
    [next_offer] = waitlist.make_offers(concert_date=concert_date, now=_later(now, 6))
    assert next_offer.entry.user_id == second.pk and next_offer.seat_id == offer.seat_id
    assert_consistent()


def test_letting_an_ended_offer_go_from_an_old_tab_changes_nothing_of_the_fans_current_entry_or_offer(
    concert_date, sold_out, now
):
    fan, other = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=now)
    [old] = waitlist.make_offers(concert_date=concert_date, now=now)
    later = _later(now, settings.OFFER_SECONDS + 1)
    [passed_on] = waitlist.make_offers(concert_date=concert_date, now=later)  # the old offer ran out
    assert passed_on.entry.user_id == other.pk
    entry = waitlist.join_waitlist(user=fan, concert_date=concert_date, now=later)  # the fan joins again

    returned = waitlist.decline_offer(user=fan, offer=old, now=_later(later, 1))  # "Let it go" in an old tab
    assert returned.status == WaitlistOffer.Status.EXPIRED
    entry.refresh_from_db()
    assert entry.status == WAITING  # still on the list

    return_seats(sold_out, 9, now=_later(later, 2))
    [newer] = waitlist.make_offers(concert_date=concert_date, now=_later(later, 2))
    assert newer.entry_id == entry.pk
    returned = waitlist.decline_offer(user=fan, offer=old, now=_later(later, 3))
    assert returned.status == WaitlistOffer.Status.EXPIRED
    newer.refresh_from_db()
    assert newer.status == WaitlistOffer.Status.OPEN  # the newer offer is not declined
    assert Reservation.objects.get(pk=newer.reservation_id).status == Reservation.Status.HOLD
    assert Seat.objects.get(pk=newer.seat_id).status == Seat.Status.HELD
    assert_consistent()


def test_letting_the_open_offer_go_declines_it(concert_date, sold_out, now):
    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)
    declined = waitlist.decline_offer(user=first, offer=offer, now=_later(now, 5))
    assert declined.status == WaitlistOffer.Status.DECLINED
    assert WaitlistEntry.objects.get(pk=offer.entry_id).status == WaitlistEntry.Status.LEFT
    [next_offer] = waitlist.make_offers(concert_date=concert_date, now=_later(now, 6))
    assert next_offer.entry.user_id == second.pk
    with pytest.raises(OfferLinkInvalid):
        waitlist.decline_offer(user=first, offer=next_offer, now=_later(now, 7))
    assert_consistent()


@pytest.mark.parametrize("freed_by", ["staff release", "expiry sweep"])
def test_an_offers_hold_freed_after_the_settling_is_settled_before_its_seat_is_offered_again(
    concert_date, sold_out, now, monkeypatch, freed_by
):
    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)
    settle = waitlist.settle_offers
    # Staff release the hold of an offer still running; or the offer runs out and the sweep frees it.
    later = _later(now, 5) if freed_by == "staff release" else _later(now, settings.OFFER_SECONDS + 1)

    def settle_then_free(*, concert_date, now):  # the race: the hold is freed between the settling and the loop
        settled = settle(concert_date=concert_date, now=_later(offer.offered_at, 5))  # nothing stale yet
        if freed_by == "staff release":
            services.release_hold(reservation=Reservation.objects.get(pk=offer.reservation_id), now=later)
        else:
            assert services.expire_holds(now=later) == 1
        assert Seat.objects.get(pk=offer.seat_id).status == Seat.Status.AVAILABLE
        return settled

    monkeypatch.setattr(waitlist, "settle_offers", settle_then_free)
    [again] = waitlist.make_offers(concert_date=concert_date, now=later)

    assert again.entry.user_id == second.pk and again.seat_id == offer.seat_id
    offer.refresh_from_db()
    expected = WaitlistOffer.Status.WITHDRAWN if freed_by == "staff release" else WaitlistOffer.Status.EXPIRED
    assert offer.status == expected
    assert_consistent()


def test_accepting_keeps_the_offers_expiry_and_the_fan_pays_it_at_checkout(concert_date, sold_out, now, top_up):
    [fan] = waiting_fans(concert_date, 1, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)

    hold = waitlist.accept_offer(user=fan, offer=offer, now=_later(now, 30))
    again = waitlist.accept_offer(user=fan, offer=offer, now=_later(now, 31))

    assert hold.pk == again.pk == offer.reservation_id and hold.hold_expire_at == offer.expires_at
    offer.refresh_from_db()
    assert (offer.status, offer.accepted_at) == (WaitlistOffer.Status.ACCEPTED, _later(now, 30))
    top_up(fan, 200_000)
    result = services.pay(user=fan, concert_date=concert_date, idempotency_key="offer", now=_later(now, 40))
    assert [r.seat.seat_number for r in result.reservations] == [17]
    assert waitlist.settle_offers(concert_date=concert_date, now=_later(now, 41)) == 1
    offer.refresh_from_db()
    assert (offer.status, offer.ended_at) == (WaitlistOffer.Status.PAID, _later(now, 40))
    assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.BOOKED
    assert_consistent()


def test_an_offer_cannot_be_taken_up_or_paid_after_it_ran_out(concert_date, sold_out, now, top_up):
    [fan] = waiting_fans(concert_date, 1, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)
    after = offer.expires_at + datetime.timedelta(seconds=1)
    with pytest.raises(OfferExpired) as refused:
        waitlist.accept_offer(user=fan, offer=offer, now=after)
    assert refused.value.status == 410
    top_up(fan, 200_000)
    with pytest.raises(HoldExpired):
        services.pay(user=fan, concert_date=concert_date, idempotency_key="late", now=after)


def test_another_fans_offer_is_not_theirs_to_take(make_fan, concert_date, sold_out, now):
    waiting_fans(concert_date, 1, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)
    with pytest.raises(OfferLinkInvalid) as refused:
        waitlist.accept_offer(user=make_fan(), offer=offer, now=now)
    assert refused.value.status == 404
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.OPEN


def test_a_fan_who_has_the_most_seats_when_their_turn_comes_is_passed_over(
    concert_date, sold_out, now, make_fan, settings
):
    # The first fan joined with seats of their own while the limit allowed one more; the operator lowered it since.
    first = sold_out[1].user
    settings.MAX_SEATS_PER_USER += 1
    waitlist.join_waitlist(user=first, concert_date=concert_date, now=now)
    [second] = waiting_fans(concert_date, 1, now=_later(now, 1))
    settings.MAX_SEATS_PER_USER -= 1
    return_seats(sold_out, 20, now=now)

    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)

    assert offer.entry.user_id == second.pk
    assert WaitlistEntry.objects.get(user=first).status == WaitlistEntry.Status.CLOSED


def test_a_cancelled_dates_list_is_closed_and_its_open_offer_withdrawn(concert_date, sold_out, now):
    first, second = waiting_fans(concert_date, 2, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)
    cancellation = services.cancel_concert_date(concert_date=concert_date, reason="storm", enqueue=False, now=now)
    services.end_reservations_of_cancelled_date(cancellation=cancellation)

    assert waitlist.make_offers(concert_date=concert_date, now=_later(now, 1)) == []

    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.WITHDRAWN
    assert WaitlistEntry.objects.get(user=second).status == WaitlistEntry.Status.CLOSED
    assert not WaitlistEntry.objects.filter(status__in=WaitlistEntry.LIVE_STATUSES).exists()


def test_a_seat_freed_on_a_date_with_a_list_queues_its_offer_job_on_commit(
    concert_date, sold_out, now, django_capture_on_commit_callbacks
):
    waiting_fans(concert_date, 1, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        return_seats(sold_out, 17, now=now)
    # The test settings run RQ jobs at once: the job offered the seat and mailed the fan.
    offer = WaitlistOffer.objects.get()
    assert offer.seat.seat_number == 17 and offer.emailed_at is not None
    assert len(mail.outbox) == 1


def test_a_date_without_a_list_queues_nothing(concert_date, now, django_capture_on_commit_callbacks, paid):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.refund_and_cancel(reservation=paid, now=now)
    assert "enqueue_offers" not in [c.__name__ for c in queued]


def test_the_sweep_offers_what_the_job_missed_on_every_date(concert_date, sold_out, now):
    [fan] = waiting_fans(concert_date, 1, now=now)
    return_seats(sold_out, 17, now=now)  # without on-commit callbacks: as if the enqueue failed
    assert waitlist.dates_to_offer(now=now) == [concert_date.pk]
    assert waitlist.offer_everywhere(now=now) == 1
    assert WaitlistOffer.objects.get().entry.user_id == fan.pk
    assert waitlist.dates_to_offer(now=_later(now, 1)) == []


def test_the_offer_email_is_sent_once_in_the_language_the_fan_joined_in(concert_date, sold_out, now):
    from booking.offer_links import offer_for_token

    fan = sold_out[1].user.__class__.objects.create_user(email="wait@example.com", password="x" * 12, name="Kim")
    waitlist.join_waitlist(user=fan, concert_date=concert_date, language="en", now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)

    assert waitlist.send_offer_emails(now=now) == 1
    assert waitlist.send_offer_emails(now=now) == 0
    [message] = mail.outbox
    assert message.to == ["wait@example.com"]
    assert "A seat came back for you" in message.subject and concert_date.concert.title in message.subject
    assert "Seat 17" in message.body
    link = next(line for line in message.body.splitlines() if "/waitlist/offers/" in line)
    token = link.rsplit("/waitlist/offers/", 1)[1].strip("/")
    assert offer_for_token(token).pk == offer.pk
    assert link.split(": ", 1)[1].startswith(settings.SITE_URL)


def test_a_forged_or_altered_offer_token_names_no_offer(concert_date, sold_out, now):
    from booking.offer_links import offer_for_token, offer_token

    waiting_fans(concert_date, 1, now=now)
    return_seats(sold_out, 17, now=now)
    [offer] = waitlist.make_offers(concert_date=concert_date, now=now)
    token = offer_token(offer)
    for forged in [str(offer.pk), token[:-1] + ("A" if token[-1] != "A" else "B"), str(uuid.uuid4()), ""]:
        with pytest.raises(OfferLinkInvalid):
            offer_for_token(forged)
