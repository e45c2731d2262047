"""A fan-club presale's own waiting room (queueing.services.sales): the concert's one room serves the presale window
first, with its own pre-queue, draw and admission, for the fans on its list only; when the presale closes the room
moves on to the general sale, ending the presale's places and keeping its draw (SaleDraw), so each sale's draw checks
on its own. Against every backend."""

import datetime

import pytest
from django.utils import timezone

from booking import services as booking_services
from concerts.models import PresaleEmail
from queueing import selectors, services
from queueing.backends import SaleChanged, get_backend, sale_tag
from queueing.exceptions import PresaleOnly, QueueClosed, QueueNotOpen
from queueing.models import ExitReason, QueueEntryHistory, SaleDraw, WaitingRoom
from tests.factories import ConcertDateFactory, ConcertFactory, PresaleFactory, UserFactory
from tests.support.concurrency import run_at_once

SECOND = datetime.timedelta(seconds=1)
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def start():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def presale(db, start):
    """A presale by e-mail list opening in two hours, closing two hours later; the general sale two days on."""
    concert = ConcertDateFactory(concert=ConcertFactory(sale_opens_at=start + 2 * 24 * HOUR)).concert
    return PresaleFactory(
        concert=concert, opens_at=start + 2 * HOUR, closes_at=start + 4 * HOUR, quota=4, access="EMAILS"
    )


def listed(presale, count):
    fans = [UserFactory() for _ in range(count)]
    PresaleEmail.objects.bulk_create([PresaleEmail(presale=presale, email=fan.email.lower()) for fan in fans])
    return fans


def room_of(concert):
    return WaitingRoom.objects.get(pk=concert.pk)


def history(concert, presale_id):
    return QueueEntryHistory.objects.filter(concert=concert, presale=presale_id)


@pytest.mark.django_db
def test_the_presale_room_opens_its_prequeue_before_the_window_to_listed_fans_only(queue_backend, presale):
    concert = presale.concert
    fan, outsider = listed(presale, 1)[0], UserFactory()
    with pytest.raises(QueueNotOpen):  # its pre-queue opens PREQUEUE_MINUTES (30) before the window
        services.join(user=fan, concert=concert, now=presale.opens_at - 31 * MINUTE)
    status = services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE)
    assert status.prequeued and status.receipt and status.draw_at == presale.opens_at
    with pytest.raises(PresaleOnly) as refused:
        services.enter(user=outsider, concert=concert, challenge_solution=None, now=presale.opens_at - 5 * MINUTE)
    assert refused.value.status == 403 and presale.name in str(refused.value.message)
    assert history(concert, presale.pk).count() == 1 and not history(concert, None).exists()


@pytest.mark.django_db
def test_the_presale_draws_its_prequeue_at_its_window_and_its_fans_book_within_the_quota(queue_backend, presale):
    concert = presale.concert
    fans = listed(presale, 3)
    for i, fan in enumerate(fans):
        services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE + i * SECOND)
    assert services.admit_all_due(now=presale.opens_at + SECOND) == 3  # the draw, then admission
    room = room_of(concert)
    assert room.drawn_at is not None and room.draw_size == 3 and room.serving_presale == presale.pk
    assert sorted(history(concert, presale.pk).values_list("queue_position", flat=True)) == [1, 2, 3]
    assert selectors.verify_draw(concert) == []
    date = concert.dates.get()
    for fan in fans:
        assert services.poll_place(user=fan, concert=concert, now=presale.opens_at + 2 * SECOND).admitted
    held = booking_services.hold_seats(user=fans[0], concert_date=date, seat_numbers=[1, 2, 3], now=presale.opens_at)
    assert [r.presale_id for r in held] == [presale.pk] * 3


