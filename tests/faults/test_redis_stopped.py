"""Redis stopped for real (a private redis-server, SIGKILLed, frozen, restarted) under the production cache and
session settings: Redis holds the cache (the concert page's shared date list), the sessions (cached_db, written
through to PostgreSQL), RQ's jobs and, with QUEUE_BACKEND=redis, the waiting room.

With Redis gone, pages that can work without it work: fans stay logged in (sessions from PostgreSQL), log in
and out, pay and top up; anonymous visitors see the concert pages (the shared fragment rendered uncached).
Pages that need the Redis queue answer the "waiting room temporarily unavailable" page (503, Retry-After),
never a 500; the database history loses no token. A Redis that hangs costs one request one socket timeout,
then every request skips it for the back-off (REDIS_BACKOFF_SECONDS, per process). Once Redis is back the
same process uses it again, and what changed while it was away (a log-out) is not undone by what it kept.
"""

import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from booking.models import ConfirmationEmail, Payment, Reservation
from queueing import services as queue_services
from queueing import tasks as queue_tasks
from queueing.models import QueueEntryHistory
from tests import factories
from tests.faults.redis_server import RedisServer
from tests.security.fixtures import admit, hold, login_client, state_snapshot
from tests.support.checkout import pay_data

pytestmark = pytest.mark.django_db

UNAVAILABLE_KO = "대기열을 잠시 이용할 수 없습니다"
UNAVAILABLE_EN = "The waiting room is temporarily unavailable"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
BACKOFF = 1.0  # seconds; production's default is longer (REDIS_BACKOFF_SECONDS)
SOCKET_TIMEOUT = django_settings.REDIS_SOCKET_TIMEOUT  # what a frozen Redis costs the request that finds out
# A request that waited on the frozen Redis took at least SOCKET_TIMEOUT; one that skipped it answers sooner, though
# a payment on a machine busy with other work has taken 0.6-0.8 of it (so not half of it, as this file once had).
WAITED = 0.8 * SOCKET_TIMEOUT


def _everything_on(settings, server, *, queue_backend):
    """Cache, sessions, RQ and (optionally) the queue on the private server, as in production."""
    settings.REDIS_URL = server.url
    settings.QUEUE_BACKEND = queue_backend
    settings.QUEUE_REDIS_PREFIX = f"faults:{uuid.uuid4().hex[:8]}"
    # The cache and the session engine exactly as config.settings_production sets them
    # (tests/stack/test_settings_production.py checks that production says the same).
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "LOCATION": server.url,
            "KEY_PREFIX": "faults",
        }
    }
    settings.SESSION_ENGINE = "config.sessions"
    settings.CONCERT_PAGE_CACHE_SECONDS = 2  # production's default: the date list is shared
    settings.RQ_QUEUES = {"default": {**django_settings.RQ_QUEUES["default"], "URL": server.url}}
    settings.REDIS_BACKOFF_SECONDS = BACKOFF


def wait_out_the_backoff():
    time.sleep(django_settings.REDIS_BACKOFF_SECONDS + 0.2)


@pytest.fixture
def persistent_redis(tmp_path, settings):
    server = RedisServer(tmp_path, persist=True).start()
    _everything_on(settings, server, queue_backend="redis")
    yield server
    server.kill()


@pytest.fixture
def volatile_redis(tmp_path, settings):
    server = RedisServer(tmp_path, persist=False).start()
    _everything_on(settings, server, queue_backend="redis")
    yield server
    server.kill()


@pytest.fixture
def cache_and_sessions_redis(tmp_path, settings):
    """Redis for the cache, sessions and RQ; the waiting room on PostgreSQL (QUEUE_BACKEND=database)."""
    server = RedisServer(tmp_path, persist=True).start()
    _everything_on(settings, server, queue_backend="database")
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


def assert_page_for(response, user):
    """A 200 page of the site's layout, for this logged-in fan."""
    assert response.status_code == 200, response.status_code
    body = response.content.decode()
    assert 'class="site-header"' in body
    assert f'title="{user.email}"' in body  # the header's user name: the session was found
    return body


def assert_anonymous_page(response):
    assert response.status_code == 200, response.status_code
    body = response.content.decode()
    assert 'class="site-header"' in body
    assert reverse("accounts:logout") not in body
    return body


def keys_with(server, fragment):
    every_key = server.keys()
    return [key for key in every_key if fragment in key]


def session_keys(server):
    return keys_with(server, "sessions")


