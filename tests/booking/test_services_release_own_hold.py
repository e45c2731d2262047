"""The fan releases one of their holds (booking.services.release_own_hold, behind checkout's Release button and the
JSON API's DELETE /holds/{id}): the seat free for anyone, as every release frees it (history, seat version, the
waiting list's offer), idempotent, only the fan's own, never a paid seat, and no audit entry (a fan's own action)."""

import datetime

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.models import AuditEntry
from booking import seat_versions, services
from booking.exceptions import HoldAlreadyPaid, HoldNotFound
from booking.models import Reservation, WaitlistEntry, WaitlistOffer
from concerts.models import Seat, SeatStatusHistory
from tests.support.checks import assert_consistent
from tests.support.waitlist import return_seats, sell_out, waiting_fans

pytestmark = pytest.mark.django_db

HOLD_TIME = datetime.timedelta(seconds=settings.HOLD_SECONDS)


def _later(now, seconds):
    return now + datetime.timedelta(seconds=seconds)


def test_releasing_a_hold_frees_its_seat_with_history_and_keeps_the_fans_other_holds(funded_fan, concert_date, now):
    three, four = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3, 4], now=now)

    released = services.release_own_hold(user=funded_fan, reservation=three, now=_later(now, 10))

    assert (released.status, released.end_reason) == ("CANCELLED", Reservation.EndReason.FAN_RELEASED)
    three.refresh_from_db()
    assert (three.status, three.end_reason, three.ended_at) == ("CANCELLED", "FAN_RELEASED", _later(now, 10))
    seat = Seat.objects.get(pk=three.seat_id)
    assert (seat.status, seat.held_by_id, seat.hold_expire_at) == ("AVAILABLE", None, None)
    last = SeatStatusHistory.objects.filter(seat=seat).order_by("-changed_at").first()
    assert (last.from_status, last.to_status, last.reason, last.changed_by_id) == (
        "HELD",
        "AVAILABLE",
        SeatStatusHistory.Reason.FAN_RELEASED,
        funded_fan.pk,
    )
    assert Reservation.objects.get(pk=four.pk).status == "HOLD"  # only the one let go
    assert Seat.objects.get(pk=four.seat_id).held_by_id == funded_fan.pk
    assert_consistent()


def test_another_fan_can_hold_and_pay_the_released_seat(funded_fan, make_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)
    services.release_own_hold(user=funded_fan, reservation=hold, now=now)

    other = make_fan(200_000)
    [taken] = services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[3], now=_later(now, 1))
    services.pay(user=other, concert_date=concert_date, idempotency_key="other", now=_later(now, 2))

    assert Reservation.objects.get(pk=taken.pk).status == "CONFIRMED"
    assert Seat.objects.get(pk=hold.seat_id).status == "RESERVED"
    assert_consistent()


def test_releasing_again_changes_nothing(funded_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)
    first = services.release_own_hold(user=funded_fan, reservation=hold, now=_later(now, 5))
    history = SeatStatusHistory.objects.count()

    again = services.release_own_hold(user=funded_fan, reservation=hold, now=_later(now, 9))

    assert (again.status, again.end_reason, again.ended_at) == (first.status, first.end_reason, first.ended_at)
    assert SeatStatusHistory.objects.count() == history


def test_a_hold_ended_otherwise_is_returned_as_it_ended(funded_fan, make_fan, concert_date, now):
    """Swept, or released by staff: the seat is not the fan's any more, so there is nothing to do (and the seat,
    held by another fan since, is left alone)."""
    swept, by_staff = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3, 4], now=now)
    services.release_hold(reservation=by_staff, now=now)
    after = now + HOLD_TIME + datetime.timedelta(seconds=1)
    assert services.expire_holds(now=after) == 1
    [other] = services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[3], now=after)

    for hold, status, reason in ((swept, "EXPIRED", "HOLD_EXPIRED"), (by_staff, "CANCELLED", "STAFF_RELEASED")):
        ended = services.release_own_hold(user=funded_fan, reservation=hold, now=after)
        assert (ended.status, ended.end_reason) == (status, reason)
    seat = Seat.objects.get(pk=other.seat_id)
    assert (seat.status, seat.held_by_id) == ("HELD", other.user_id)