@pytest.mark.django_db
def test_when_the_presale_closes_the_room_moves_on_to_the_general_sale(queue_backend, presale, settings):
    concert = presale.concert
    early, late = listed(presale, 2)
    services.join(user=early, concert=concert, now=presale.opens_at - 10 * MINUTE)
    services.admit_all_due(now=presale.opens_at + SECOND)
    services.join(user=late, concert=concert, now=presale.opens_at + HOUR)  # after the draw: queues behind
    presale_room = room_of(concert)

    # Between the window's close and the general sale's pre-queue: closed to everyone, the room moved on.
    with pytest.raises(QueueNotOpen):
        services.join(user=UserFactory(), concert=concert, now=presale.closes_at + SECOND)
    services.admit_all_due(now=presale.closes_at + 2 * SECOND)
    room = room_of(concert)
    assert room.serving_presale is None and room.drawn_at is None
    assert room.draw_commitment != presale_room.draw_commitment
    assert services.poll_place(user=early, concert=concert, now=presale.closes_at + 3 * SECOND) is None
    assert services.poll_place(user=late, concert=concert, now=presale.closes_at + 3 * SECOND) is None
    ended = history(concert, presale.pk)
    assert not ended.filter(exited_at__isnull=True).exists()
    assert ended.get(user=late).exit_reason == ExitReason.SALE_CLOSED  # (early's turn had run out long before)
    kept = SaleDraw.objects.get(concert=concert)
    assert (kept.presale, kept.seed, kept.draw_size) == (presale.pk, presale_room.draw_seed, 1)
    assert selectors.verify_draw(concert, presale_id=presale.pk) == []

    # The general sale: anyone, a pre-queue and a draw of its own, places from 1 again.
    general = concert.sale_opens_at
    fans = [UserFactory() for _ in range(3)] + [early]
    for i, fan in enumerate(fans):
        assert services.join(user=fan, concert=concert, now=general - 10 * MINUTE + i * SECOND).prequeued
    services.admit_all_due(now=general + SECOND)
    assert sorted(history(concert, None).values_list("queue_position", flat=True)) == [1, 2, 3, 4]
    assert selectors.verify_draw(concert) == []
    assert selectors.verify_draw(concert, presale_id=presale.pk) == []  # the presale's still checks
    record = selectors.draw_record(concert, now=general + 2 * SECOND)
    assert record.presale_id is None and record.draw_size == 4


@pytest.mark.django_db
def test_a_join_checked_for_a_sale_the_room_no_longer_serves_is_refused(queue_backend, presale):
    concert = presale.concert
    fan = listed(presale, 1)[0]
    services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE)  # the room serves the presale
    room = room_of(concert)
    with pytest.raises(SaleChanged):
        get_backend().join(room=room, user_id=UserFactory().pk, now=presale.opens_at, prequeue=True, sale="g")
    assert services.join(user=fan, concert=concert, now=presale.opens_at - 9 * MINUTE).prequeued  # its own: fine
    assert sale_tag(presale.pk) == str(presale.pk) and sale_tag(None) == "g"


@pytest.mark.django_db
def test_a_join_racing_the_close_is_refused_as_closed_not_queued_in_the_next_sale(queue_backend, presale):
    """The join checked the presale, then the room moved on before its backend step: refused, nothing left behind."""
    concert = presale.concert
    first, racer = listed(presale, 2)
    services.join(user=first, concert=concert, now=presale.opens_at - 10 * MINUTE)
    checked = services.current_sale(concert, presale.opens_at)
    services.move_on(concert=concert, sale=services.current_sale(concert, presale.closes_at), now=presale.closes_at)
    room = room_of(concert)
    with pytest.raises(SaleChanged):
        get_backend().join(
            room=room, user_id=racer.pk, now=presale.opens_at, prequeue=False, sale=sale_tag(checked.key)
        )
    assert services.poll_place(user=racer, concert=concert, now=presale.closes_at + SECOND) is None


@pytest.mark.django_db
def test_moving_on_is_idempotent_and_keeps_one_record(queue_backend, presale):
    concert = presale.concert
    services.join(user=listed(presale, 1)[0], concert=concert, now=presale.opens_at - MINUTE)
    general = services.current_sale(concert, presale.closes_at + SECOND)
    assert services.move_on(concert=concert, sale=general, now=presale.closes_at + SECOND)
    assert not services.move_on(concert=concert, sale=general, now=presale.closes_at + 2 * SECOND)
    assert SaleDraw.objects.filter(concert=concert).count() == 1


@pytest.mark.django_db
def test_an_ordinary_sale_never_moves_its_room_or_reads_presales(queue_backend, django_assert_num_queries, start):
    concert = ConcertDateFactory(concert=ConcertFactory(sale_opens_at=start + HOUR)).concert
    fan = UserFactory()
    services.join(user=fan, concert=concert, now=start + 40 * MINUTE)
    room = room_of(concert)
    assert room.serving_presale is None and not SaleDraw.objects.exists()
    with django_assert_num_queries(0):
        sale = services.current_sale(concert, start + 40 * MINUTE)
    assert sale.presale is None and sale.sale_opens_at == concert.sale_opens_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend_name", ["database", "redis"])
