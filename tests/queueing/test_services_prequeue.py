"""The pre-queue and its draw, against both backends: entrants before the opening get a receipt and no place,
the draw at the opening places them all in the order of queueing.draw.draw_order (once, whoever triggers it,
all or nothing), and fans who come after the opening queue behind them, first come first served."""

import datetime
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from queueing import services
from queueing.backends import get_backend
from queueing.draw import arrival_of, draw_order, is_receipt
from queueing.exceptions import QueueNotOpen, TooManyPlacesFromAddress
from queueing.models import QueueEntryHistory, WaitingRoom
from queueing.services import _history, admissions
from tests.factories import ConcertFactory, UserFactory
from tests.support.concurrency import run_at_once

SECOND = datetime.timedelta(seconds=1)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def opening():
    return (timezone.now() + datetime.timedelta(hours=1)).replace(microsecond=0)


@pytest.fixture
def upcoming(db, opening):
    """A concert whose sale opens in an hour: its pre-queue opened half an hour before (PREQUEUE_MINUTES)."""
    return ConcertFactory(sale_opens_at=opening)


def room_of(concert):
    return WaitingRoom.objects.get(pk=concert.pk)


def hold_admission(concert, max_active=100):
    """Pause admission, so the places polls show are the drawn ones (an overdue poll admits nobody)."""
    services.set_paused(concert=concert, paused=True)
    WaitingRoom.objects.filter(pk=concert.pk).update(max_active=max_active)


def enter_prequeue(concert, fans, *, at):
    return [services.join(user=fan, concert=concert, now=at + i * SECOND) for i, fan in enumerate(fans)]


def drawn_places(concert):
    """{receipt: place} of the drawn entries, from the history."""
    rows = QueueEntryHistory.objects.filter(concert=concert).exclude(receipt="").exclude(queue_position=None)
    return dict(rows.values_list("receipt", "queue_position"))


@pytest.mark.django_db
def test_before_the_opening_a_fan_gets_a_receipt_and_no_place(queue_backend, upcoming, opening, make_fans):
    a, b = make_fans(2)
    first, second = enter_prequeue(upcoming, [a, b], at=opening - 10 * MINUTE)
    again = services.join(user=a, concert=upcoming, now=opening - 5 * MINUTE)

    assert first.prequeued and not first.admitted
    assert (first.position, first.ahead, first.eta_seconds) == (0, 0, None)
    assert first.draw_at == opening
    assert is_receipt(first.receipt) and is_receipt(second.receipt) and first.receipt != second.receipt
    assert (again.token, again.receipt) == (first.token, first.receipt)  # idempotent: same entry
    polled = services.poll_place(user=b, concert=upcoming, now=opening - MINUTE)
    assert polled.prequeued and polled.receipt == second.receipt
    assert queue_backend.prequeue_count(concert_id=upcoming.pk) == 2
    assert queue_backend.counts(concert_id=upcoming.pk, now=opening - MINUTE) == (0, 0)
    visit = QueueEntryHistory.objects.get(user=a)
    assert (visit.receipt, visit.queue_position) == (first.receipt, None)


@pytest.mark.django_db
def test_nobody_enters_before_the_prequeue_opens(queue_backend, upcoming, opening, make_fans, settings):
    (fan,) = make_fans(1)
    with pytest.raises(QueueNotOpen):
        services.join(user=fan, concert=upcoming, now=opening - (settings.PREQUEUE_MINUTES + 1) * MINUTE)
    upcoming.prequeue_opens_at = opening - 2 * datetime.timedelta(hours=2)  # staff open it earlier
    upcoming.save()
    assert services.join(user=fan, concert=upcoming, now=opening - datetime.timedelta(hours=3)).prequeued


@pytest.mark.django_db
def test_admission_before_the_opening_admits_nobody_from_the_prequeue(queue_backend, upcoming, opening, make_fans):
    fans = make_fans(3)
    enter_prequeue(upcoming, fans, at=opening - 10 * MINUTE)
    assert services.admit_batch(concert=upcoming, now=opening - MINUTE) == 0
    assert room_of(upcoming).drawn_at is None
    assert all(services.poll_place(user=fan, concert=upcoming, now=opening - SECOND).prequeued for fan in fans)