def test_a_hold_that_ran_out_unswept_ends_as_expired_once(funded_fan, concert_date, now):
    """A hold past its time is expired, swept or not: the fan's release ends it as the sweep would, and the sweep
    then finds nothing."""
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)
    after = now + HOLD_TIME + datetime.timedelta(seconds=1)

    ended = services.release_own_hold(user=funded_fan, reservation=hold, now=after)

    assert (ended.status, ended.end_reason, ended.ended_at) == ("EXPIRED", "HOLD_EXPIRED", after)
    assert services.expire_holds(now=after) == 0
    assert Seat.objects.get(pk=hold.seat_id).status == "AVAILABLE"
    freed = SeatStatusHistory.objects.filter(seat_id=hold.seat_id, from_status="HELD", to_status="AVAILABLE")
    reasons = freed.values_list("reason")
    assert list(reasons) == [(SeatStatusHistory.Reason.HOLD_EXPIRED,)]
    assert_consistent()


def test_another_fans_hold_is_not_found_and_stays_held(funded_fan, make_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)

    with pytest.raises(HoldNotFound) as refused:
        services.release_own_hold(user=make_fan(), reservation=hold, now=now)

    assert refused.value.status == 404
    assert Reservation.objects.get(pk=hold.pk).status == "HOLD"
    assert Seat.objects.get(pk=hold.seat_id).held_by_id == funded_fan.pk


def test_a_paid_seat_is_no_hold_to_release_even_once_cancelled(funded_fan, paid, now):
    with pytest.raises(HoldAlreadyPaid) as refused:
        services.release_own_hold(user=funded_fan, reservation=paid, now=now)
    assert (refused.value.status, refused.value.code) == (409, "hold_already_paid")
    assert Seat.objects.get(pk=paid.seat_id).status == "RESERVED"
    assert Reservation.objects.get(pk=paid.pk).status == "CONFIRMED"

    services.cancel(user=funded_fan, reservation=paid, now=now)
    with pytest.raises(HoldAlreadyPaid):
        services.release_own_hold(user=funded_fan, reservation=paid, now=now)
    assert_consistent()


def test_the_dates_seat_version_changes_so_seat_maps_refresh(funded_fan, concert_date, now):
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)
    key = seat_versions.version_key(concert_date.pk)
    before = cache.get(key)
    assert before

    services.release_own_hold(user=funded_fan, reservation=hold, now=now)

    assert cache.get(key) not in (None, before)


def test_a_release_on_a_date_with_a_waiting_list_offers_the_seat_to_the_next_fan(
    concert_date, now, django_capture_on_commit_callbacks
):
    sold = sell_out(concert_date, now=now)
    [waiting] = waiting_fans(concert_date, 1, now=now)
    return_seats(sold, 17, now=now)
    [first_offer] = services.waitlist.make_offers(concert_date=concert_date, now=now)
    assert first_offer.entry.user_id == waiting.pk
    # The fan offered seat 17 lets it go at checkout instead of paying: the next fan on the list is offered it.
    [second] = waiting_fans(concert_date, 1, now=_later(now, 1))
    hold = Reservation.objects.get(pk=first_offer.reservation_id)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.release_own_hold(user=waiting, reservation=hold, now=_later(now, 2))
    assert [callback.__name__ for callback in queued].count("enqueue_offers") == 1  # as every release queues it
    for callback in queued:
        callback()  # the test settings run the job at once

    first_offer.refresh_from_db()
    assert first_offer.status == WaitlistOffer.Status.DECLINED  # the fan let it go
    assert WaitlistEntry.objects.get(pk=first_offer.entry_id).status == WaitlistEntry.Status.LEFT
    passed_on = WaitlistOffer.objects.exclude(pk=first_offer.pk).get()
    assert (passed_on.entry.user_id, passed_on.seat_id) == (second.pk, first_offer.seat_id)
    assert Seat.objects.get(pk=first_offer.seat_id).held_by_id == second.pk
    assert_consistent()


def test_a_fans_release_is_not_audited(funded_fan, concert_date, now):
    """accounts.audit: fans' own actions are recorded by their history rows, never in the staff audit log."""
    [hold] = services.hold_seats(user=funded_fan, concert_date=concert_date, seat_numbers=[3], now=now)
    services.release_own_hold(user=funded_fan, reservation=hold, now=now)
    assert not AuditEntry.objects.exists()
