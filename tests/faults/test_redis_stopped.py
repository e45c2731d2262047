"""Redis, as the waiting room's backend, stopped for real (a private redis-server, SIGKILLed): every page
that needs the queue answers the "waiting room temporarily unavailable" page (503), never a 500; the
database history loses no token; once Redis is back the same process serves again, no restart."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from booking.models import Reservation
from queueing import services as queue_services
from queueing import tasks as queue_tasks
from queueing.models import QueueEntryHistory
from tests import factories
from tests.faults.redis_server import RedisServer
from tests.security.fixtures import admit, hold, login_client, state_snapshot

pytestmark = pytest.mark.django_db

UNAVAILABLE_KO = "대기실을 잠시 이용할 수 없습니다"
UNAVAILABLE_EN = "The waiting room is temporarily unavailable"


def _redis_queue(settings, server):
    settings.QUEUE_BACKEND = "redis"
    settings.REDIS_URL = server.url
    settings.QUEUE_REDIS_PREFIX = f"faults:{uuid.uuid4().hex[:8]}"


@pytest.fixture
def persistent_redis(tmp_path, settings):
    server = RedisServer(tmp_path, persist=True).start()
    _redis_queue(settings, server)
    yield server
    server.kill()


@pytest.fixture
def volatile_redis(tmp_path, settings):
    server = RedisServer(tmp_path, persist=False).start()
    _redis_queue(settings, server)
    yield server
    server.kill()


@pytest.fixture
def queue_scene(alice, mallory, concert_date):
    """One place: Alice is admitted and holds seat 5, Mallory waits first in line."""
    room = queue_services.set_paused(concert=concert_date.concert, paused=False)
    room.max_active = 1
    room.save(update_fields=["max_active"])
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 5)
    waiting = queue_services.join(user=mallory, concert=concert_date.concert)
    assert not waiting.admitted and waiting.position == 1
    return {"concert": concert_date.concert, "date": concert_date, "mallory_token": waiting.token}


def history():
    return sorted(
        QueueEntryHistory.objects.values_list("token", "user_id", "queue_position", "admitted_at", "exited_at")
    )


def assert_unavailable_page(response, text=UNAVAILABLE_KO):
    assert response.status_code == 503, response.status_code
    assert response["Retry-After"]
    body = response.content.decode()
    assert text in body
    assert 'class="site-header"' in body
    assert "Traceback" not in body and "ConnectionError" not in body


def test_with_redis_stopped_every_queue_page_answers_503_and_nothing_is_lost(
    persistent_redis, queue_scene, alice, mallory, concert_date
):
    concert = queue_scene["concert"]
    carol = factories.UserFactory(email="carol@example.com")
    alice_client, mallory_client, carol_client = login_client(alice), login_client(mallory), login_client(carol)
    history_before, state_before = history(), state_snapshot()
    keys_before = persistent_redis.keys()

    persistent_redis.kill()

    # The fan with an admission: seat map, hold and checkout are behind the gate, which needs Redis.
    assert_unavailable_page(alice_client.get(reverse("booking:seats", args=[concert_date.pk])))
    assert_unavailable_page(alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["6"]}))
    assert_unavailable_page(
        alice_client.post(reverse("booking:checkout", args=[concert_date.pk]), {"idempotency_key": str(uuid.uuid4())})
    )
    # The waiting fan and a new one: the waiting room, its JSON poll, joining and leaving.
    assert_unavailable_page(mallory_client.get(reverse("queueing:room", args=[concert.pk])))
    status = mallory_client.get(reverse("queueing:status", args=[concert.pk]))
    assert status.status_code == 503
    assert status.json()["available"] is False and UNAVAILABLE_KO in status.json()["error"]
    assert_unavailable_page(carol_client.post(reverse("queueing:room", args=[concert.pk])))
    assert_unavailable_page(mallory_client.post(reverse("queueing:leave", args=[concert.pk])))
    # In English too.
    english = login_client(mallory)
    english.cookies["django_language"] = "en"
    assert_unavailable_page(english.get(reverse("queueing:room", args=[concert.pk])), UNAVAILABLE_EN)
    # Pages that do not need the queue keep working; the readiness probe says what is wrong.
    assert carol_client.get(reverse("concerts:list")).status_code == 200
    assert carol_client.get(reverse("concerts:detail", args=[concert.pk])).status_code == 200
    assert carol_client.get(reverse("wallet:home")).status_code == 200
    health = Client().get("/healthz/")
    assert health.status_code == 503 and health.json()["redis"].startswith("error")
    # Beat's admission run skips the room instead of failing.
    queue_tasks.admit_queue_batches()

    assert history() == history_before  # no visit closed, none half-opened (Carol's join left no row)
    assert state_snapshot() == state_before

    persistent_redis.start()  # same port, same data (append-only file)

    assert persistent_redis.keys() == keys_before
    assert alice_client.get(reverse("booking:seats", args=[concert_date.pk])).status_code == 200
    held = alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["6"]})
    assert held.status_code == 302
    assert sorted(
        Reservation.objects.filter(user=alice, status="HOLD").values_list("seat__seat_number", flat=True)
    ) == [
        5,
        6,
    ]
    status = mallory_client.get(reverse("queueing:status", args=[concert.pk])).json()
    assert status["position"] == 1 and status["admitted"] is False
    assert queue_services.status(user=mallory, concert=concert).token == queue_scene["mallory_token"]
    assert carol_client.post(reverse("queueing:room", args=[concert.pk])).status_code == 302
    assert queue_services.status(user=carol, concert=concert).position == 2
    assert Client().get("/healthz/").status_code == 200


def test_after_redis_comes_back_empty_fans_rejoin_and_the_history_keeps_every_token(
    volatile_redis, queue_scene, alice, mallory, concert_date
):
    concert = queue_scene["concert"]
    alice_client = login_client(alice)
    tokens_before = {row[0] for row in history()}
    assert len(tokens_before) == 2

    volatile_redis.restart()  # killed and back, without its data

    # Not a 500 and not a stale admission: Alice is sent to the waiting room to join again.
    seats = alice_client.get(reverse("booking:seats", args=[concert_date.pk]))
    assert seats.status_code == 302
    assert seats["Location"].startswith(reverse("queueing:room", args=[concert.pk]))
    joined = alice_client.post(reverse("queueing:room", args=[concert.pk]))
    assert joined.status_code == 302
    assert alice_client.get(reverse("booking:seats", args=[concert_date.pk])).status_code == 200
    # Her hold is in PostgreSQL, not Redis: still hers.
    assert Reservation.objects.get(user=alice, status="HOLD").seat.seat_number == 5

    tokens_after = {row[0] for row in history()}
    assert tokens_before < tokens_after  # every token ever issued is still on record, plus the new one