@pytest.mark.django_db
def test_the_draw_places_every_entrant_in_the_order_of_the_seed(queue_backend, upcoming, opening, make_fans):
    fans = make_fans(12)
    entries = enter_prequeue(upcoming, fans, at=opening - 20 * MINUTE)
    hold_admission(upcoming, max_active=3)

    assert services.run_draw(concert=upcoming, now=opening)
    assert not services.run_draw(concert=upcoming, now=opening + SECOND)  # once

    room = room_of(upcoming)
    expected = draw_order(room.draw_seed, [entry.receipt for entry in entries])
    assert drawn_places(upcoming) == {receipt: place for place, receipt in enumerate(expected, start=1)}
    assert (room.drawn_at, room.draw_size) == (opening, 12)
    assert queue_backend.prequeue_count(concert_id=upcoming.pk) == 0
    for fan, entry in zip(fans, entries, strict=True):
        status = services.poll_place(user=fan, concert=upcoming, now=opening + SECOND)
        place = expected.index(entry.receipt) + 1
        assert not status.prequeued and status.receipt == entry.receipt
        assert (status.position, status.ahead) == (place, place - 1)

    # Admission follows the drawn order.
    services.set_paused(concert=upcoming, paused=False)
    services.admit_batch(concert=upcoming, now=opening + 2 * SECOND)
    admitted = QueueEntryHistory.objects.filter(concert=upcoming, was_admitted=True)
    assert sorted(admitted.values_list("receipt", flat=True)) == sorted(expected[:3])


@pytest.mark.django_db
def test_fans_after_the_opening_queue_behind_every_entrant_first_come_first_served(
    queue_backend, upcoming, opening, make_fans
):
    early, late = make_fans(5), make_fans(4)
    enter_prequeue(upcoming, early, at=opening - 10 * MINUTE)
    hold_admission(upcoming)

    # The first join after the opening runs the draw itself (no beat here), then queues behind it.
    statuses = [services.join(user=fan, concert=upcoming, now=opening + (i + 1) * SECOND) for i, fan in enumerate(late)]

    assert room_of(upcoming).draw_size == 5
    assert [s.position for s in statuses] == [6, 7, 8, 9]
    places = dict(QueueEntryHistory.objects.filter(user__in=late).values_list("user_id", "queue_position"))
    assert [places[fan.pk] for fan in late] == [6, 7, 8, 9]
    assert all(s.receipt == "" for s in statuses)


@pytest.mark.django_db
def test_the_first_poll_after_the_opening_runs_the_draw(queue_backend, upcoming, opening, make_fans):
    fans = make_fans(4)
    entries = enter_prequeue(upcoming, fans, at=opening - 10 * MINUTE)
    hold_admission(upcoming)
    status = services.poll_place(user=fans[0], concert=upcoming, now=opening + SECOND)
    expected = draw_order(room_of(upcoming).draw_seed, [e.receipt for e in entries])
    assert not status.prequeued
    assert status.position == expected.index(entries[0].receipt) + 1


@pytest.mark.django_db
def test_beat_runs_the_draw_at_the_opening(queue_backend, upcoming, opening, make_fans):
    enter_prequeue(upcoming, make_fans(3), at=opening - 10 * MINUTE)
    services.admit_all_due(now=opening - SECOND)
    assert room_of(upcoming).drawn_at is None
    services.admit_all_due(now=opening + SECOND)
    room = room_of(upcoming)
    assert (room.drawn_at, room.draw_size) == (opening + SECOND, 3)
    assert QueueEntryHistory.objects.filter(concert=upcoming, was_admitted=True).count() == 3


@pytest.mark.django_db
def test_who_left_the_prequeue_is_not_drawn(queue_backend, upcoming, opening, make_fans):
    a, b, c = make_fans(3)
    entries = enter_prequeue(upcoming, [a, b, c], at=opening - 10 * MINUTE)
    assert services.leave(user=b, concert=upcoming, now=opening - MINUTE)
    assert queue_backend.prequeue_count(concert_id=upcoming.pk) == 2
    services.run_draw(concert=upcoming, now=opening)
    assert set(drawn_places(upcoming)) == {entries[0].receipt, entries[2].receipt}
    assert sorted(drawn_places(upcoming).values()) == [1, 2]
    left = QueueEntryHistory.objects.get(user=b)
    assert (left.queue_position, left.exit_reason) == (None, services.EXIT_LEFT)
    assert services.poll_place(user=b, concert=upcoming, now=opening + SECOND) is None


