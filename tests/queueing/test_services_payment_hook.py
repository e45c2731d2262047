"""Paying ends the fan's admission through booking's on_commit hook, and the freed place goes to the next fan."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from booking import services as booking_services
from booking.models import Reservation
from queueing import services
from queueing.models import QueueEntryHistory
from tests.factories import ConcertDateFactory
from tests.support.checkout import form_data
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, so on_commit hooks really run


def test_paying_ends_the_admission_and_admits_the_next_fan(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    date = ConcertDateFactory(concert=concert)
    buyer, next_fan = make_fans(2)
    wallet_services.charge(user=buyer, amount=500_000)
    services.join(user=buyer, concert=concert)
    services.join(user=next_fan, concert=concert)
    assert services.touch(user=buyer, concert=concert)

    booking_services.hold_seats(user=buyer, concert_date=date, seat_numbers=[7])
    booking_services.pay(user=buyer, concert_date=date, idempotency_key="hook-test")

    assert not services.touch(user=buyer, concert=concert)
    assert QueueEntryHistory.objects.get(user=buyer).exit_reason == "paid"
    assert services.admit_batch(concert=concert, now=timezone.now()) == 1
    assert services.touch(user=next_fan, concert=concert)


def _two_dates(concert):
    first = ConcertDateFactory(concert=concert)
    second = ConcertDateFactory(concert=concert, concert_date=first.concert_date + datetime.timedelta(days=1))
    return first, second


def test_paying_one_date_keeps_the_admission_while_the_fan_still_holds_seats_on_another(
    queue_backend, concert, make_room, make_fans
):
    make_room(max_active=1)
    first, second = _two_dates(concert)
    [fan] = make_fans(1)
    wallet_services.charge(user=fan, amount=500_000)
    services.join(user=fan, concert=concert)
    booking_services.hold_seats(user=fan, concert_date=first, seat_numbers=[1])
    booking_services.hold_seats(user=fan, concert_date=second, seat_numbers=[2])

    booking_services.pay(user=fan, concert_date=first, idempotency_key="first-date")
    assert services.touch(user=fan, concert=concert)  # the date-2 seats are not stranded
    assert QueueEntryHistory.objects.get(user=fan).exited_at is None

    booking_services.pay(user=fan, concert_date=second, idempotency_key="second-date")
    assert not services.touch(user=fan, concert=concert)
    assert QueueEntryHistory.objects.get(user=fan).exit_reason == "paid"


def test_an_expired_hold_on_another_date_does_not_keep_the_admission(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    first, second = _two_dates(concert)
    [fan] = make_fans(1)
    wallet_services.charge(user=fan, amount=500_000)
    services.join(user=fan, concert=concert)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)
    booking_services.hold_seats(user=fan, concert_date=second, seat_numbers=[2], now=long_ago)
    booking_services.hold_seats(user=fan, concert_date=first, seat_numbers=[1])

    booking_services.pay(user=fan, concert_date=first, idempotency_key="first-date")
    assert not services.touch(user=fan, concert=concert)


def test_checkout_of_seats_still_held_gets_through_after_the_admission_ended(
    queue_backend, concert, make_room, make_fans, client
):
    make_room(max_active=1)
    first, second = _two_dates(concert)
    [fan] = make_fans(1)
    wallet_services.charge(user=fan, amount=500_000)
    services.join(user=fan, concert=concert)
    booking_services.hold_seats(user=fan, concert_date=second, seat_numbers=[2])
    # The admission ends anyway (it ran out, or a payment on another tab ended it a moment before this hold).
    services.end_for_user(user=fan, concert=concert, reason="expired")
    client.force_login(fan)

    page = client.get(f"/checkout/{second.pk}/")
    assert page.status_code == 200
    assert [r.seat.seat_number for r in page.context["holds"]] == [2]
    assert not page.context["can_change_seats"]  # no link to a seat map that would only send them to the queue
    response = client.post(f"/checkout/{second.pk}/", form_data(page))
    assert response.status_code == 302 and response["Location"] == "/reservations/"
    assert Reservation.objects.get(user=fan).status == Reservation.Status.CONFIRMED


def test_a_fan_whose_admission_ended_cannot_hold_new_seats_even_with_seats_held(
    queue_backend, concert, make_room, make_fans, client
):
    make_room(max_active=1)
    first, second = _two_dates(concert)
    [fan] = make_fans(1)
    services.join(user=fan, concert=concert)
    booking_services.hold_seats(user=fan, concert_date=second, seat_numbers=[2])
    services.end_for_user(user=fan, concert=concert, reason="expired")
    client.force_login(fan)

    room = f"/concerts/{concert.pk}/queue/"
    for date in (first, second):
        assert client.get(f"/dates/{date.pk}/seats/")["Location"].startswith(room)
        assert client.post(f"/dates/{date.pk}/hold/", {"seats": ["9"]})["Location"].startswith(room)
        # Nothing held on the first date: its checkout is closed too.
    assert client.get(f"/checkout/{first.pk}/")["Location"].startswith(room)
    assert list(Reservation.objects.filter(user=fan).values_list("seat__seat_number", flat=True)) == [2]
