"""The status poll's fast path (queueing.middleware, queueing.passes, services.poll_quickly): a waiting fan's poll
with its queue pass makes no PostgreSQL query and answers exactly what the full path answers; a forged, altered,
expired, foreign or outlived pass is ignored (the full path answers, never with another fan's data); the fast path
steps aside for the database backend, a due draw, an overdue admission run and an admitted fan."""

import datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import signing
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config.redis_circuit import client as redis_client
from queueing import passes, services
from queueing.backends import get_backend
from queueing.gate import room_url
from queueing.middleware import STATUS_PATH
from queueing.models import WaitingRoom
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory
from tests.support.concurrency import run_on_another_connection
from tests.support.queue_urls import status_url
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _redis_queue(settings, redis_backend):
    settings.LANGUAGE_CODE = "en"
    settings.QUEUE_ROOM_MIRROR_SECONDS = 600  # a slow machine must not let the mirror run out between two requests


@pytest.fixture
def fan(db):
    return UserFactory()


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


@pytest.fixture
def full_room(concert, make_room):
    """A room whose only place is taken; two fans wait in it already."""
    make_room(max_active=1)
    for _ in range(3):
        services.join(user=UserFactory(), concert=concert)
    return concert


def front_of(concert, *, admitted=False):
    """The fan admitted (admitted=True; None if nobody is), or the first of those waiting, in the concert's room."""
    for user in UserFactory._meta.model.objects.all():
        current = services.poll_place(user=user, concert=concert)
        if current is not None and current.admitted == admitted and (admitted or current.position == 1):
            return user
    return None


def join(client, concert):
    """Join through the page as the browser does: POST, then the waiting page (which gives the pass)."""
    assert client.post(room_url(concert)).status_code == 302
    assert client.get(room_url(concert)).status_code == 200
    assert client.cookies["queue_pass"].value


def poll_fast(client, concert):
    """The poll, checking it took the fast path: no PostgreSQL query at all."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(status_url(concert))
    assert [query["sql"] for query in queries] == []
    assert response.status_code == 200
    return response.json()


def get_fully(client, url):
    """GET `url`, checking it took the full path (it read the session, the user or the rows)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert len(queries) > 0
    return response


def poll_full(client, concert):
    """The same poll through the full path: the room's mirror dropped, so the fast path steps aside."""
    services.forget_room_mirror(concert.pk)
    response = get_fully(client, status_url(concert))
    assert response.status_code == 200
    return response.json()


def test_the_middleware_matches_the_status_url():
    concert_id = "3f1c0a52-7b3e-4c51-9a86-2a4a9d3b7e10"
    assert STATUS_PATH.match(reverse("queueing:status", kwargs={"concert_id": concert_id}))[1] == concert_id
    assert not STATUS_PATH.match(reverse("queueing:room", kwargs={"concert_id": concert_id}))


def test_a_waiting_fans_poll_makes_no_query_and_answers_what_the_full_path_does(fan_client, full_room):
    join(fan_client, full_room)
    fast = poll_fast(fan_client, full_room)
    assert (fast["joined"], fast["position"], fast["ahead"], fast["progress"]) == (True, 3, 2, 33)
    assert fast == poll_full(fan_client, full_room)
    assert fan_client.get(status_url(full_room))["Content-Language"] == "en"


def test_the_progress_moves_on_the_fast_path_from_the_start_the_pass_keeps(fan_client, fan, full_room):
    join(fan_client, full_room)
    services.leave(user=front_of(full_room), concert=full_room)
    fast = poll_fast(fan_client, full_room)
    assert (fast["position"], fast["progress"]) == (2, 66)
    assert fast == poll_full(fan_client, full_room)
    assert not [key for key in fan_client.session.keys() if key.startswith("queue-")]  # noqa: SIM118  # nothing in the session


def test_korean_and_english_answers_follow_the_language_cookie(fan_client, full_room):
    join(fan_client, full_room)
    english = poll_fast(fan_client, full_room)
    fan_client.cookies["django_language"] = "ko"
    korean = poll_fast(fan_client, full_room)
    assert english["eta_text"] != korean["eta_text"]
    assert korean == poll_full(fan_client, full_room)


