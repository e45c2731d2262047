"""How often a waiting page polls (queueing.services.poll_seconds): the opening's polls are spread over a time
that grows with the pre-queue (within a floor and a cap), and a waiting fan polls less often the further back
they are, while a fan near the front polls every few seconds."""

import datetime
import random
import uuid

import pytest
from django.utils import timezone

from queueing import services
from queueing.services import QueueStatus

OPENING = timezone.now().replace(microsecond=0) + datetime.timedelta(hours=1)


def prequeued(size):
    return QueueStatus(
        position=0,
        ahead=0,
        eta_seconds=None,
        admitted=False,
        token=uuid.uuid4(),
        expires_at=None,
        prequeued=True,
        receipt="P000001",
        draw_at=OPENING,
        prequeue_size=size,
    )


def waiting(ahead, eta_seconds):
    return QueueStatus(
        position=ahead + 1, ahead=ahead, eta_seconds=eta_seconds, admitted=False, token=uuid.uuid4(), expires_at=None
    )


def polls_before_the_opening(size, *, seconds_before=5, count=400):
    rng = random.Random(14)
    now = OPENING - datetime.timedelta(seconds=seconds_before)
    return [services.poll_seconds(prequeued(size), now=now, rng=rng) - seconds_before for _ in range(count)]


@pytest.mark.parametrize(
    ("size", "spread"),
    [(0, 12), (1, 12), (1_800, 12), (2_000, 14), (9_000, 60), (18_000, 120), (100_000, 120), (1_000_000, 120)],
)
def test_the_opening_spread_grows_with_the_prequeue_between_its_floor_and_its_cap(size, spread):
    assert services.opening_spread_seconds(size) == spread


def test_the_opening_spread_follows_the_configured_polls_a_second(settings):
    settings.QUEUE_OPENING_POLLS_PER_SECOND = 50
    assert services.opening_spread_seconds(3_000) == 60


@pytest.mark.parametrize(("size", "spread"), [(10, 12), (9_000, 60), (100_000, 120)])
def test_prequeue_fans_are_told_a_moment_spread_over_the_whole_spread_after_the_opening(size, spread):
    after_the_opening = polls_before_the_opening(size)
    assert min(after_the_opening) >= 1 and max(after_the_opening) <= spread
    assert max(after_the_opening) > spread * 0.9 and min(after_the_opening) < spread * 0.1


def test_long_before_the_opening_a_prequeue_fan_polls_every_max_poll_seconds():
    now = OPENING - datetime.timedelta(minutes=10)
    assert services.poll_seconds(prequeued(9_000), now=now) == services.MAX_POLL_SECONDS


def test_a_prequeue_poll_whose_jittered_wait_could_cross_the_opening_is_spread_after_it():
    # 65 s before: told 60 s, the script's jitter (up to a fifth longer) would land in the opening's first seconds.
    assert min(polls_before_the_opening(9_000, seconds_before=65)) >= 1


def test_the_front_polls_every_few_seconds_whatever_the_estimate_says():
    assert services.poll_seconds(waiting(0, 6)) == services.MIN_POLL_SECONDS
    # Before any admission the estimate assumes every admitted fan takes ACTIVE_SECONDS: 50 ahead of 100 places
    # looks like five minutes, but the front moves far faster at an opening.
    assert services.poll_seconds(waiting(50, 306)) <= 8


def test_polls_slow_down_with_the_distance_and_never_outlast_the_wait_or_the_maximum():
    rate = 15  # fans admitted a second
    intervals = [services.poll_seconds(waiting(ahead, (ahead + 1) // rate + 1)) for ahead in range(0, 20_000, 7)]
    assert intervals == sorted(intervals)
    assert intervals[0] == services.MIN_POLL_SECONDS and intervals[-1] == services.MAX_POLL_SECONDS
    for ahead, interval in zip(range(0, 20_000, 7), intervals, strict=True):
        eta = (ahead + 1) // rate + 1
        assert interval <= max(services.MIN_POLL_SECONDS, eta)


def test_the_longest_wait_between_polls_is_a_small_part_of_an_admission(settings):
    assert services.MAX_POLL_SECONDS <= settings.ACTIVE_SECONDS / 10


def test_a_paused_room_and_an_admitted_fan_keep_their_intervals():
    assert services.poll_seconds(waiting(500, None)) == 15
    assert services.poll_seconds(None) == services.MIN_POLL_SECONDS