# Committed for real, so the payment's on_commit work (the e-mail job) runs inside the request.
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_fans_stay_logged_in_log_in_and_out_pay_and_top_up(
    cache_and_sessions_redis, alice, concert_date
):
    server = cache_and_sessions_redis
    concert = concert_date.concert
    bob = factories.UserFactory(email="bob@example.com", name="Bob")
    carol = factories.UserFactory(email="carol@example.com", name="Carol")
    admit(alice, concert)
    hold(alice, concert_date, 5)
    alice_client, bob_client, visitor = login_client(alice), login_client(bob), Client()
    detail = reverse("concerts:detail", args=[concert.pk])
    # Before the outage: sessions and the shared date list are in Redis.
    assert_page_for(alice_client.get(reverse("wallet:home")), alice)
    assert_page_for(bob_client.get(reverse("wallet:home")), bob)
    assert_anonymous_page(visitor.get(detail))
    assert len(session_keys(server)) == 2
    assert keys_with(server, "concerts:page:")
    bob_cookie = bob_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    balance_before = alice.balance

    server.kill()

    # A logged-in fan: every page that does not need Redis, the queue's status poll (database backend).
    for url in (
        reverse("concerts:list"),
        detail,
        reverse("wallet:home"),
        reverse("booking:reservations"),
        reverse("booking:seats", args=[concert_date.pk]),
        reverse("booking:checkout", args=[concert_date.pk]),
        reverse("queueing:room", args=[concert.pk]),
    ):
        assert_page_for(alice_client.get(url), alice)
    status = alice_client.get(reverse("queueing:status", args=[concert.pk]))
    assert status.status_code == 200 and status.json()["admitted"] is True
    # Holding and paying: the money moves once, the seats confirm, the e-mail stays owed (its job cannot be queued).
    assert alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["6"]}).status_code == 302
    paid = alice_client.post(
        reverse("booking:checkout", args=[concert_date.pk]), pay_data(user=alice, concert_date=concert_date)
    )
    assert paid.status_code == 302 and paid["Location"] == reverse("booking:reservations")
    assert Payment.objects.filter(user=alice, status="SUCCESS").count() == 2
    assert sorted(
        Reservation.objects.filter(user=alice, status="CONFIRMED").values_list("seat__seat_number", flat=True)
    ) == [5, 6]
    alice.refresh_from_db()
    assert alice.balance == balance_before - 2 * concert_date.seats.get(seat_number=5).price
    owed = ConfirmationEmail.objects.get(user=alice)
    assert owed.sent_at is None and owed.enqueued_at is None  # the beat sweep queues it once Redis is back
    # A top-up.
    assert alice_client.post(reverse("wallet:charge"), {"amount": "10000"}).status_code == 302
    alice.refresh_from_db()
    assert alice.balance == balance_before - 2 * concert_date.seats.get(seat_number=5).price + 10_000
    # Anonymous visitors: the concert pages (the shared list rendered uncached, seats left up to date).
    assert_anonymous_page(visitor.get(reverse("concerts:list")))
    body = assert_anonymous_page(visitor.get(detail + "?utm_source=newsletter"))
    assert "잔여 <b>48</b>석" in body
    assert_anonymous_page(visitor.get(reverse("accounts:login")))
    # Logging in (a new session key, checked against the cache for collisions) and out.
    logged_in = visitor.post(reverse("accounts:login"), {"username": carol.email, "password": PASSWORD})
    assert logged_in.status_code == 302
    assert_page_for(visitor.get(reverse("wallet:home")), carol)
    assert visitor.post(reverse("accounts:logout")).status_code == 302
    assert_anonymous_page(visitor.get(reverse("concerts:list")))
    # Bob logs out while Redis still holds his session from before the outage.
    assert bob_client.post(reverse("accounts:logout")).status_code == 302

    server.start()  # same port, same data (append-only file): Bob's old session is still in it
    wait_out_the_backoff()

    assert_page_for(alice_client.get(reverse("wallet:home")), alice)
    assert_anonymous_page(visitor.get(detail))
    # Bob's old cookie does not bring his session back from what Redis kept.
    stale = Client()
    stale.cookies[django_settings.SESSION_COOKIE_NAME] = bob_cookie
    assert stale.get(reverse("wallet:home")).status_code == 302
    assert_anonymous_page(stale.get(reverse("concerts:list")))
    # Redis is in use again: Alice's session is cached again and the shared list too.
    assert keys_with(server, "concerts:page:")
    assert len(session_keys(server)) == 1


# Committed for real, so the payment's on_commit work (the e-mail job) runs inside the request.
@pytest.mark.django_db(transaction=True)
def test_a_redis_that_stops_answering_costs_one_request_one_timeout_per_backoff(
    cache_and_sessions_redis, alice, concert_date, settings
):
    server = cache_and_sessions_redis
    # Long enough for the requests below to all fall within one back-off on a busy machine.
    settings.REDIS_BACKOFF_SECONDS = 4.0
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 5)
    alice_client, visitor = login_client(alice), Client()
    detail = reverse("concerts:detail", args=[concert_date.concert.pk])
    assert_page_for(alice_client.get(detail), alice)

    server.freeze()
    try:
        # The first request finds out, waiting at most one socket timeout (connect and read) ...
        started = time.monotonic()
        assert_page_for(alice_client.get(reverse("wallet:home")), alice)
        first = time.monotonic() - started
        assert first < 2 * SOCKET_TIMEOUT + 1.0, first
        # ... and for the back-off nobody asks it again: pages answer without waiting on Redis.
        for client, url in [(alice_client, detail), (visitor, detail), (alice_client, reverse("wallet:home"))] * 2:
            started = time.monotonic()
            response = client.get(url)
            assert response.status_code == 200
            assert time.monotonic() - started < WAITED
        # Paying too: the confirmation e-mail's RQ job is not queued (logged), the request does not hang on it.
        started = time.monotonic()
        paid = alice_client.post(
            reverse("booking:checkout", args=[concert_date.pk]), pay_data(user=alice, concert_date=concert_date)
        )
        assert paid.status_code == 302 and Payment.objects.filter(user=alice, status="SUCCESS").count() == 1
        assert time.monotonic() - started < WAITED
        # After the back-off one request tries again (and waits); the others still skip Redis.
        wait_out_the_backoff()
        started = time.monotonic()
        assert visitor.get(detail).status_code == 200
        assert time.monotonic() - started >= WAITED
        started = time.monotonic()
        assert_page_for(alice_client.get(detail), alice)
        assert time.monotonic() - started < WAITED
    finally:
        server.thaw()
    wait_out_the_backoff()
    assert_page_for(alice_client.get(detail), alice)
    assert keys_with(server, "concerts:page:")