@pytest.mark.django_db
def test_an_entry_after_the_draw_queues_normally_even_on_a_slow_clock(queue_backend, upcoming, opening, make_fans):
    a, b = make_fans(2)
    enter_prequeue(upcoming, [a], at=opening - MINUTE)
    services.run_draw(concert=upcoming, now=opening)
    # This server's clock is behind: it still thinks the sale has not opened, but the draw has run.
    late = services.join(user=b, concert=upcoming, now=opening - SECOND)
    assert not late.prequeued and late.receipt == ""
    assert QueueEntryHistory.objects.get(user=b).queue_position == 2


@pytest.mark.django_db
def test_staff_removal_is_recorded_with_who_and_why(queue_backend, upcoming, opening, make_fans):
    fan, staff = make_fans(2)
    enter_prequeue(upcoming, [fan], at=opening - MINUTE)
    assert services.remove_from_queue(concert=upcoming, user=fan, by=staff, note="one of 40 accounts on one card")
    assert not services.remove_from_queue(concert=upcoming, user=fan, by=staff, note="again")
    visit = QueueEntryHistory.objects.get(user=fan)
    assert (visit.exit_reason, visit.removed_by, visit.exit_note) == (
        services.EXIT_REMOVED,
        staff,
        "one of 40 accounts on one card",
    )
    assert services.poll_place(user=fan, concert=upcoming, now=opening - SECOND) is None


@pytest.mark.django_db
def test_a_crash_mid_draw_leaves_no_draw_and_the_next_run_makes_the_same_one(
    queue_backend, upcoming, opening, make_fans, monkeypatch
):
    fans = make_fans(6)
    entries = enter_prequeue(upcoming, fans, at=opening - MINUTE)
    hold_admission(upcoming)

    def crash(tickets):
        raise RuntimeError("the database went away mid-draw")

    monkeypatch.setattr("queueing.services.draws.record_draw", crash)
    with pytest.raises(RuntimeError):
        services.run_draw(concert=upcoming, now=opening)
    room = room_of(upcoming)
    assert (room.drawn_at, room.draw_size) == (None, 0)
    assert drawn_places(upcoming) == {}

    monkeypatch.setattr("queueing.services.draws.record_draw", _history.record_draw)
    assert services.run_draw(concert=upcoming, now=opening + SECOND)
    expected = draw_order(room.draw_seed, [e.receipt for e in entries])
    assert drawn_places(upcoming) == {receipt: place for place, receipt in enumerate(expected, start=1)}
    assert room_of(upcoming).draw_size == 6
    for fan, entry in zip(fans, entries, strict=True):
        assert services.poll_place(user=fan, concert=upcoming, now=opening + SECOND).position == (
            expected.index(entry.receipt) + 1
        )


@pytest.mark.django_db(transaction=True)
def test_the_draw_happens_once_whoever_triggers_it_at_the_same_moment(queue_backend, upcoming, opening):
    early = [UserFactory() for _ in range(10)]
    late = [UserFactory() for _ in range(4)]
    entries = enter_prequeue(upcoming, early, at=opening - MINUTE)
    at = opening + SECOND
    calls = (
        [(lambda: services.run_draw(concert=upcoming, now=at),) for _ in range(3)]
        + [(lambda fan=fan: services.poll_place(user=fan, concert=upcoming, now=at),) for fan in early[:3]]
        + [(lambda fan=fan: services.join(user=fan, concert=upcoming, now=at),) for fan in late]
    )
    outcomes = run_at_once(lambda work: work(), calls)
    assert [error for _, error in outcomes if error is not None] == []

    room = room_of(upcoming)
    assert room.draw_size == 10
    expected = draw_order(room.draw_seed, [e.receipt for e in entries])
    assert drawn_places(upcoming) == {receipt: place for place, receipt in enumerate(expected, start=1)}
    late_places = sorted(QueueEntryHistory.objects.filter(user__in=late).values_list("queue_position", flat=True))
    assert late_places == [11, 12, 13, 14]
    assert sum(1 for result, _ in outcomes[:3] if result is True) <= 1


