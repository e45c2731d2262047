"""Each date has its own start; the concert's span follows from its dates."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from booking import selectors as booking_selectors
from booking import services as booking_services
from concerts.models import Concert, ConcertDate
from concerts.selectors import date_delete_refusal
from concerts.services import (
    create_concert,
    create_concert_date,
    delete_concert,
    delete_concert_date,
    reschedule_concert_date,
)
from queueing import services as queue_services
from tests import factories
from tests.support.concurrency import run_at_once
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db


def _local(day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone())


def test_adding_an_earlier_matinee_keeps_the_start_of_the_evening_shows_already_sold():
    today = timezone.localdate()
    first, second = today + datetime.timedelta(days=10), today + datetime.timedelta(days=11)
    concert, (evening, _) = create_concert(
        title="Aurora",
        starts=[_local(first, 19), _local(second, 19)],
        sale_opens_at=timezone.now() - datetime.timedelta(hours=1),
    )
    fan = factories.UserFactory()
    wallet_services.charge(user=fan, amount=500_000)
    booking_services.hold_seats(user=fan, concert_date=evening, seat_numbers=[1])
    booking_services.pay(user=fan, concert_date=evening, idempotency_key="k")
    deadline = booking_selectors.cancellation_deadline(evening)

    matinee_day = today + datetime.timedelta(days=9)
    _, (matinee,) = create_concert(
        title="Aurora", starts=[_local(matinee_day, 14)], sale_opens_at=timezone.now() - datetime.timedelta(hours=1)
    )

    evening.refresh_from_db()
    assert timezone.localtime(evening.starts_at) == _local(first, 19)
    assert booking_selectors.cancellation_deadline(evening) == deadline
    assert timezone.localtime(matinee.starts_at) == _local(matinee_day, 14)
    concert.refresh_from_db()
    assert (concert.start_time, concert.end_time) == (_local(matinee_day, 14), _local(second, 19))


def test_a_date_added_after_the_concerts_last_show_can_be_booked():
    now = timezone.now()
    concert = factories.ConcertFactory(start_time=now + datetime.timedelta(days=1))
    factories.ConcertDateFactory(concert=concert)
    late = create_concert_date(concert=concert, starts_at=now + datetime.timedelta(days=20))
    fan = factories.UserFactory()

    then = now + datetime.timedelta(days=10)  # after the first show and the concert's old end
    concert.refresh_from_db()
    place = queue_services.join(user=fan, concert=concert, now=then)

    assert place.admitted
    booking_services.hold_seats(user=fan, concert_date=late, seat_numbers=[3], now=then)


def test_a_new_time_on_the_same_day_moves_the_date_and_the_concerts_span_even_when_sold(settings):
    now = timezone.now()
    date = factories.ConcertDateFactory(starts_at=now + datetime.timedelta(days=5))
    fan = factories.UserFactory()
    wallet_services.charge(user=fan, amount=500_000)
    booking_services.hold_seats(user=fan, concert_date=date, seat_numbers=[1])
    booking_services.pay(user=fan, concert_date=date, idempotency_key="k")
    later = timezone.localtime(date.starts_at).replace(hour=23, minute=0)

    reschedule_concert_date(concert_date=date, starts_at=later)

    date.refresh_from_db()
    date.concert.refresh_from_db()
    assert date.starts_at == later
    assert date.concert_date == later.date()
    assert date.concert.end_time == later
    assert booking_selectors.cancellation_deadline(date) == later - datetime.timedelta(
        hours=settings.CANCEL_CUTOFF_HOURS
    )


def test_a_date_fans_paid_for_cannot_move_to_another_day():
    date = factories.ConcertDateFactory()
    fan = factories.UserFactory()
    wallet_services.charge(user=fan, amount=500_000)
    booking_services.hold_seats(user=fan, concert_date=date, seat_numbers=[1])
    booking_services.pay(user=fan, concert_date=date, idempotency_key="k")
    before = date.starts_at

    with pytest.raises(ValidationError) as refused:
        reschedule_concert_date(concert_date=date, starts_at=before + datetime.timedelta(days=1))

    assert refused.value.code == "date_not_movable"
    date.refresh_from_db()
    assert date.starts_at == before


def test_a_date_cannot_move_onto_a_day_the_concert_already_has():
    day = timezone.localdate() + datetime.timedelta(days=30)
    first = factories.ConcertDateFactory(starts_at=_local(day, 19))
    second = factories.ConcertDateFactory(concert=first.concert, starts_at=_local(day + datetime.timedelta(1), 19))

    with pytest.raises(ValidationError) as refused:
        reschedule_concert_date(concert_date=second, starts_at=_local(day, 14))
    assert refused.value.code == "date_not_movable"
    with pytest.raises(ValidationError) as refused:
        create_concert_date(concert=first.concert, starts_at=_local(day, 21))
    assert refused.value.code == "day_taken"
    assert ConcertDate.objects.count() == 2
    second.refresh_from_db()
    assert second.starts_at == _local(day + datetime.timedelta(1), 19)


def test_deleting_dates_shrinks_the_concerts_span_to_the_dates_left():
    first = factories.ConcertDateFactory()
    last = factories.ConcertDateFactory(concert=first.concert, starts_at=first.starts_at + datetime.timedelta(days=4))
    concert = first.concert

    delete_concert_date(concert_date=last)
    concert.refresh_from_db()
    assert (concert.start_time, concert.end_time) == (first.starts_at, first.starts_at)

    delete_concert_date(concert_date=first)
    concert.refresh_from_db()
    assert (concert.start_time, concert.end_time) == (None, None)
    assert concert.is_over()


def test_deleting_a_date_a_fan_holds_a_seat_of_is_refused_with_the_reason_not_a_protected_error():
    date = factories.ConcertDateFactory()
    booking_services.hold_seats(user=factories.UserFactory(), concert_date=date, seat_numbers=[3])

    with pytest.raises(ValidationError) as refused:
        delete_concert_date(concert_date=date)

    assert refused.value.code == "date_not_deletable"
    assert refused.value.messages == [date_delete_refusal(date)]
    assert ConcertDate.objects.filter(pk=date.pk).exists()


def test_deleting_a_date_twice_deletes_it_once():
    first = factories.ConcertDateFactory()
    last = factories.ConcertDateFactory(concert=first.concert, starts_at=first.starts_at + datetime.timedelta(days=4))

    delete_concert_date(concert_date=last)
    delete_concert_date(concert_date=last)

    assert list(ConcertDate.objects.values_list("pk", flat=True)) == [first.pk]
    first.concert.refresh_from_db()
    assert first.concert.end_time == first.starts_at


def test_deleting_a_concert_deletes_its_dates_unless_a_fan_holds_a_seat_of_one():
    free = factories.ConcertDateFactory()
    held = factories.ConcertDateFactory()
    second = factories.ConcertDateFactory(concert=held.concert, starts_at=held.starts_at + datetime.timedelta(days=1))
    booking_services.hold_seats(user=factories.UserFactory(), concert_date=second, seat_numbers=[3])

    with pytest.raises(ValidationError) as refused:
        delete_concert(concert=held.concert)
    delete_concert(concert=free.concert)
    delete_concert(concert=free.concert)

    assert refused.value.code == "concert_not_deletable"
    assert set(ConcertDate.objects.values_list("pk", flat=True)) == {held.pk, second.pk}
    assert list(Concert.objects.values_list("pk", flat=True)) == [held.concert_id]


@pytest.mark.django_db(transaction=True)
def test_two_staff_adding_dates_at_once_both_count_in_the_concerts_span():
    concert = factories.ConcertFactory()
    base = timezone.now() + datetime.timedelta(days=10)
    starts = [base + datetime.timedelta(days=offset) for offset in (0, 3)]

    outcomes = run_at_once(
        lambda starts_at: create_concert_date(concert=Concert.objects.get(pk=concert.pk), starts_at=starts_at),
        [(start,) for start in starts],
    )

    assert [error for _, error in outcomes] == [None, None]
    concert.refresh_from_db()
    assert (concert.start_time, concert.end_time) == (starts[0], starts[1])
