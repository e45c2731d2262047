"""The admission rate (queueing.services.pacing), on every backend: a room lets in at most admit_per_minute fans in
any minute, a beat interval's worth at a time, first-in first-out, and a join admitted at once is one of them."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from queueing import services
from queueing.models import QueueEntryHistory, WaitingRoom
from queueing.services.pacing import RATE_WINDOW_SECONDS, admission_allowance, burst_size
from tests.support.concurrency import run_together

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _beat_every_two_seconds(settings):
    settings.ADMIT_QUEUE_EVERY_SECONDS = 2.0


def queue_up(concert, fans, now):
    """The fans wait in this order (the room paused while they join, so nobody is let in), then it resumes."""
    services.set_paused(concert=concert, paused=True)
    for fan in fans:
        services.join(user=fan, concert=concert, now=now)
    services.set_paused(concert=concert, paused=False)


def admitted_fans(fans, concert, now):
    return [fan for fan in fans if services.touch(user=fan, concert=concert, now=now)]


def test_the_opening_admits_about_a_beat_interval_of_the_rate_at_a_time(queue_backend, concert, make_room, make_fans):
    make_room(max_active=100, admit_per_minute=600)  # 10 a second: 20 per two-second beat interval, and one
    fans = make_fans(50)
    now = timezone.now()
    queue_up(concert, fans, now)

    assert services.admit_batch(concert=concert, now=now) == 21
    assert admitted_fans(fans, concert, now) == fans[:21]  # the front of the queue
    assert services.admit_batch(concert=concert, now=now + SECOND / 2) == 5  # what half a second earned
    assert services.admit_batch(concert=concert, now=now + 2 * SECOND) == 15
    assert admitted_fans(fans, concert, now + 2 * SECOND) == fans[:41]
    assert services.admit_batch(concert=concert, now=now + 3 * SECOND) == 9  # the last nine
    assert services.admit_batch(concert=concert, now=now + 30 * SECOND) == 0
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 50


def test_a_room_admits_at_most_its_rate_in_any_minute_over_irregular_runs(queue_backend, concert, make_room, make_fans):
    make_room(max_active=500, admit_per_minute=20)  # one every three seconds, two at most at once
    fans = make_fans(70)
    start = timezone.now()
    queue_up(concert, fans, start)

    admissions = []  # (seconds since start, fans admitted)
    at = 0.0
    steps = [0.7, 1.3, 2.0, 0.2, 4.1, 2.9]  # beat on time, late, and polls running admission in between
    while at < 180:
        count = services.admit_batch(concert=concert, now=start + datetime.timedelta(seconds=at))
        if count:
            admissions.append((at, count))
        at += steps[len(admissions) % len(steps)]

    for end, _ in admissions:
        in_minute = sum(count for when, count in admissions if end - 60 < when <= end)
        assert in_minute <= 20
    total = sum(count for _, count in admissions)
    assert 57 <= total <= 62  # the rate is reached: three minutes' worth, about
    assert admitted_fans(fans, concert, start + 180 * SECOND) == fans[:total]
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == total


def test_a_join_is_admitted_at_once_only_within_the_rate_and_never_ahead_of_a_waiting_fan(
    queue_backend, concert, make_room, make_fans
):
    make_room(max_active=10, admit_per_minute=60)  # one a second, three at most at once
    a, b, c, d, e, f = make_fans(6)
    now = timezone.now()

    assert all(services.join(user=fan, concert=concert, now=now).admitted for fan in (a, b, c))
    held = services.join(user=d, concert=concert, now=now)  # room to spare, but the rate is spent
    assert not held.admitted and (held.position, held.ahead) == (1, 0)
    assert held.eta_seconds is not None and held.eta_seconds >= 1

    # A second later the rate has earned one place: the fan waiting at the front gets it, not a newcomer.
    later = services.join(user=e, concert=concert, now=now + SECOND)
    assert not later.admitted and (later.position, later.ahead) == (2, 1)
    assert services.admit_batch(concert=concert, now=now + SECOND) == 1
    assert admitted_fans([a, b, c, d, e], concert, now + SECOND) == [a, b, c, d]

    behind = services.join(user=f, concert=concert, now=now + 1.5 * SECOND)
    assert not behind.admitted and behind.ahead == 1
    assert services.admit_batch(concert=concert, now=now + 3 * SECOND) == 2
    history = QueueEntryHistory.objects.filter(concert=concert).order_by("queue_position")
    assert [h.user_id for h in history] == [fan.pk for fan in (a, b, c, d, e, f)]
    assert [h.admitted_at for h in history] == [now] * 3 + [now + SECOND] + [now + 3 * SECOND] * 2
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 6


def test_a_join_at_the_front_is_admitted_once_the_rate_allows_again(queue_backend, concert, make_room, make_fans):
    make_room(max_active=10, admit_per_minute=60)
    fans = make_fans(4)
    now = timezone.now()
    for fan in fans[:3]:
        services.join(user=fan, concert=concert, now=now)

    joined = services.join(user=fans[3], concert=concert, now=now + 5 * SECOND)  # the bucket has refilled

    assert joined.admitted and joined.expires_at == now + 5 * SECOND + settings.ACTIVE_SECONDS * SECOND
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_and_runs_never_pass_the_rate(queue_backend, concert, make_room, make_fans):
    make_room(max_active=50, admit_per_minute=90)  # 1.5 a second: four at most at once (pacing.burst_size)
    fans = make_fans(16)
    now = timezone.now()

    def work(i):
        if i < 12:
            return services.join(user=fans[i], concert=concert, now=now).admitted
        return services.admit_batch(concert=concert, now=now)

    run_together(16, work)

    # A run may have found few waiting, so fewer may be in; more never. Another run at the same moment fills
    # the bucket's four exactly.
    waiting, admitted = queue_backend.counts(concert_id=concert.pk, now=now)
    assert admitted <= 4 and waiting + admitted == 12
    assert services.admit_batch(concert=concert, now=now) == 4 - admitted
    assert queue_backend.counts(concert_id=concert.pk, now=now) == (8, 4)
    # Whoever was let in held the first places handed out: admission takes the queue from its front.
    places = QueueEntryHistory.objects.filter(concert=concert).order_by("queue_position")
    assert [h.was_admitted for h in places] == [True] * 4 + [False] * 8
    assert WaitingRoom.objects.get(pk=concert.pk).admitted_total == 4

    # Runs racing a second later let in what the rate earned meanwhile, and no more.
    run_together(4, lambda i: services.admit_batch(concert=concert, now=now + SECOND))
    assert queue_backend.counts(concert_id=concert.pk, now=now + SECOND) == (7, 5)


def test_the_estimated_wait_follows_the_rate_when_it_is_slower_than_capacity(
    queue_backend, concert, make_room, make_fans
):
    make_room(max_active=100, admit_per_minute=6)  # one every 10 s; capacity: one every 6 s
    fans = make_fans(12)
    now = timezone.now()
    queue_up(concert, fans, now)
    assert services.admit_batch(concert=concert, now=now) == 2

    last = services.poll_place(user=fans[11], concert=concert, now=now)
    assert last.ahead == 9
    assert last.eta_seconds == 100  # ten fans at six a minute, not 60 s at capacity's pace

    # Many admitted lately (the rate was higher until staff lowered it): the estimate still keeps to the rate.
    room = WaitingRoom.objects.get(pk=concert.pk)
    room.admission_log = [[(now - 10 * SECOND).timestamp(), 60]]
    assert services.estimate_wait_seconds(ahead=9, room=room, now=now) == 100
    room.admit_per_minute = 6_000
    assert services.estimate_wait_seconds(ahead=9, room=room, now=now) == 10  # one a second observed
    room.admission_log = [[(now - 10 * SECOND).timestamp(), 9_000]]  # 150 a second observed, 100 allowed
    assert services.estimate_wait_seconds(ahead=599, room=room, now=now) == 6


# --- the rule alone --------------------------------------------------------------------------------

RATES = st.sampled_from([1, 7, 20, 60, 90, 600, 1_200, 6_000])
# In milliseconds: the admission log keeps times to the millisecond, and so does the rule.
GAPS = st.lists(st.integers(min_value=0, max_value=40_000), min_size=1, max_size=120)


@given(per_minute=RATES, gaps=GAPS, demands=st.lists(st.integers(min_value=0, max_value=500), min_size=1))
def test_no_minute_and_no_span_ever_gets_more_than_the_rate_allows(per_minute, gaps, demands):
    epoch = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    burst = burst_size(per_minute=per_minute)
    log, at_ms = [], 0
    for i, gap in enumerate(gaps):
        at_ms += gap
        now = epoch + datetime.timedelta(milliseconds=at_ms)
        allowed = admission_allowance(per_minute=per_minute, log=log, now=now)
        assert allowed >= 0
        admitted = min(allowed, demands[i % len(demands)])
        if admitted:
            log.append([now.timestamp(), admitted])

    for end, _ in log:
        assert sum(n for when, n in log if end - RATE_WINDOW_SECONDS < when <= end) <= per_minute
        for start, _ in log:
            if start <= end:
                span = sum(n for when, n in log if start <= when <= end)
                assert span <= burst + per_minute * (end - start) / RATE_WINDOW_SECONDS + 1e-6


@given(per_minute=RATES)
def test_runs_every_beat_interval_reach_the_rate(per_minute):
    epoch = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    log = []
    for run in range(150):  # five minutes of runs every two seconds, fans always waiting
        now = epoch + datetime.timedelta(seconds=2 * run)
        allowed = admission_allowance(per_minute=per_minute, log=log, now=now)
        if allowed:
            log.append([now.timestamp(), allowed])
    total = sum(n for _, n in log)
    assert 5 * per_minute - burst_size(per_minute=per_minute) <= total <= 5 * per_minute + per_minute
