"""The queue contract, run against both backends (database and Redis) through queueing.services."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from queueing import services
from queueing.exceptions import QueueClosed, QueueNotOpen
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.factories import ConcertFactory
from tests.support.concurrency import run_together

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)


def counts(backend, concert, now):
    return backend.counts(concert_id=concert.pk, now=now)


def resume(concert):
    services.set_paused(concert=concert, paused=False)


def test_first_fan_is_admitted_at_once_when_there_is_room(queue_backend, concert, make_room, make_fans):
    make_room(max_active=2)
    a, b, c = make_fans(3)
    now = timezone.now()

    first = services.join(user=a, concert=concert, now=now)
    second = services.join(user=b, concert=concert, now=now)
    third = services.join(user=c, concert=concert, now=now)

    assert first.admitted and second.admitted
    assert first.position == 0 and first.eta_seconds == 0
    assert first.expires_at == now + datetime.timedelta(seconds=settings.ACTIVE_SECONDS)
    assert not third.admitted
    assert (third.position, third.ahead) == (1, 0)
    assert counts(queue_backend, concert, now) == (1, 2)


def test_rejoining_keeps_the_token_and_the_place(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    a, b, c = make_fans(3)
    now = timezone.now()
    services.join(user=a, concert=concert, now=now)
    first_b = services.join(user=b, concert=concert, now=now)
    services.join(user=c, concert=concert, now=now + SECOND)

    again_b = services.join(user=b, concert=concert, now=now + 10 * SECOND)
    c_status = services.poll_place(user=c, concert=concert, now=now + 10 * SECOND)

    assert again_b.token == first_b.token
    assert (again_b.position, again_b.ahead) == (1, 0)
    assert (c_status.position, c_status.ahead) == (2, 1)
    assert QueueEntryHistory.objects.filter(user=b, concert=concert).count() == 1
    assert counts(queue_backend, concert, now + 10 * SECOND) == (2, 1)


def test_status_is_none_for_a_fan_who_has_not_joined(queue_backend, concert, make_room, make_fans):
    (fan,) = make_fans(1)
    assert services.poll_place(user=fan, concert=concert) is None  # no waiting room yet
    make_room()
    assert services.poll_place(user=fan, concert=concert) is None


def test_joining_is_refused_before_the_sale_opens_and_after_the_concert(queue_backend, make_fans):
    (fan,) = make_fans(1)
    now = timezone.now()
    upcoming = ConcertFactory(sale_opens_at=now + datetime.timedelta(hours=2))
    past = ConcertFactory(
        start_time=now - datetime.timedelta(days=3),
        end_time=now - datetime.timedelta(days=1),
        sale_opens_at=now - datetime.timedelta(days=30),
    )

    with pytest.raises(QueueNotOpen) as refused:
        services.join(user=fan, concert=upcoming, now=now)
    assert "not open yet" in refused.value.reason
    with pytest.raises(QueueClosed):
        services.join(user=fan, concert=past, now=now)
    assert not QueueEntryHistory.objects.exists()
    assert services.poll_place(user=fan, concert=upcoming, now=now) is None


@pytest.mark.django_db(transaction=True)
def test_fifo_order_under_50_concurrent_joins(queue_backend, concert, make_room, make_fans):
    make_room(max_active=10, is_paused=True)
    fans = make_fans(50)
    now = timezone.now()

    statuses = run_together(50, lambda i: services.join(user=fans[i], concert=concert, now=now))

    positions = sorted(s.position for s in statuses)
    assert positions == list(range(1, 51))
    assert len({s.token for s in statuses}) == 50
    assert all(not s.admitted and s.eta_seconds is None and s.paused for s in statuses)
    history = list(QueueEntryHistory.objects.filter(concert=concert).order_by("queue_position"))
    assert [h.queue_position for h in history] == sorted(h.queue_position for h in history)
    assert len({h.queue_position for h in history}) == 50

    # Admission follows the order of the places handed out, batch after batch.
    by_position = sorted(zip(statuses, fans, strict=True), key=lambda pair: pair[0].position)
    resume(concert)
    assert services.admit_batch(concert=concert, now=now + SECOND) == 10
    admitted = {fan.pk for fan in fans if services.touch(user=fan, concert=concert, now=now + SECOND)}
    assert admitted == {fan.pk for _, fan in by_position[:10]}
    for _, fan in by_position[:10]:
        services.leave(user=fan, concert=concert, now=now + 2 * SECOND)
    assert services.admit_batch(concert=concert, now=now + 3 * SECOND) == 10
    admitted = {fan.pk for fan in fans if services.touch(user=fan, concert=concert, now=now + 3 * SECOND)}
    assert admitted == {fan.pk for _, fan in by_position[10:20]}
    later = services.poll_place(user=by_position[20][1], concert=concert, now=now + 3 * SECOND)
    assert (later.position, later.ahead) == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_joins_by_one_user_give_one_token(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    holder, fan = make_fans(2)
    now = timezone.now()
    services.join(user=holder, concert=concert, now=now)  # takes the only place, so `fan` waits

    statuses = run_together(10, lambda i: services.join(user=fan, concert=concert, now=now + i * SECOND))

    assert len({s.token for s in statuses}) == 1
    assert {(s.position, s.ahead) for s in statuses} == {(1, 0)}
    assert QueueEntryHistory.objects.filter(user=fan, concert=concert).count() == 1
    assert counts(queue_backend, concert, now + 10 * SECOND) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_admission_never_exceeds_max_active_with_two_admitters_racing(queue_backend, concert, make_room, make_fans):
    make_room(max_active=7, is_paused=True)
    fans = make_fans(30)
    now = timezone.now()
    for fan in fans:
        services.join(user=fan, concert=concert, now=now)
    resume(concert)

    admitted_per_round = []
    for round_ in range(4):
        at = now + (round_ + 1) * SECOND
        admitted_per_round.append(run_together(2, lambda i, at=at: services.admit_batch(concert=concert, now=at)))

    assert sum(map(sum, admitted_per_round)) == 7
    assert counts(queue_backend, concert, now + 5 * SECOND) == (23, 7)
    assert QueueEntryHistory.objects.filter(concert=concert, was_admitted=True).count() == 7
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 7


@pytest.mark.django_db(transaction=True)
def test_admission_and_joins_racing_stay_within_max_active(queue_backend, concert, make_room, make_fans):
    make_room(max_active=5)
    fans = make_fans(12)
    now = timezone.now()

    def work(i):
        if i < 10:
            return services.join(user=fans[i], concert=concert, now=now).admitted
        return services.admit_batch(concert=concert, now=now)

    run_together(12, work)

    waiting, admitted = counts(queue_backend, concert, now)
    assert admitted == 5
    assert waiting == 5
    admitted_fans = [f for f in fans[:10] if services.touch(user=f, concert=concert, now=now)]
    assert len(admitted_fans) == 5


def test_paused_queue_admits_nobody(queue_backend, concert, make_room, make_fans):
    make_room(max_active=5, is_paused=True)
    a, b = make_fans(2)
    now = timezone.now()

    joined = services.join(user=a, concert=concert, now=now)
    services.join(user=b, concert=concert, now=now)

    assert not joined.admitted and joined.paused and joined.eta_seconds is None
    assert services.admit_batch(concert=concert, now=now + SECOND) == 0
    assert services.admit_all_due(now=now + 100 * SECOND) == 0
    assert services.poll_place(user=a, concert=concert, now=now + 100 * SECOND).position == 1
    assert counts(queue_backend, concert, now) == (2, 0)

    resume(concert)
    assert services.admit_batch(concert=concert, now=now + 101 * SECOND) == 2
    assert services.touch(user=a, concert=concert, now=now + 101 * SECOND)


def test_expired_admissions_free_their_place(queue_backend, concert, make_room, make_fans):
    make_room(max_active=2)
    a, b, c, d = make_fans(4)
    now = timezone.now()
    for fan in (a, b, c, d):
        services.join(user=fan, concert=concert, now=now)
    active = datetime.timedelta(seconds=settings.ACTIVE_SECONDS)
    ran_out = now + active + SECOND

    assert not services.touch(user=a, concert=concert, now=ran_out)
    assert services.poll_place(user=a, concert=concert, now=ran_out) is None
    assert counts(queue_backend, concert, ran_out) == (2, 0)

    assert services.admit_batch(concert=concert, now=ran_out) == 2
    assert services.touch(user=c, concert=concert, now=ran_out)
    assert services.touch(user=d, concert=concert, now=ran_out)
    for fan in (a, b):
        row = QueueEntryHistory.objects.get(user=fan, concert=concert)
        assert row.exit_reason == "expired"
        assert row.exited_at == now + active
        assert row.duration_seconds == settings.ACTIVE_SECONDS

    # Coming back after running out means a new place at the back of the queue.
    again = services.join(user=a, concert=concert, now=ran_out)
    assert not again.admitted and again.position == 1
    assert QueueEntryHistory.objects.filter(user=a, concert=concert).count() == 2


def test_expire_admissions_ends_run_out_admissions_and_admits_nobody(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    a, b = make_fans(2)
    now = timezone.now()
    services.join(user=a, concert=concert, now=now)
    services.join(user=b, concert=concert, now=now)
    ran_out = now + datetime.timedelta(seconds=settings.ACTIVE_SECONDS + 1)

    assert services.expire_admissions(now=now) == 0
    assert services.expire_admissions(now=ran_out) == 1
    assert services.expire_admissions(now=ran_out) == 0
    assert counts(queue_backend, concert, ran_out) == (1, 0)
    assert QueueEntryHistory.objects.get(user=a).exit_reason == "expired"


def test_leaving_frees_a_place_and_moves_the_queue_up(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    a, b, c = make_fans(3)
    now = timezone.now()
    for fan in (a, b, c):
        services.join(user=fan, concert=concert, now=now)
    assert services.poll_place(user=c, concert=concert, now=now).ahead == 1

    assert services.leave(user=b, concert=concert, now=now + SECOND)
    assert not services.leave(user=b, concert=concert, now=now + SECOND)
    moved = services.poll_place(user=c, concert=concert, now=now + SECOND)
    assert (moved.position, moved.ahead) == (1, 0)

    services.leave(user=a, concert=concert, now=now + 2 * SECOND)
    assert services.admit_batch(concert=concert, now=now + 3 * SECOND) == 1
    assert services.poll_place(user=c, concert=concert, now=now + 3 * SECOND).admitted
    left = QueueEntryHistory.objects.get(user=b)
    assert (left.exit_reason, left.was_admitted, left.duration_seconds) == ("left", False, 1)


def test_paying_ends_the_token_and_frees_the_place(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    buyer, next_fan, stranger = make_fans(3)
    now = timezone.now()
    services.join(user=buyer, concert=concert, now=now)
    services.join(user=next_fan, concert=concert, now=now)

    assert services.end_for_user(user=buyer, concert=concert, reason="paid", now=now + 90 * SECOND)
    assert not services.touch(user=buyer, concert=concert, now=now + 90 * SECOND)
    row = QueueEntryHistory.objects.get(user=buyer)
    assert (row.exit_reason, row.was_admitted, row.duration_seconds) == ("paid", True, 90)
    assert services.admit_batch(concert=concert, now=now + 91 * SECOND) == 1
    assert services.touch(user=next_fan, concert=concert, now=now + 91 * SECOND)

    # No place: nothing happens, nothing is written.
    assert services.end_for_user(user=stranger, concert=concert, reason="paid") is False
    assert services.end_for_user(user=buyer, concert=concert, reason="paid") is False
    assert QueueEntryHistory.objects.filter(user=stranger).count() == 0


def test_touch_is_true_only_for_the_admitted_user_of_that_concert(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    other_concert = ConcertFactory()
    make_room(max_active=1, target=other_concert)
    admitted, waiting = make_fans(2)
    now = timezone.now()
    services.join(user=admitted, concert=concert, now=now)
    services.join(user=waiting, concert=concert, now=now)

    assert services.touch(user=admitted, concert=concert, now=now)
    assert not services.touch(user=waiting, concert=concert, now=now)
    assert not services.touch(user=admitted, concert=other_concert, now=now)


def test_touch_slides_the_admission_but_never_past_its_cap(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    (fan,) = make_fans(1)
    now = timezone.now()
    active = settings.ACTIVE_SECONDS
    services.join(user=fan, concert=concert, now=now)

    assert services.touch(user=fan, concert=concert, now=now + 300 * SECOND)
    slid = services.poll_place(user=fan, concert=concert, now=now + 300 * SECOND)
    assert slid.expires_at == now + (300 + active) * SECOND

    cap = now + services.MAX_LIFETIME_FACTOR * active * SECOND
    assert services.touch(user=fan, concert=concert, now=now + (300 + active - 10) * SECOND)
    assert services.touch(user=fan, concert=concert, now=cap - 10 * SECOND)
    assert services.poll_place(user=fan, concert=concert, now=cap - SECOND).expires_at == cap
    assert not services.touch(user=fan, concert=concert, now=cap)


def test_estimated_wait_follows_the_admission_rate(queue_backend, concert, make_room, make_fans):
    make_room(max_active=10, is_paused=True)
    fans = make_fans(40)
    now = timezone.now()
    for fan in fans:
        services.join(user=fan, concert=concert, now=now)
    resume(concert)

    # Before any admission, the estimate is what capacity gives: 10 places, each used for ACTIVE_SECONDS.
    tenth = services.poll_place(user=fans[9], concert=concert, now=now)
    assert tenth.ahead == 9
    assert tenth.eta_seconds == settings.ACTIVE_SECONDS  # 10 fans at 10 per ACTIVE_SECONDS
    assert services.poll_place(user=fans[19], concert=concert, now=now).eta_seconds == 2 * settings.ACTIVE_SECONDS

    # Then 10 fans go in every 30 seconds: the estimate follows the observed rate (1 fan per 3 s).
    for step in range(3):
        at = now + 30 * step * SECOND
        services.admit_batch(concert=concert, now=at)
        for fan in fans[10 * step : 10 * step + 10]:
            services.end_for_user(user=fan, concert=concert, reason="paid", now=at + SECOND)
    at = now + 60 * SECOND
    front = services.poll_place(user=fans[30], concert=concert, now=at)
    back = services.poll_place(user=fans[39], concert=concert, now=at)
    assert (front.ahead, back.ahead) == (0, 9)
    assert 1 <= front.eta_seconds <= 6
    assert 15 <= back.eta_seconds <= 45
    assert back.eta_seconds > front.eta_seconds
    services.admit_batch(concert=concert, now=at + SECOND)
    assert services.poll_place(user=fans[39], concert=concert, now=at + SECOND).eta_seconds == 0


def test_history_records_join_admission_and_exit(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    first, fan = make_fans(2)
    now = timezone.now()
    services.join(user=first, concert=concert, now=now)
    joined = services.join(user=fan, concert=concert, now=now)

    row = QueueEntryHistory.objects.get(user=fan, concert=concert)
    assert (row.token, row.entered_at, row.admitted_at, row.was_admitted) == (joined.token, now, None, False)
    assert row.duration_seconds is None
    immediate = QueueEntryHistory.objects.get(user=first)
    assert (immediate.admitted_at, immediate.was_admitted, immediate.duration_seconds) == (now, True, 0)

    services.leave(user=first, concert=concert, now=now + 40 * SECOND)
    services.admit_batch(concert=concert, now=now + 45 * SECOND)
    row.refresh_from_db()
    assert (row.admitted_at, row.was_admitted, row.duration_seconds) == (now + 45 * SECOND, True, 45)

    services.end_for_user(user=fan, concert=concert, reason="paid", now=now + 100 * SECOND)
    row.refresh_from_db()
    assert (row.exited_at, row.exit_reason, row.duration_seconds) == (now + 100 * SECOND, "paid", 100)


def test_a_status_poll_runs_overdue_admission(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    a, b = make_fans(2)
    now = timezone.now()
    services.join(user=a, concert=concert, now=now)
    services.join(user=b, concert=concert, now=now)  # this poll ran admission: nothing free
    services.leave(user=a, concert=concert, now=now + SECOND)

    assert not services.poll_place(user=b, concert=concert, now=now + 2 * SECOND).admitted  # beat not overdue yet
    overdue = now + (services.OVERDUE_INTERVALS * settings.ADMIT_QUEUE_EVERY_SECONDS + 1) * SECOND
    assert services.poll_place(user=b, concert=concert, now=overdue).admitted
    assert WaitingRoom.objects.get(pk=concert.pk).last_admission_at == overdue


@pytest.mark.django_db(transaction=True)
def test_many_overdue_polls_run_admission_within_max_active(queue_backend, concert, make_room, make_fans):
    make_room(max_active=3, is_paused=True)
    fans = make_fans(10)
    now = timezone.now()
    for fan in fans:
        services.join(user=fan, concert=concert, now=now)
    resume(concert)
    later = now + 60 * SECOND

    statuses = run_together(10, lambda i: services.poll_place(user=fans[i], concert=concert, now=later))

    assert sum(s.admitted for s in statuses) <= 3
    assert counts(queue_backend, concert, later) == (7, 3)
    assert QueueEntryHistory.objects.filter(concert=concert, was_admitted=True).count() == 3


def test_touch_cannot_revive_an_admission_whose_place_was_given_away(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    first, second = make_fans(2)
    now = timezone.now()
    services.join(user=first, concert=concert, now=now)
    ran_out = now + (settings.ACTIVE_SECONDS + 1) * SECOND

    # The first admission has run out (no sweep yet): the next fan who joins gets the place.
    assert services.join(user=second, concert=concert, now=ran_out).admitted
    # The first fan's next page is served by a server whose clock is two seconds behind.
    behind = ran_out - 2 * SECOND
    assert not services.touch(user=first, concert=concert, now=behind)
    assert not services.touch(user=first, concert=concert, now=ran_out)
    assert services.poll_place(user=first, concert=concert, now=behind) is None
    assert counts(queue_backend, concert, behind) == (0, 1)
    assert services.touch(user=second, concert=concert, now=ran_out)
    row = QueueEntryHistory.objects.get(user=first)
    assert (row.exit_reason, row.exited_at) == ("expired", now + settings.ACTIVE_SECONDS * SECOND)


def test_touch_reads_the_time_from_the_store_not_from_the_app_server(
    queue_backend, concert, make_room, make_fans, monkeypatch
):
    make_room(max_active=2)
    ran_out, live = make_fans(2)
    real = timezone.now()
    active = settings.ACTIVE_SECONDS
    services.join(user=ran_out, concert=concert, now=real - (active + 10) * SECOND)  # ran out 10 s ago
    services.join(user=live, concert=concert, now=real - 100 * SECOND)

    # This app server's clock is 30 s behind: the admission that ran out must not come back to life.
    monkeypatch.setattr(timezone, "now", lambda: real - 30 * SECOND)
    assert not services.touch(user=ran_out, concert=concert)
    # Its clock is 30 s ahead: a live admission slides from the store's now, not 30 s further.
    monkeypatch.setattr(timezone, "now", lambda: real + 30 * SECOND)
    assert services.touch(user=live, concert=concert)
    monkeypatch.undo()

    expires_at = services.poll_place(user=live, concert=concert, now=real).expires_at
    assert real + (active - 1) * SECOND <= expires_at <= timezone.now() + active * SECOND + SECOND
    assert services.poll_place(user=ran_out, concert=concert, now=real) is None


@pytest.mark.django_db(transaction=True)
def test_touches_from_a_lagging_clock_racing_joins_never_exceed_max_active(
    queue_backend, concert, make_room, make_fans
):
    make_room(max_active=3)
    old, new = make_fans(3), make_fans(3)
    now = timezone.now()
    for fan in old:
        services.join(user=fan, concert=concert, now=now)
    ran_out = now + (settings.ACTIVE_SECONDS + 1) * SECOND

    def work(i):
        if i < 3:
            return services.join(user=new[i], concert=concert, now=ran_out)
        return services.touch(user=old[i - 3], concert=concert, now=ran_out - 2 * SECOND)

    run_together(6, work)

    assert counts(queue_backend, concert, ran_out)[1] <= 3
    still_in = [fan for fan in old + new if services.touch(user=fan, concert=concert, now=ran_out)]
    assert len(still_in) <= 3
