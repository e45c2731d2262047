"""QueueEntryHistory stays true to the queue: it catches up after a failed write (the Redis backend keeps its
change when the database write fails), and the room's last admission time never moves backwards."""

import contextlib
import datetime
import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from queueing import services
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.support.concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)

SECOND = datetime.timedelta(seconds=1)


@contextlib.contextmanager
def history_writes_fail():
    """PostgreSQL refuses every write to QueueEntryHistory (a real failure, raised by the database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_history() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'history write refused (test)'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse_history BEFORE INSERT OR UPDATE ON queueing_queueentryhistory "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_history()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_refuse_history ON queueing_queueentryhistory")
            cursor.execute("DROP FUNCTION test_refuse_history()")


def admitted_in_queue(backend, concert, fan, now):
    ticket = backend.status(room=WaitingRoom.objects.get(pk=concert.pk), user_id=fan.pk, now=now)
    return ticket is not None and ticket.is_admitted


def row(fan):
    return QueueEntryHistory.objects.get(user=fan)


def pending_notes(concert):
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return client.hgetall(f"{settings.QUEUE_REDIS_PREFIX}:{{{concert.pk}}}:unwritten")
    finally:
        client.close()


# --- a failed history write, then the next sweep -------------------------------------------------


def test_history_agrees_with_the_queue_after_an_admission_whose_write_failed(
    queue_backend, concert, make_room, make_fans
):
    make_room(max_active=2, is_paused=True)
    fans = make_fans(3)
    now = timezone.now()
    for fan in fans:
        services.join(user=fan, concert=concert, now=now)
    services.set_paused(concert=concert, paused=False)

    with history_writes_fail(), pytest.raises(DatabaseError):
        services.admit_batch(concert=concert, now=now + 5 * SECOND)
    services.admit_batch(concert=concert, now=now + 7 * SECOND)  # the next run (beat)

    admitted = [fan for fan in fans if admitted_in_queue(queue_backend, concert, fan, now + 8 * SECOND)]
    assert admitted == fans[:2]
    assert [row(fan).was_admitted for fan in fans] == [True, True, False]
    # Redis admitted them at the failed run (and kept it); the database rolled it back and admitted at the next.
    admitted_at = now + (7 if queue_backend.transactional else 5) * SECOND
    assert [(row(fan).admitted_at, row(fan).duration_seconds) for fan in admitted] == [
        (admitted_at, int((admitted_at - now) / SECOND))
    ] * 2
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 2


def test_a_leave_whose_history_write_failed_is_written_by_the_next_sweep(redis_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    first, second = make_fans(2)
    now = timezone.now()
    services.join(user=first, concert=concert, now=now)
    services.join(user=second, concert=concert, now=now)

    with history_writes_fail(), pytest.raises(DatabaseError):
        services.leave(user=first, concert=concert, now=now + 10 * SECOND)
    assert not admitted_in_queue(redis_backend, concert, first, now + 10 * SECOND)  # Redis let them go
    assert row(first).exited_at is None

    assert services.admit_batch(concert=concert, now=now + 12 * SECOND) == 1
    left = row(first)
    assert (left.exited_at, left.exit_reason, left.duration_seconds) == (now + 10 * SECOND, "left", 10)
    assert row(second).admitted_at == now + 12 * SECOND
    assert pending_notes(concert) == {}


def test_expiries_whose_history_write_failed_are_written_by_the_next_sweep(
    redis_backend, concert, make_room, make_fans
):
    make_room(max_active=2)
    swept, joined_over, late = make_fans(3)
    now = timezone.now()
    active = settings.ACTIVE_SECONDS * SECOND
    services.join(user=swept, concert=concert, now=now)
    services.join(user=joined_over, concert=concert, now=now + SECOND)

    # An admission run ends `swept` (ran out); a join ends `joined_over` (ran out) to admit `late`.
    with history_writes_fail(), pytest.raises(DatabaseError):
        services.expire_admissions(now=now + active + 0.5 * SECOND)
    with history_writes_fail(), pytest.raises(DatabaseError):
        services.join(user=late, concert=concert, now=now + active + 2 * SECOND)
    assert not QueueEntryHistory.objects.filter(exited_at__isnull=False).exists()
    assert not QueueEntryHistory.objects.filter(user=late).exists()  # the join itself was taken back

    services.admit_all_due(now=now + active + 3 * SECOND)
    for fan, admitted_at in ((swept, now), (joined_over, now + SECOND)):
        ended = row(fan)
        assert (ended.exited_at, ended.exit_reason) == (admitted_at + active, "expired")
        assert ended.duration_seconds == settings.ACTIVE_SECONDS
    assert pending_notes(concert) == {}


def test_catching_up_is_idempotent_and_normal_runs_leave_nothing_to_catch_up(
    redis_backend, concert, make_room, make_fans
):
    make_room(max_active=2, is_paused=True)
    fans = make_fans(4)
    now = timezone.now()
    for fan in fans:
        services.join(user=fan, concert=concert, now=now)
    services.set_paused(concert=concert, paused=False)
    with history_writes_fail(), pytest.raises(DatabaseError):
        services.admit_batch(concert=concert, now=now + SECOND)
    assert len(pending_notes(concert)) == 2

    run_together(3, lambda i: services.admit_batch(concert=concert, now=now + (2 + i) * SECOND))
    services.admit_batch(concert=concert, now=now + 6 * SECOND)

    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 2
    assert [row(fan).admitted_at for fan in fans] == [now + SECOND, now + SECOND, None, None]
    assert pending_notes(concert) == {}

    # Without failures nothing is left over: leave, admission, pay and expiry are acknowledged.
    services.leave(user=fans[0], concert=concert, now=now + 7 * SECOND)
    services.admit_batch(concert=concert, now=now + 8 * SECOND)
    services.end_for_user(user=fans[1], concert=concert, reason="paid", now=now + 9 * SECOND)
    services.expire_admissions(now=now + 8 * SECOND + settings.ACTIVE_SECONDS * SECOND)
    assert pending_notes(concert) == {}
    assert [row(fan).exit_reason for fan in fans] == ["left", "paid", "expired", ""]


# --- last admission time -------------------------------------------------------------------------


def test_last_admission_at_never_moves_backwards(queue_backend, concert, make_room, make_fans):
    make_room(max_active=1)
    (fan,) = make_fans(1)
    now = timezone.now()
    services.join(user=fan, concert=concert, now=now)

    services.admit_batch(concert=concert, now=now + 10 * SECOND)
    services.admit_batch(concert=concert, now=now + 4 * SECOND)  # a run that read the time earlier
    services.admit_all_due(now=now + 5 * SECOND)

    assert WaitingRoom.objects.get(pk=concert.pk).last_admission_at == now + 10 * SECOND


def test_an_admission_run_reads_the_time_once_it_holds_the_rooms_lock(queue_backend, concert, make_room):
    make_room(max_active=1)
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        try:
            with transaction.atomic():
                WaitingRoom.objects.select_for_update().get(pk=concert.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(timeout=30)
    runner = threading.Thread(target=lambda: (services.admit_all_due(), connection.close()))
    runner.start()
    time.sleep(1)  # the run has read the rooms and now waits for the lock
    released_at = timezone.now()
    release.set()
    holder.join()
    runner.join()

    assert WaitingRoom.objects.get(pk=concert.pk).last_admission_at >= released_at


def test_an_admission_run_before_the_joins_history_row_commits_is_written_and_counted_once(
    redis_backend, concert, make_room, make_fans
):
    """A join's script has placed the fan; its transaction (the history row) has not committed when another
    request's admission run lets the fan in: the run cannot mark a row it does not see, so the admission stays
    noted and the next run writes it, counting it once."""
    make_room(max_active=5)
    early, fan = make_fans(2)
    now = timezone.now()
    services.join(user=early, concert=concert, now=now)
    room = WaitingRoom.objects.get(pk=concert.pk)

    def join_uncommitted():  # the join's transaction, held open while another connection runs admission
        with transaction.atomic():
            placed = redis_backend.join(room=room, user_id=fan.pk, now=now)
            run_together(1, lambda i: services.admit_batch(concert=concert, now=now + SECOND))
            services.places.record_entry(user=fan, concert=concert, ticket=placed.ticket)

    join_uncommitted()

    assert admitted_in_queue(redis_backend, concert, fan, now + SECOND)
    assert not row(fan).was_admitted  # the run did not see the row
    assert pending_notes(concert)
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 1

    services.admit_batch(concert=concert, now=now + 2 * SECOND)

    assert row(fan).was_admitted and row(fan).admitted_at == now + SECOND
    assert not pending_notes(concert)
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 2