def test_fans_polling_and_joining_as_the_presale_closes_move_the_room_on_once(backend_name, settings, request, presale):
    """At the general sale's pre-queue, presale fans polling and new fans joining race to move the room on: it moves
    once (one SaleDraw), every presale place ends, and every new entry is the general sale's."""
    settings.QUEUE_BACKEND = backend_name
    if backend_name == "redis":
        request.getfixturevalue("redis_prefix")
    concert = presale.concert
    presale_fans = listed(presale, 4)
    for i, fan in enumerate(presale_fans):
        services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE + i * SECOND)
    services.admit_all_due(now=presale.opens_at + SECOND)
    newcomers = [UserFactory() for _ in range(4)]
    at = concert.prequeue_starts_at + SECOND

    def poll(fan):
        return services.poll_place(user=fan, concert=concert, now=at)

    def join(fan):
        return services.join(user=fan, concert=concert, now=at)

    outcomes = run_at_once(
        lambda act, fan: act(fan), [(poll, f) for f in presale_fans] + [(join, f) for f in newcomers]
    )
    assert [error for _, error in outcomes if error is not None] == []
    assert [result for result, _ in outcomes[:4]] == [None] * 4
    assert all(result.prequeued for result, _ in outcomes[4:])
    assert SaleDraw.objects.filter(concert=concert).count() == 1
    assert not history(concert, presale.pk).filter(exited_at__isnull=True).exists()
    assert set(history(concert, None).values_list("user_id", flat=True)) == {fan.pk for fan in newcomers}


@pytest.mark.django_db
def test_after_the_close_a_join_is_closed_until_the_general_prequeue(queue_backend, presale):
    concert = presale.concert
    fan = listed(presale, 1)[0]
    with pytest.raises(QueueNotOpen):
        services.join(user=fan, concert=concert, now=presale.closes_at)
    with pytest.raises((QueueNotOpen, QueueClosed)):
        services.join(user=fan, concert=concert, now=concert.prequeue_starts_at - SECOND)
    assert services.join(user=fan, concert=concert, now=concert.prequeue_starts_at).prequeued


@pytest.mark.django_db
def test_the_room_never_moves_back_to_a_closed_presale_for_a_request_whose_clock_is_behind(queue_backend, presale):
    concert = presale.concert
    presale_fan, late_fan = listed(presale, 2)
    services.join(user=presale_fan, concert=concert, now=presale.opens_at + MINUTE)
    general_fan = UserFactory()
    assert services.join(user=general_fan, concert=concert, now=concert.prequeue_starts_at + SECOND).prequeued
    published = room_of(concert).draw_commitment
    behind = presale.closes_at - SECOND  # stamped before the close: another instance's clock, or an early read
    services.poll_place(user=presale_fan, concert=concert, now=behind)
    with pytest.raises(QueueClosed):
        services.join(user=late_fan, concert=concert, now=behind)
    room = room_of(concert)
    assert room.serving_presale is None and room.draw_commitment == published
    assert history(concert, None).get(user=general_fan).exited_at is None
    assert not QueueEntryHistory.objects.filter(user=late_fan).exists()


@pytest.mark.django_db
def test_a_presale_served_once_is_not_served_again_when_staff_reopen_it(queue_backend, presale):
    concert = presale.concert
    fans = listed(presale, 2)
    for i, fan in enumerate(fans):
        services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE + i * SECOND)
    services.admit_all_due(now=presale.opens_at + SECOND)
    services.admit_all_due(now=presale.closes_at + SECOND)  # the room moves on
    kept = SaleDraw.objects.get()
    presale.closes_at += HOUR  # staff extend the window after it closed
    presale.save()
    with pytest.raises(QueueClosed):
        services.join(user=listed(presale, 1)[0], concert=concert, now=presale.closes_at - MINUTE)
    services.admit_all_due(now=presale.closes_at - MINUTE)
    assert room_of(concert).serving_presale is None and SaleDraw.objects.get().seed == kept.seed
    assert selectors.verify_draw(concert, presale_id=presale.pk) == []


@pytest.mark.django_db
def test_no_commitment_is_shown_before_the_sales_prequeue_opens(queue_backend, start):
    concert = ConcertDateFactory(concert=ConcertFactory(sale_opens_at=start + 48 * HOUR)).concert
    services.set_paused(concert=concert, paused=False)  # staff set the room up early: it exists, with a seed
    assert selectors.draw_record(concert, now=start).commitment == ""  # the room may still move on to a presale
    assert selectors.draw_record(concert, now=concert.prequeue_starts_at).commitment == room_of(concert).draw_commitment


@pytest.mark.django_db
def test_the_presale_visits_end_at_the_move_even_when_redis_lost_its_queue(redis_backend, presale):
    from tests.support.redis_keys import delete_prefixed_keys

    concert = presale.concert
    fans = listed(presale, 3)
    for i, fan in enumerate(fans):
        services.join(user=fan, concert=concert, now=presale.opens_at - 10 * MINUTE + i * SECOND)
    settings_prefix = redis_backend.prefix
    delete_prefixed_keys(redis_backend.url, settings_prefix)  # Redis restarted empty
    services.admit_all_due(now=presale.closes_at + SECOND)
    assert not history(concert, presale.pk).filter(exited_at__isnull=True).exists()
    assert set(history(concert, presale.pk).values_list("exit_reason", flat=True)) == {ExitReason.SALE_CLOSED}