def test_a_paused_room_answers_the_same_on_both_paths(fan_client, full_room):
    join(fan_client, full_room)
    services.set_paused(concert=full_room, paused=True)
    poll_full(fan_client, full_room)  # the pause dropped the room's mirror: one poll goes the full way
    fast = poll_fast(fan_client, full_room)
    assert (fast["paused"], fast["eta_seconds"], fast["poll_seconds"]) == (True, None, 15)
    assert fast == poll_full(fan_client, full_room)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["set_paused", "save"])
def test_a_poll_that_read_the_room_before_a_pause_committed_leaves_no_old_mirror(fan_client, fan, full_room, change):
    join(fan_client, full_room)
    poll_fast(fan_client, full_room)
    with transaction.atomic():
        if change == "set_paused":
            services.set_paused(concert=full_room, paused=True)
        else:
            room = WaitingRoom.objects.get(pk=full_room.pk)
            room.is_paused = True
            room.save()
        # Meanwhile a full poll on another connection reads the room as committed (not paused) and mirrors it.
        seen = run_on_another_connection(lambda: fan_client.get(status_url(full_room)).json())
        assert seen["paused"] is False
        assert get_backend().fast_status(concert_id=full_room.pk, user_id=fan.pk) is not None  # the old state
    assert get_backend().fast_status(concert_id=full_room.pk, user_id=fan.pk) is None  # dropped on commit
    assert fan_client.get(status_url(full_room)).json()["paused"] is True


def test_a_room_saved_by_staff_is_read_again(fan_client, full_room):
    join(fan_client, full_room)
    poll_fast(fan_client, full_room)
    room = WaitingRoom.objects.get(pk=full_room.pk)
    room.is_paused = True
    room.save()
    assert fan_client.get(status_url(full_room)).json()["paused"] is True


def test_the_prequeue_answers_the_same_on_both_paths(fan_client):
    upcoming = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(minutes=10))
    ConcertDateFactory(concert=upcoming)
    join(fan_client, upcoming)
    fast = poll_fast(fan_client, upcoming)
    assert (fast["prequeue"], fast["poll_seconds"]) == (True, 60) and fast["receipt"].startswith("P")
    assert fast == poll_full(fan_client, upcoming)


def test_a_fan_who_left_elsewhere_is_told_so_on_both_paths(fan_client, fan, full_room):
    join(fan_client, full_room)
    poll_fast(fan_client, full_room)
    services.leave(user=fan, concert=full_room)  # another tab, or staff
    gone = poll_fast(fan_client, full_room)
    assert gone["joined"] is False
    assert gone == poll_full(fan_client, full_room)


def test_an_admitted_fan_is_answered_by_the_full_path_with_the_way_on(fan_client, full_room):
    join(fan_client, full_room)
    for _ in range(3):  # the admitted fan and the two waiting in front leave
        services.leave(user=front_of(full_room, admitted=True) or front_of(full_room), concert=full_room)
    services.admit_batch(concert=full_room)
    data = fan_client.get(status_url(full_room)).json()
    assert data["admitted"] is True and data["next_url"] == f"/concerts/{full_room.pk}/"


def test_the_database_backend_keeps_the_full_path(settings, fan_client, concert, make_room):
    settings.QUEUE_BACKEND = "database"
    make_room(max_active=1)
    services.join(user=UserFactory(), concert=concert)
    join(fan_client, concert)  # the pass keeps the progress bar's start there too
    data = get_fully(fan_client, status_url(concert)).json()
    assert (data["joined"], data["position"], data["progress"]) == (True, 1, 99)


def test_a_due_draw_is_run_by_the_full_path(fan_client, fan):
    opening = timezone.now() + datetime.timedelta(minutes=10)
    upcoming = ConcertFactory(sale_opens_at=opening)
    ConcertDateFactory(concert=upcoming)
    join(fan_client, upcoming)
    with time_machine.travel(opening + datetime.timedelta(seconds=2), tick=False):
        data = fan_client.get(status_url(upcoming)).json()
    assert data["prequeue"] is False and data["admitted"] is True  # drawn, first, and the room had a place
    assert WaitingRoom.objects.get(pk=upcoming.pk).drawn_at is not None