@pytest.mark.django_db(transaction=True)
def test_live_places_per_address_are_capped_under_concurrent_joins(queue_backend, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the cap's lock is PostgreSQL's")
    settings.QUEUE_MAX_PLACES_PER_IP = 3
    concert = ConcertFactory()
    fans = [UserFactory() for _ in range(8)]
    outcomes = run_at_once(
        lambda fan: services.join(user=fan, concert=concert, client_ip="198.51.100.7"), [(fan,) for fan in fans]
    )
    joined = [result for result, error in outcomes if error is None]
    refused = [error for _, error in outcomes if error is not None]
    assert len(joined) == 3
    assert all(isinstance(error, TooManyPlacesFromAddress) for error in refused)
    assert QueueEntryHistory.objects.filter(concert=concert, client_ip="198.51.100.7").count() == 3
    # Another address is not affected; a fan who already holds a place gets it back.
    services.join(user=UserFactory(), concert=concert, client_ip="198.51.100.8")
    holder = QueueEntryHistory.objects.filter(concert=concert, client_ip="198.51.100.7").first().user
    services.join(user=holder, concert=concert, client_ip="198.51.100.7")


def test_backend_draw_is_all_or_nothing_when_the_prequeue_changes_under_it(redis_backend, upcoming, opening):
    """Redis: the draw's commit checks the pre-queue is exactly what was read; a change makes it read again."""
    fans = [UserFactory() for _ in range(3)]
    enter_prequeue(upcoming, fans, at=opening - MINUTE)
    room = room_of(upcoming)
    backend = get_backend()
    script = backend._draw_commit
    calls = []

    def changing(keys, args):
        if not calls:  # a fan leaves between the read and the commit
            backend.end(concert_id=upcoming.pk, user_id=fans[0].pk, now=opening, reason="left")
        calls.append(args)
        return script(keys=keys, args=args)

    backend._draw_commit = changing
    try:
        drawn = backend.draw(room=room, seed=room.draw_seed, now=opening, record=_history.record_draw)
    finally:
        backend._draw_commit = script
    assert len(calls) == 2
    assert [t.sequence for t in drawn.tickets] == [1, 2]
    assert {t.user_id for t in drawn.tickets} == {fans[1].pk, fans[2].pk}
    # The first attempt's history write was rolled back with it: the leaver has no place.
    places = dict(QueueEntryHistory.objects.filter(concert=upcoming).values_list("user_id", "queue_position"))
    assert places[fans[0].pk] is None
    assert sorted([places[fans[1].pk], places[fans[2].pk]]) == [1, 2]
    assert drawn.drawn_at == opening
    # Kept: a retry later gets the same draw, with the time it ran.
    assert backend.draw(room=room, seed=room.draw_seed, now=opening + MINUTE) == drawn


def record_collecting(into):
    """A draw's `record` that writes the history as run_draw's does and keeps what it was given."""

    def record(places):
        into.append([(uuid.UUID(str(token)), place) for token, place in places])
        _history.record_draw(places)

    return record


def arrivals_of(concert, places):
    receipts = dict(QueueEntryHistory.objects.filter(concert=concert).values_list("token", "receipt"))
    return [arrival_of(receipts[token]) for token, _ in places]


@pytest.mark.django_db
def test_the_draw_records_its_places_in_arrival_order(queue_backend, upcoming, opening, make_fans):
    """`record` gets the places in arrival order, the order the history rows lie in (so a big draw's UPDATE
    walks the table in order), each with the place the draw gave it."""
    enter_prequeue(upcoming, make_fans(12), at=opening - 10 * MINUTE)
    room = room_of(upcoming)
    calls = []
    drawn = queue_backend.draw(room=room, seed=room.draw_seed, now=opening, record=record_collecting(calls))
    [places] = calls
    assert arrivals_of(upcoming, places) == list(range(1, 13))
    assert [place for _, place in places] != list(range(1, 13))  # the draw did reorder them
    assert dict(places) == {ticket.token: ticket.sequence for ticket in drawn.tickets}
    assert drawn_places(upcoming) == {ticket.receipt: ticket.sequence for ticket in drawn.tickets}


def test_a_kept_redis_draw_is_recorded_again_in_arrival_order(redis_backend, upcoming, opening, make_fans):
    """The draw Redis kept (the database write failed after its commit) is recorded again in arrival order too."""
    enter_prequeue(upcoming, make_fans(12), at=opening - 10 * MINUTE)
    room = room_of(upcoming)
    drawn = redis_backend.draw(room=room, seed=room.draw_seed, now=opening)  # recorded nowhere
    calls = []
    again = redis_backend.draw(room=room, seed=room.draw_seed, now=opening + MINUTE, record=record_collecting(calls))
    [places] = calls
    assert again == drawn
    assert arrivals_of(upcoming, places) == list(range(1, 13))
    assert dict(places) == {ticket.token: ticket.sequence for ticket in drawn.tickets}
    assert drawn_places(upcoming) == {ticket.receipt: ticket.sequence for ticket in drawn.tickets}


def test_admissions_module_exports_removal():
    assert admissions.remove_from_queue is services.remove_from_queue


def test_a_retry_after_a_crash_keeps_the_time_redis_drew(redis_backend, upcoming, opening, monkeypatch):
    """The gap one transaction cannot close: Redis committed its draw, then the database failed before its
    commit. Redis keeps the draw, and the retry records that one, places and time."""
    entries = enter_prequeue(upcoming, [UserFactory(), UserFactory()], at=opening - MINUTE)

    def failing(self, *args, **kwargs):
        raise RuntimeError("the database went away after Redis drew")

    with monkeypatch.context() as patched:
        patched.setattr(WaitingRoom, "save", failing)
        with pytest.raises(RuntimeError):
            services.run_draw(concert=upcoming, now=opening)
    assert drawn_places(upcoming) == {}
    assert redis_backend.client.hexists(redis_backend.key(upcoming.pk, "draw"), "_")

    services.run_draw(concert=upcoming, now=opening + 30 * SECOND)
    assert room_of(upcoming).drawn_at == opening  # when the places were given, not when the retry wrote them
    expected = draw_order(room_of(upcoming).draw_seed, [e.receipt for e in entries])
    assert drawn_places(upcoming) == {receipt: place for place, receipt in enumerate(expected, start=1)}


def test_receipts_never_repeat_when_redis_loses_the_prequeue(redis_backend, upcoming, opening):
    first = enter_prequeue(upcoming, [UserFactory(), UserFactory()], at=opening - 2 * MINUTE)
    for name in ("pre", "preseq", "receipts"):  # a Redis restarted without its data
        redis_backend.client.delete(redis_backend.key(upcoming.pk, name))
    (later,) = enter_prequeue(upcoming, [UserFactory()], at=opening - MINUTE)
    assert [e.receipt for e in first] == ["P000001", "P000002"]
    assert later.receipt == "P000003"


def test_a_lost_redis_queue_goes_on_after_the_drawn_places(redis_backend, upcoming, opening):
    enter_prequeue(upcoming, [UserFactory() for _ in range(3)], at=opening - MINUTE)
    services.run_draw(concert=upcoming, now=opening)
    for key in redis_backend.client.scan_iter(match=redis_backend.key(upcoming.pk, "*")):
        redis_backend.client.delete(key)  # every key of the concert gone
    late = UserFactory()
    services.join(user=late, concert=upcoming, now=opening + SECOND)
    assert QueueEntryHistory.objects.get(user=late).queue_position == 4


@pytest.mark.django_db
def test_an_ipv6_subscriber_network_counts_as_one_address(queue_backend, settings):
    settings.QUEUE_MAX_PLACES_PER_IP = 2
    concert = ConcertFactory()
    services.join(user=UserFactory(), concert=concert, client_ip="2001:db8:1:2::a")
    services.join(user=UserFactory(), concert=concert, client_ip="2001:db8:1:2:ffff::b")
    with pytest.raises(TooManyPlacesFromAddress):
        services.join(user=UserFactory(), concert=concert, client_ip="2001:db8:1:2:1234::c")
    services.join(user=UserFactory(), concert=concert, client_ip="2001:db8:1:3::a")  # the next /64
    assert set(QueueEntryHistory.objects.values_list("client_ip", flat=True)) == {"2001:db8:1:2::", "2001:db8:1:3::"}


def test_joins_go_on_when_redis_lost_the_draw(redis_backend, upcoming, opening):
    early, late = UserFactory(), UserFactory()
    enter_prequeue(upcoming, [early], at=opening - MINUTE)
    services.run_draw(concert=upcoming, now=opening)
    redis_backend.client.delete(redis_backend.key(upcoming.pk, "draw"))  # a Redis that lost its data

    status = services.join(user=late, concert=upcoming, now=opening + SECOND)

    assert not status.prequeued
    assert QueueEntryHistory.objects.get(user=late).queue_position == 2


STAGING_KEYS = ("stage:draw", "stage:id", "stage:tokens", "stage:waiting")


def staged_keys(backend, concert):
    return [name for name in STAGING_KEYS if backend.client.exists(backend.key(concert.pk, name))]


@pytest.fixture(params=["redis", "redis-cluster"])
def any_redis_backend(request):
    return request.getfixturevalue("redis_backend" if request.param == "redis" else "redis_cluster_backend")


def test_a_draw_bigger_than_a_chunk_places_everyone_in_the_order_of_the_seed(
    any_redis_backend, upcoming, opening, monkeypatch
):
    """Redis stages a big draw a chunk a script: the chunks join up into one draw, 1..n in draw_order (on a
    Redis Cluster too: every staging key shares the concert's hash tag, so the commit's renames stay on one
    slot)."""
    redis_backend = any_redis_backend
    monkeypatch.setattr("queueing.backends.redis.DRAW_CHUNK", 4)
    fans = [UserFactory() for _ in range(11)]
    entries = enter_prequeue(upcoming, fans, at=opening - MINUTE)
    hold_admission(upcoming)
    stage = redis_backend._draw_stage
    chunks = []

    def counting(keys, args):
        chunks.append(args[4].count("\n") + 1)
        return stage(keys=keys, args=args)

    monkeypatch.setattr(redis_backend, "_draw_stage", counting)
    assert services.run_draw(concert=upcoming, now=opening)

    assert chunks == [4, 4, 3]
    expected = draw_order(room_of(upcoming).draw_seed, [e.receipt for e in entries])
    assert drawn_places(upcoming) == {receipt: place for place, receipt in enumerate(expected, start=1)}
    for fan, entry in zip(fans, entries, strict=True):
        place = expected.index(entry.receipt) + 1
        assert services.poll_place(user=fan, concert=upcoming, now=opening + SECOND).position == place
    assert staged_keys(redis_backend, upcoming) == []
    assert redis_backend.client.ttl(redis_backend.key(upcoming.pk, "waiting")) == -1  # the staging's expiry is gone
    assert redis_backend.client.ttl(redis_backend.key(upcoming.pk, "draw")) == -1


def test_a_crash_between_chunks_shows_no_place_and_the_next_run_makes_the_whole_draw(
    any_redis_backend, upcoming, opening, monkeypatch
):
    redis_backend = any_redis_backend
    monkeypatch.setattr("queueing.backends.redis.DRAW_CHUNK", 3)
    fans = [UserFactory() for _ in range(8)]
    entries = enter_prequeue(upcoming, fans, at=opening - MINUTE)
    hold_admission(upcoming)
    stage = redis_backend._draw_stage
    calls = []

    def dying(keys, args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the beat process was killed between two chunks")
        return stage(keys=keys, args=args)

    monkeypatch.setattr(redis_backend, "_draw_stage", dying)
    with pytest.raises(RuntimeError):
        services.run_draw(concert=upcoming, now=opening)

    # Half staged, nothing drawn: no places anywhere, everyone still in the pre-queue, the staging expiring.
    assert staged_keys(redis_backend, upcoming) == list(STAGING_KEYS)
    assert redis_backend.client.pttl(redis_backend.key(upcoming.pk, "stage:waiting")) > 0
    assert room_of(upcoming).drawn_at is None
    assert drawn_places(upcoming) == {}
    assert redis_backend.prequeue_count(concert_id=upcoming.pk) == 8
    assert redis_backend.counts(concert_id=upcoming.pk, now=opening) == (0, 0)
    assert all(services.poll_place(user=fan, concert=upcoming, now=opening - SECOND).prequeued for fan in fans)

    monkeypatch.setattr(redis_backend, "_draw_stage", stage)
    assert services.run_draw(concert=upcoming, now=opening + SECOND)
    expected = draw_order(room_of(upcoming).draw_seed, [e.receipt for e in entries])
    assert drawn_places(upcoming) == {receipt: place for place, receipt in enumerate(expected, start=1)}
    assert redis_backend.counts(concert_id=upcoming.pk, now=opening + SECOND) == (8, 0)
    assert staged_keys(redis_backend, upcoming) == []
    room = room_of(upcoming)
    again = redis_backend.draw(room=room, seed=room.draw_seed, now=opening + MINUTE)  # the kept record
    assert (sorted(t.sequence for t in again.tickets), again.drawn_at) == (list(range(1, 9)), opening + SECOND)


def test_an_overtaken_draw_attempt_stops_and_commits_nothing(redis_backend, upcoming, opening, monkeypatch):
    """A draw whose staging another attempt took over (a stalled process whose lock was given up) cannot
    commit half of its chunks over the other's: its next chunk is refused, and it reads and stages again."""
    monkeypatch.setattr("queueing.backends.redis.DRAW_CHUNK", 2)
    fans = [UserFactory() for _ in range(5)]
    enter_prequeue(upcoming, fans, at=opening - MINUTE)
    room = room_of(upcoming)
    stage = redis_backend._draw_stage
    attempts = []

    def overtaken(keys, args):
        if args[1] == "1":
            attempts.append(args[0])
        if len(attempts) == 1 and args[1] == "0":
            stage(keys=keys, args=["intruder", "1", 60_000, 1, ""])  # another attempt starts staging
        return stage(keys=keys, args=args)

    monkeypatch.setattr(redis_backend, "_draw_stage", overtaken)
    drawn = redis_backend.draw(room=room, seed=room.draw_seed, now=opening)

    assert len(attempts) == 2  # the first was refused at its second chunk, the second went through
    assert sorted(t.sequence for t in drawn.tickets) == [1, 2, 3, 4, 5]
    assert redis_backend.counts(concert_id=upcoming.pk, now=opening) == (5, 0)


def test_a_redraw_after_redis_lost_only_its_draw_record_merges_into_the_live_queue(redis_backend, upcoming, opening):
    """The draw's commit renames its staged keys into place when the queue is empty (the opening), and merges
    them when it is not: here Redis lost only the draw record, a server with a slow clock put a fan in the
    pre-queue after the draw, and the next join records the draw again behind the queue that is there."""
    early, slow, late = UserFactory(), UserFactory(), UserFactory()
    enter_prequeue(upcoming, [early], at=opening - MINUTE)
    hold_admission(upcoming)
    services.run_draw(concert=upcoming, now=opening)
    redis_backend.client.delete(redis_backend.key(upcoming.pk, "draw"))
    assert services.join(user=slow, concert=upcoming, now=opening - SECOND).prequeued

    services.join(user=late, concert=upcoming, now=opening + SECOND)

    places = dict(QueueEntryHistory.objects.filter(concert=upcoming).values_list("user_id", "queue_position"))
    assert places == {early.pk: 1, slow.pk: 2, late.pk: 3}
    positions = [services.poll_place(user=fan, concert=upcoming, now=opening + SECOND) for fan in (early, slow, late)]
    assert [(p.position, p.prequeued) for p in positions] == [(1, False), (2, False), (3, False)]


@pytest.mark.django_db
def test_a_prequeue_poll_knows_how_many_entered_and_a_drawn_one_does_not(queue_backend, upcoming, opening, make_fans):
    fans = make_fans(3)
    enter_prequeue(upcoming, fans, at=opening - 10 * MINUTE)
    services.leave(user=fans[2], concert=upcoming)
    before = services.poll_place(user=fans[0], concert=upcoming, now=opening - MINUTE)
    # What the opening's spread follows: those still there (Redis) or, costing no COUNT, all who entered
    # (the database backend's arrivals).
    assert before.prequeued and before.prequeue_size in (2, 3)
    hold_admission(upcoming)
    after = services.poll_place(user=fans[0], concert=upcoming, now=opening + SECOND)
    assert (after.prequeued, after.prequeue_size) == (False, 0)
