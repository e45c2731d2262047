"""Fixtures of the waiting-room tests: the backend under test (each, by parametrization), rooms and fans.

The Redis backend uses the Redis of REDIS_URL with a key prefix unique to each test, and deletes its keys
afterwards, so tests never see each other's queues (nor anyone else's in a shared Redis db). The
"redis-cluster" backend is the same code on a three-master Redis Cluster that this test session starts on
free ports the first time a test asks for it, and stops at the end (tests/support/redis_cluster.py).
"""

import uuid

import pytest

from queueing.backends import get_backend
from tests.factories import ConcertFactory, UserFactory, WaitingRoomFactory
from tests.support.redis_cluster import running_cluster
from tests.support.redis_keys import delete_prefixed_keys


@pytest.fixture
def redis_prefix(settings):
    prefix = f"test-queue:{uuid.uuid4().hex[:12]}"
    url = settings.REDIS_URL  # tests may point REDIS_URL at a dead server; clean up the real one
    settings.QUEUE_REDIS_PREFIX = prefix
    yield prefix
    delete_prefixed_keys(url, prefix)


@pytest.fixture(scope="session")
def redis_cluster():
    """A private three-master Redis Cluster for the whole session (skipped, saying why, without redis-server)."""
    yield from running_cluster()


@pytest.fixture
def redis_cluster_backend(settings, redis_cluster, redis_prefix):
    """The Redis backend on the session's Redis Cluster, under the test's own key prefix."""
    settings.QUEUE_BACKEND = "redis"
    settings.QUEUE_REDIS_URL = redis_cluster.url
    settings.QUEUE_REDIS_CLUSTER = True
    yield get_backend()
    delete_prefixed_keys(redis_cluster.url, redis_prefix, cluster=True)


@pytest.fixture(params=["database", "redis", "redis-cluster"])
def queue_backend(request, settings):
    """Runs the test once per backend; returns the configured backend instance."""
    if request.param == "redis-cluster":
        return request.getfixturevalue("redis_cluster_backend")
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
    def make(max_active=5, is_paused=False, target=None, admit_per_minute=None):
        room = WaitingRoomFactory(concert=target or concert)
        room.max_active, room.is_paused = max_active, is_paused
        if admit_per_minute is not None:
            room.admit_per_minute = admit_per_minute
        room.save(update_fields=["max_active", "is_paused", "admit_per_minute"])
        return room

    return make


@pytest.fixture
def make_fans(db):
    def make(count):
        return [UserFactory() for _ in range(count)]

    return make