def test_an_overdue_admission_run_is_run_by_the_full_path(fan_client, fan, concert, make_room):
    make_room(max_active=1)
    first = UserFactory()
    services.join(user=first, concert=concert)
    join(fan_client, concert)
    services.leave(user=first, concert=concert)  # a place is free, and beat has not run for a while
    WaitingRoom.objects.filter(pk=concert.pk).update(last_admission_at=timezone.now() - datetime.timedelta(hours=1))
    services.forget_room_mirror(concert.pk)  # the room's mirror runs out (an update() does not drop it)
    assert fan_client.get(status_url(concert)).json()["admitted"] is True


# --- passes that must not count --------------------------------------------------------------------


def polls_fully(client, concert):
    return get_fully(client, status_url(concert))


def test_a_forged_pass_is_ignored(fan_client, fan, full_room):
    join(fan_client, full_room)
    value = fan_client.cookies["queue_pass"].value
    payload = signing.loads(value, salt=passes.SALT)
    fan_client.cookies["queue_pass"] = signing.dumps(payload, key="not the site's key", salt=passes.SALT)
    assert polls_fully(fan_client, full_room).json()["position"] == 3
    fan_client.cookies["queue_pass"] = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    assert polls_fully(fan_client, full_room).json()["position"] == 3
    fan_client.cookies["queue_pass"] = "garbage"
    assert polls_fully(fan_client, full_room).json()["position"] == 3


def test_an_expired_pass_is_ignored(settings, fan_client, full_room):
    with time_machine.travel(timezone.now() - datetime.timedelta(seconds=settings.QUEUE_PASS_SECONDS + 5)):
        join(fan_client, full_room)
    assert polls_fully(fan_client, full_room).status_code == 200
    poll_fast(fan_client, full_room)  # the full path gave a new one


def test_another_concerts_pass_is_ignored(fan_client, fan, full_room, make_room):
    other = ConcertFactory()
    make_room(max_active=1, target=other)
    services.join(user=UserFactory(), concert=other)
    join(fan_client, other)  # the test client keeps one cookie per name: now the pass of the other concert
    data = polls_fully(fan_client, full_room).json()
    assert data["joined"] is False  # this fan holds no place in full_room, whatever the other pass says


def test_a_pass_left_by_a_logged_out_fan_shows_the_next_one_nothing_of_theirs(client, full_room):
    first, second = UserFactory(), UserFactory()
    client.force_login(first)
    join(client, full_room)
    kept = client.cookies["queue_pass"].value
    client.logout()
    client.cookies["queue_pass"] = kept  # the browser still has it
    refused = client.get(status_url(full_room))
    assert refused.status_code == 401
    client.force_login(second)
    client.cookies["queue_pass"] = kept
    data = polls_fully(client, full_room).json()
    assert data["joined"] is False  # the second fan's own answer, not the first fan's place


def test_a_pass_of_another_place_starts_the_progress_again(fan_client, fan, full_room):
    join(fan_client, full_room)
    kept = fan_client.cookies["queue_pass"].value
    fan_client.post(reverse("queueing:leave", kwargs={"concert_id": full_room.pk}))
    fan_client.post(room_url(full_room))  # a new place, at the back
    fan_client.cookies["queue_pass"] = kept  # the old place's pass
    data = polls_fully(fan_client, full_room).json()
    assert (data["position"], data["progress"]) == (3, 33)
    poll_fast(fan_client, full_room)  # with the new place's pass


def test_the_fast_path_counts_against_the_same_rate_limit(settings, fan_client, full_room):
    join(fan_client, full_room)
    set_limit(settings, "queue_status", account=2, ip=100)
    poll_fast(fan_client, full_room)
    poll_fast(fan_client, full_room)
    with CaptureQueriesContext(connection) as queries:
        refused = fan_client.get(status_url(full_room))
    assert len(queries) == 0
    assert refused.status_code == 429
    assert refused.json()["retry_after"] == int(refused["Retry-After"])
    fan_client.cookies.pop("queue_pass")
    assert fan_client.get(status_url(full_room)).status_code == 429  # the full path counts the same account