def test_with_redis_stopped_every_queue_page_answers_503_and_nothing_is_lost(
    persistent_redis, queue_scene, alice, mallory, concert_date
):
    concert = queue_scene["concert"]
    carol = factories.UserFactory(email="carol@example.com")
    alice_client, mallory_client, carol_client = login_client(alice), login_client(mallory), login_client(carol)
    history_before, state_before = history(), state_snapshot()
    keys_before = persistent_redis.keys()
    assert len(session_keys(persistent_redis)) == 3  # production sessions: cached in Redis

    persistent_redis.kill()

    # The fan with an admission: seat map, hold and checkout (a payment) are behind the gate, which needs Redis.
    assert_unavailable_page(alice_client.get(reverse("booking:seats", args=[concert_date.pk])))
    assert_unavailable_page(alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["6"]}))
    assert_unavailable_page(
        alice_client.post(reverse("booking:checkout", args=[concert_date.pk]), {"idempotency_key": str(uuid.uuid4())})
    )
    # The waiting fan and a new one: the waiting room, its JSON poll, joining and leaving.
    assert_unavailable_page(mallory_client.get(reverse("queueing:room", args=[concert.pk])))
    status = mallory_client.get(reverse("queueing:status", args=[concert.pk]))
    assert status.status_code == 503 and status["Retry-After"]
    assert status.json()["available"] is False and UNAVAILABLE_KO in status.json()["error"]
    assert_unavailable_page(carol_client.post(reverse("queueing:room", args=[concert.pk])))
    assert_unavailable_page(mallory_client.post(reverse("queueing:leave", args=[concert.pk])))
    # In English too.
    english = login_client(mallory)
    english.cookies["django_language"] = "en"
    assert_unavailable_page(english.get(reverse("queueing:room", args=[concert.pk])), UNAVAILABLE_EN)
    # Pages that do not need the queue keep working, logged in or not; the readiness probe says what is wrong.
    assert_page_for(carol_client.get(reverse("concerts:list")), carol)
    assert_page_for(carol_client.get(reverse("concerts:detail", args=[concert.pk])), carol)
    assert_page_for(carol_client.get(reverse("wallet:home")), carol)
    assert_anonymous_page(Client().get(reverse("concerts:detail", args=[concert.pk])))
    health = Client().get("/healthz/")
    assert health.status_code == 503 and health.json()["redis"].startswith("error")
    # Beat's admission run skips the room instead of failing.
    queue_tasks.admit_queue_batches()

    assert history() == history_before  # no visit closed, none half-opened (Carol's join left no row)
    assert state_snapshot() == state_before

    persistent_redis.start()  # same port, same data (append-only file)
    wait_out_the_backoff()

    assert set(keys_before) <= set(persistent_redis.keys())
    assert alice_client.get(reverse("booking:seats", args=[concert_date.pk])).status_code == 200
    held = alice_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["6"]})
    assert held.status_code == 302
    assert sorted(
        Reservation.objects.filter(user=alice, status="HOLD").values_list("seat__seat_number", flat=True)
    ) == [5, 6]
    status = mallory_client.get(reverse("queueing:status", args=[concert.pk])).json()
    assert status["position"] == 1 and status["admitted"] is False
    assert queue_services.poll_place(user=mallory, concert=concert).token == queue_scene["mallory_token"]
    assert carol_client.post(reverse("queueing:room", args=[concert.pk])).status_code == 302
    assert queue_services.poll_place(user=carol, concert=concert).position == 2
    assert Client().get("/healthz/").status_code == 200


def test_after_redis_comes_back_empty_fans_rejoin_and_the_history_keeps_every_token(
    volatile_redis, queue_scene, alice, mallory, concert_date
):
    concert = queue_scene["concert"]
    alice_client = login_client(alice)
    tokens_before = {row[0] for row in history()}
    assert len(tokens_before) == 2

    volatile_redis.restart()  # killed and back, without its data (nor the cached sessions)

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
