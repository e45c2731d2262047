"""The Redis backend on a Redis Cluster (the session's three masters): what the cluster adds to the shared
contract, which runs on it too (the "redis-cluster" parameter of queue_backend).

Keys are read from each node alone, without the cluster client's redirections, so the tests see where they
really are.
"""

import pytest
from django.core.exceptions import ImproperlyConfigured
from redis.cluster import RedisCluster
from redis.crc import key_slot

from queueing import services
from queueing.backends import get_backend
from queueing.models import WaitingRoom
from tests.factories import ConcertFactory, WaitingRoomFactory
from tests.support.draws import run_a_draw, sale_opening_soon

pytestmark = pytest.mark.django_db


def test_the_backend_talks_to_the_cluster_through_a_cluster_client(redis_cluster, redis_cluster_backend):
    assert isinstance(redis_cluster_backend.client, RedisCluster)
    assert {node.port for node in redis_cluster_backend.client.get_primaries()} == set(redis_cluster.ports)


def test_each_concerts_keys_sit_in_one_slot_of_one_node_and_concerts_spread_over_every_node(
    redis_cluster, redis_cluster_backend, redis_prefix, make_fans
):
    concerts = [ConcertFactory(id=redis_cluster.concert_id_on(port)) for port in redis_cluster.ports]
    fans = make_fans(3)
    for concert in concerts:
        room = WaitingRoomFactory(concert=concert)
        WaitingRoom.objects.filter(pk=room.pk).update(max_active=1)
        for fan in fans:
            services.join(user=fan, concert=concert)
        services.touch(user=fans[0], concert=concert)
        services.leave(user=fans[0], concert=concert)
        services.admit_batch(concert=concert)

    where = {key: port for port in redis_cluster.ports for key in redis_cluster.keys_on(port, f"{redis_prefix}:*")}
    assert all(any(f":{{{concert.pk}}}:" in key for concert in concerts) for key in where)
    nodes = []
    for concert in concerts:
        mine = [key for key in where if f":{{{concert.pk}}}:" in key]
        assert {"seq", "waiting", "admitted", "tokens", "unwritten"} <= {key.rsplit(":", 1)[1] for key in mine}
        assert len({key_slot(key.encode()) for key in mine}) == 1
        assert len({where[key] for key in mine}) == 1
        nodes.append(where[mine[0]])
    assert sorted(nodes) == sorted(redis_cluster.ports)  # three concerts, three nodes: the cluster is used


def test_the_pre_queue_and_its_draw_stay_in_the_concerts_slot(redis_cluster, redis_cluster_backend, redis_prefix):
    port = redis_cluster.ports[1]  # not the seed node the client started from
    draw = run_a_draw(concert=sale_opening_soon(id=redis_cluster.concert_id_on(port)), entrants=5, leavers=1)

    mine = redis_cluster.keys_on(port, f"{redis_prefix}:{{{draw.concert.pk}}}:*")
    assert {"preseq", "receipts", "draw", "seq", "tokens", "unwritten"} <= {key.rsplit(":", 1)[1] for key in mine}
    assert len({key_slot(key.encode()) for key in mine}) == 1
    others = [other for other in redis_cluster.ports if other != port]
    assert not any(redis_cluster.keys_on(other, f"{redis_prefix}:*") for other in others)
    assert len(draw.drawn_rows()) == 4  # five entered, one left, four drawn


def test_a_cluster_url_names_no_database_other_than_0(settings, redis_cluster, redis_prefix):
    settings.QUEUE_BACKEND = "redis"
    settings.QUEUE_REDIS_URL = f"{redis_cluster.url}/5"
    settings.QUEUE_REDIS_CLUSTER = True
    with pytest.raises(ImproperlyConfigured, match="database 0"):
        get_backend()