def counted(fan):
    """How many status polls the rate limiter has counted against the fan's account in this window."""
    key = f"{django_settings.RATE_LIMIT_REDIS_PREFIX}:queue_status:account:{fan.pk}"
    return int(redis_client(django_settings.REDIS_URL).hget(key, "n") or 0)


def test_a_poll_the_fast_path_hands_on_is_counted_once(settings, fan_client, fan, full_room):
    join(fan_client, full_room)
    set_limit(settings, "queue_status", account=100, ip=100)
    poll_fast(fan_client, full_room)
    assert counted(fan) == 1
    poll_full(fan_client, full_room)  # counted by the fast path, which then hands it to the status view
    assert counted(fan) == 2


def test_a_poll_with_a_pass_on_the_database_backend_is_counted_once(settings, fan_client, fan, concert, make_room):
    settings.QUEUE_BACKEND = "database"
    make_room(max_active=1)
    services.join(user=UserFactory(), concert=concert)
    join(fan_client, concert)
    set_limit(settings, "queue_status", account=100, ip=100)
    assert get_fully(fan_client, status_url(concert)).json()["progress"] == 99
    assert counted(fan) == 1


@pytest.mark.parametrize(
    ("language", "message"),
    [("ko", "짧은 시간에 요청이 너무 많습니다."), ("en", "Too many requests in a short time.")],
)
def test_the_fast_paths_429_is_in_the_fans_language(settings, fan_client, full_room, language, message):
    join(fan_client, full_room)
    set_limit(settings, "queue_status", account=1, ip=100)
    poll_fast(fan_client, full_room)
    fan_client.cookies["django_language"] = language
    with CaptureQueriesContext(connection) as queries:
        refused = fan_client.get(status_url(full_room))
    assert len(queries) == 0  # the fast path's refusal
    assert refused.status_code == 429 and refused.json()["error"].startswith(message)
    assert refused["Content-Language"] == language
    assert {"Accept-Language", "Cookie"} <= {part.strip() for part in refused["Vary"].split(",")}
    fan_client.cookies.pop("queue_pass")
    full = fan_client.get(status_url(full_room))  # the full path's refusal says the same
    assert full.status_code == 429 and full.json()["error"] == refused.json()["error"]
    assert full["Content-Language"] == language


def test_a_backend_that_cannot_be_reached_is_left_to_the_full_path(settings, fan_client, full_room):
    join(fan_client, full_room)
    settings.REDIS_URL = "redis://127.0.0.1:1/3"  # nothing listens on port 1
    response = fan_client.get(status_url(full_room))
    assert response.status_code == 503 and response.json()["available"] is False


def test_a_cluster_that_cannot_be_built_is_left_to_the_full_path(settings, fan_client, full_room):
    join(fan_client, full_room)
    settings.QUEUE_REDIS_CLUSTER, settings.QUEUE_REDIS_URL = True, "redis://127.0.0.1:1"  # no node: no slot map
    response = fan_client.get(status_url(full_room))
    assert response.status_code == 503 and response.json()["available"] is False


def test_the_waiting_page_reads_the_session_the_fan_and_the_concert_with_its_room(
    fan_client, full_room, django_assert_num_queries
):
    join(fan_client, full_room)
    with django_assert_num_queries(3):  # the session (in the database in tests), the user, the concert and room
        page = fan_client.get(room_url(full_room))
    assert "data-queue-position>3<" in page.content.decode()


def test_an_admission_run_leaves_a_fresh_mirror_for_the_next_poll(fan_client, full_room):
    join(fan_client, full_room)
    services.leave(user=front_of(full_room, admitted=True), concert=full_room)  # the admitted fan's place frees
    services.admit_batch(concert=full_room)  # saves the room (dropping its mirror) and mirrors it again
    data = poll_fast(fan_client, full_room)
    assert (data["position"], data["ahead"]) == (2, 1)
    assert data == poll_full(fan_client, full_room)
