"""Fixtures of the waiting-room tests: the backend under test (both, by parametrization), rooms and fans.

The Redis backend uses the Redis of REDIS_URL with a key prefix unique to each test, and deletes its keys
afterwards, so tests never see each other's queues (nor anyone else's in a shared Redis db).
"""

import uuid

import pytest

from queueing.backends import get_backend
from tests.factories import ConcertFactory, UserFactory, WaitingRoomFactory
from tests.support.redis_keys import delete_prefixed_keys


@pytest.fixture
def redis_prefix(settings):
    prefix = f"test-queue:{uuid.uuid4().hex[:12]}"
    url = settings.REDIS_URL  # tests may point REDIS_URL at a dead server; clean up the real one
    settings.QUEUE_REDIS_PREFIX = prefix
    yield prefix
    delete_prefixed_keys(url, prefix)


@pytest.fixture(params=["database", "redis"])
def queue_backend(request, settings):
    """Runs the test once per backend; returns the configured backend instance."""
    settings.QUEUE_BACKEND = request.param
    if request.param == "redis":
        request.getfixturevalue("redis_prefix")
    return get_backend()


@pytest.fixture
def redis_backend(settings, redis_prefix):
    settings.QUEUE_BACKEND = "redis"
    return get_backend()


@pytest.fixture
def concert(db):
    return ConcertFactory()


@pytest.fixture
def make_room(concert):
    def make(max_active=5, is_paused=False, target=None):
        room = WaitingRoomFactory(concert=target or concert)
        room.max_active, room.is_paused = max_active, is_paused
        room.save(update_fields=["max_active", "is_paused"])
        return room

    return make


@pytest.fixture
def make_fans(db):
    def make(count):
        return [UserFactory() for _ in range(count)]

    return make
