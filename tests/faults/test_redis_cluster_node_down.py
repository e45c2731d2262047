"""A Redis Cluster node killed under the Redis queue backend (a private three-master cluster per test,
tests/support/redis_cluster.py; the cache and the sessions stay on the shared Redis).

A concert whose slot the dead node served answers the "waiting room temporarily unavailable" page (503,
Retry-After), never a 500, and writes nothing; concerts on the other nodes carry on, since each node has a
breaker of its own (config.redis_circuit). With no node answering at all, even a process that has not read
the slot map yet answers 503.

A queue script that a node has not run yet runs there all the same after another node died: the backend loads
it on the concert's node only (redis-py's Script sends SCRIPT LOAD to every primary of a cluster, which fails
while one is dead, and that failure used to open the live node's breaker: 503 for a concert that was fine).
"""

import datetime
import uuid

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from config.redis_circuit import breaker_for, cluster_client
from queueing import services
from queueing.backends import get_backend
from queueing.models import QueueEntryHistory
from tests import factories
from tests.support.redis_cluster import RedisClusterProcesses

pytestmark = pytest.mark.django_db

UNAVAILABLE_KO = "대기열을 잠시 이용할 수 없습니다"


@pytest.fixture
def cluster(settings):
    # A long node timeout: the survivors keep serving their own slots for the whole test instead of
    # declaring the cluster down (cluster_state:fail) once the dead node has been missing that long.
    cluster = RedisClusterProcesses(node_timeout_ms=60_000)
    try:
        cluster.start()
        settings.QUEUE_BACKEND = "redis"
        settings.QUEUE_REDIS_URL = cluster.url
        settings.QUEUE_REDIS_CLUSTER = True
        settings.QUEUE_REDIS_PREFIX = f"faults:{uuid.uuid4().hex[:8]}"
        settings.REDIS_BACKOFF_SECONDS = 1.0
        yield cluster
    finally:
        cluster.stop()


def concert_on(cluster, port):
    concert = factories.ConcertFactory(id=cluster.concert_id_on(port))
    factories.WaitingRoomFactory(concert=concert)
    return concert


def room(concert):
    return reverse("queueing:room", kwargs={"concert_id": concert.pk})


def status(concert):
    return reverse("queueing:status", kwargs={"concert_id": concert.pk})


def is_open(port):
    return breaker_for(f"redis://127.0.0.1:{port}")._retry_at is not None


def test_a_dead_node_takes_down_its_own_concerts_only(cluster, client):
    seed, dead, alive = cluster.ports
    lost, kept = concert_on(cluster, dead), concert_on(cluster, alive)
    fan, newcomer = factories.UserFactory(), factories.UserFactory()
    client.force_login(fan)
    assert client.post(room(lost)).status_code == 302
    assert client.post(room(kept)).status_code == 302

    cluster.kill(dead)

    page = client.get(room(lost))
    assert page.status_code == 503 and page["Retry-After"] == "10"
    assert UNAVAILABLE_KO in page.content.decode()
    polled = client.get(status(lost))
    assert polled.status_code == 503 and polled.json()["available"] is False
    assert is_open(dead) and not is_open(alive) and not is_open(seed)

    assert client.get(room(kept)).status_code == 200
    assert client.get(status(kept)).json()["admitted"] is True
    client.force_login(newcomer)
    assert client.post(room(lost)).status_code == 503
    assert not QueueEntryHistory.objects.filter(user=newcomer).exists()
    assert client.post(room(kept)).status_code == 302
    assert services.poll_place(user=newcomer, concert=kept) is not None


def test_with_no_node_answering_the_queue_is_unavailable_not_a_500(cluster, client):
    concert = concert_on(cluster, cluster.ports[0])
    client.force_login(factories.UserFactory())
    for port in list(cluster.ports):
        cluster.kill(port)

    # This process never read the slot map: building the cluster client is what fails.
    assert client.get(room(concert)).status_code == 503
    assert client.post(room(concert)).status_code == 503
    assert client.get(status(concert)).status_code == 503


def test_a_cluster_that_dies_after_the_client_knew_it_is_unavailable_not_a_500(cluster, client):
    concert = concert_on(cluster, cluster.ports[2])
    client.force_login(factories.UserFactory())
    assert client.post(room(concert)).status_code == 302
    for port in list(cluster.ports):
        cluster.kill(port)

    assert client.get(room(concert)).status_code == 503
    assert client.get(status(concert)).status_code == 503


def test_a_fans_first_fast_poll_after_a_node_died_answers_for_a_concert_on_a_live_node(cluster, client):
    seed, dead, alive = cluster.ports
    kept = concert_on(cluster, alive)
    kept.waiting_room.max_active = 1
    kept.waiting_room.save()
    services.join(user=factories.UserFactory(), concert=kept)  # takes the one place: the fan waits
    client.force_login(factories.UserFactory())
    assert client.post(room(kept)).status_code == 302
    assert client.get(room(kept)).status_code == 200  # gives the pass the fast poll reads
    assert client.cookies["queue_pass"].value

    cluster.kill(dead)

    polled = client.get(status(kept))  # the fast path's script, never run on any node before
    assert polled.status_code == 200 and polled.json()["admitted"] is False
    assert not is_open(alive) and not is_open(seed)


def test_every_queue_script_first_run_after_a_node_died_works_on_a_live_node(cluster):
    seed, dead, alive = cluster.ports
    kept = concert_on(cluster, alive)
    room_ = kept.waiting_room
    room_.max_active = 1
    backend = get_backend()
    early, late = uuid.uuid4(), uuid.uuid4()
    now = timezone.now()

    cluster.kill(dead)  # no node has run any script yet

    joined = backend.join(room=room_, user_id=early, now=now, prequeue=True, arrival_floor=0)
    assert joined.created and joined.ticket.receipt
    drawn = backend.draw(room=room_, seed=uuid.uuid4().hex, now=now)  # the draw's read, stage and commit scripts
    assert [ticket.user_id for ticket in drawn.tickets] == [early]
    assert backend.join(room=room_, user_id=late, now=now).ticket.ahead == 1
    assert backend.status(room=room_, user_id=late, now=now).ahead == 1
    backend.mirror_room(concert_id=kept.pk, state="mirror", seconds=5)
    assert backend.fast_status(concert_id=kept.pk, user_id=late)[0] == "mirror"
    admitted = backend.admit(room=room_, now=now, limit=5, active_seconds=60).admitted
    assert [ticket.user_id for ticket in admitted] == [early]
    assert backend.touch(
        concert_id=kept.pk,
        user_id=early,
        now=now + datetime.timedelta(seconds=10),
        active_seconds=60,
        max_lifetime_seconds=600,
    )
    assert backend.end(concert_id=kept.pk, user_id=early, now=now, reason="left").user_id == early
    assert not is_open(alive) and not is_open(seed)


def test_a_node_that_did_not_answer_is_charged_not_the_breaker_that_guarded_the_call(cluster):
    seed, dead, alive = cluster.ports
    on_dead = f"{{{cluster.concert_id_on(dead)}}}:probe"
    client = cluster_client(cluster.url)
    assert client.get(on_dead) is None  # the client knows the slot map
    cluster.kill(dead)

    with pytest.raises(redis.exceptions.ConnectionError), breaker_for(f"redis://127.0.0.1:{alive}").guard():
        client.get(on_dead)

    assert is_open(dead) and not is_open(alive)
