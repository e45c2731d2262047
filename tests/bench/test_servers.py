"""The rush bench's server readings (bench/rush/servers.py) against the real PostgreSQL and Redis: whose
backends are whose, a concert's queue keys grouped by name, Redis's commands counted over a phase."""

import uuid
from urllib.parse import urlsplit

import pytest
import redis
from django.db import connection

from bench.rush.servers import ServerMeter, queue_keys, server_processes
from tests.support.redis_keys import delete_prefixed_keys


@pytest.fixture
def prefix(settings):
    prefix = f"test-bench:{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_prefixed_keys(settings.REDIS_URL, prefix)


def test_this_tests_own_backend_is_the_databases_and_the_redis_server_is_found(db, settings):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    name = connection.settings_dict["NAME"]
    roles = server_processes(name, urlsplit(settings.REDIS_URL).port or 6379)
    assert pid in roles[f"postgres ({name})"]
    assert pid not in roles["postgres (other)"]
    assert roles["postgres (other)"]  # the postmaster at least
    assert roles["redis-server"]


def test_a_concerts_queue_keys_are_grouped_by_name_with_their_members_and_bytes(settings, prefix):
    concert, other = uuid.uuid4(), uuid.uuid4()
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.zadd(f"{prefix}:{{{concert}}}:queue", {"a": 1, "b": 2, "c": 3})
        client.set(f"{prefix}:{{{concert}}}:redeemed:h1", "1")
        client.set(f"{prefix}:{{{concert}}}:redeemed:h2", "1")
        client.zadd(f"{prefix}:{{{other}}}:queue", {"z": 1})  # another concert's: not counted
    finally:
        client.close()
    groups = queue_keys(settings.REDIS_URL, prefix, str(concert))
    assert set(groups) == {"queue", "redeemed"}
    assert {name: (g["type"], g["keys"], g["members"]) for name, g in groups.items()} == {
        "queue": ("zset", 1, 3),
        "redeemed": ("string", 2, 2),
    }
    assert all(g["bytes"] > 0 for g in groups.values())


def test_the_meter_counts_the_redis_commands_of_its_phase(db, settings, prefix):
    meter = ServerMeter(connection.settings_dict, settings.REDIS_URL)
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for n in range(5):
            client.zadd(f"{prefix}:{{c}}:queue", {str(n): n})
    finally:
        client.close()
    reading = meter.stop()
    assert reading["redis"]["commands"]["zadd"] >= 5  # the whole server's: others' commands may count too
    assert set(reading["postgres"]) >= {"xact_commit", "xact_rollback"}
    assert set(reading["process_cpu_s"]) == {
        f"postgres ({connection.settings_dict['NAME']})",
        "postgres (other)",
        "redis-server",
    }
