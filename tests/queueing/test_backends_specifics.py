"""What each backend promises beyond the shared contract: cheap status, key layout, unreachable Redis."""

import uuid

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from redis.crc import key_slot

from accounts.models import User
from queueing import services
from queueing.backends.database import EXACT_AHEAD_WINDOW
from queueing.exceptions import QueueUnavailable
from queueing.models import QueueEntryHistory, QueueToken, WaitingRoom

pytestmark = pytest.mark.django_db


def long_queue(concert, size, *, now):
    """`size` waiting fans in the database backend's table, as joins would have left them, the last admission run
    at `now`."""
    users = User.objects.bulk_create(
        User(email=f"q{i}-{uuid.uuid4().hex[:6]}@example.com", name=f"Fan {i}", password="!") for i in range(size)
    )
    QueueToken.objects.bulk_create(
        QueueToken(user=user, concert=concert, queue_position=i + 1, issued_at=now) for i, user in enumerate(users)
    )
    WaitingRoom.objects.filter(pk=concert.pk).update(next_position=size, last_admission_at=now)
    return users


def test_database_status_far_back_does_not_count_the_rows_ahead(settings, concert, make_room):
    settings.QUEUE_BACKEND = "database"
    make_room(max_active=1, is_paused=True)
    users = long_queue(concert, 3_000, now=timezone.now())

    with CaptureQueriesContext(connection) as queries:
        last = services.poll_place(user=users[-1], concert=concert)
    assert last.ahead == 2_999
    assert len(queries) == 2
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)

    # Near the front the count is exact, and bounded by the window.
    with CaptureQueriesContext(connection) as queries:
        near = services.poll_place(user=users[500], concert=concert)
    assert near.ahead == 500
    assert len(queries) == 3


def test_database_ahead_far_back_is_an_upper_bound_until_admission_passes(settings, concert, make_room):
    settings.QUEUE_BACKEND = "database"
    make_room(max_active=2_000, admit_per_minute=60_000)  # a run may admit 2,000 (pacing.burst_size)
    # One moment throughout: on the real clock a loaded host may take longer to write the queue than an admission
    # run may be missed (OVERDUE_INTERVALS beat intervals), and the first poll would then run one itself.
    now = timezone.now()
    users = long_queue(concert, 2_500, now=now)
    services.leave(user=users[10], concert=concert, now=now)

    far = services.poll_place(user=users[-1], concert=concert, now=now)
    assert far.ahead >= 2_498  # the fan who left may still be counted far back
    near = services.poll_place(user=users[EXACT_AHEAD_WINDOW], concert=concert, now=now)
    assert near.ahead == EXACT_AHEAD_WINDOW - 1  # exact near the front

    services.admit_batch(concert=concert, now=now, limit=2_000)
    assert services.poll_place(user=users[-1], concert=concert, now=now).ahead == 2_500 - 2_001 - 1


def test_redis_keys_are_prefixed_and_share_one_slot_per_concert(redis_backend, redis_prefix, settings, make_fans):
    from tests.factories import ConcertFactory, WaitingRoomFactory

    client = redis.Redis.from_url(settings.REDIS_URL)
    before = set(client.keys("*"))
    concerts = [ConcertFactory(), ConcertFactory()]
    fans = make_fans(3)
    for concert in concerts:
        room = WaitingRoomFactory(concert=concert)
        WaitingRoom.objects.filter(pk=room.pk).update(max_active=1)
        for fan in fans:
            services.join(user=fan, concert=concert)
        services.touch(user=fans[0], concert=concert)
        services.leave(user=fans[0], concert=concert)
        services.admit_batch(concert=concert)
    created = {key.decode() for key in set(client.keys("*")) - before}
    client.close()

    assert created
    assert all(key.startswith(f"{redis_prefix}:") for key in created)
    for concert in concerts:
        mine = [key for key in created if f":{{{concert.pk}}}:" in key]
        assert {"seq", "waiting", "admitted", "tokens"} <= {key.rsplit(":", 1)[1] for key in mine}
        assert len({key_slot(key.encode()) for key in mine}) == 1
    assert len(created) == sum(1 for key in created for c in concerts if f"{{{c.pk}}}" in key)


def test_redis_down_raises_queue_unavailable_and_writes_nothing(settings, redis_prefix, concert, make_room, make_fans):
    settings.QUEUE_BACKEND = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/3"
    make_room()
    (fan,) = make_fans(1)

    with pytest.raises(QueueUnavailable) as down:
        services.join(user=fan, concert=concert)
    assert "temporarily unavailable" in down.value.reason
    for call in (services.poll_place, services.touch, services.leave):
        with pytest.raises(QueueUnavailable):
            call(user=fan, concert=concert)
    # After a payment the hook must not fail the request: it logs and lets the admission run out.
    assert services.end_for_user(user=fan, concert=concert, reason="paid") is False
    assert services.admit_all_due() == 0
    assert not QueueEntryHistory.objects.exists()
