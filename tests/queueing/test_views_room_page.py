"""The waiting room's page from its shared parts (queueing.room_page): the concert from the page cache, the fan's
place as their poll sees it, and the parts rendered once per concert, language and state. Two fans get their own
place, receipt and CSRF token from the same parts; a pause, a staff edit and a room setting show as the page
cache allows; every state still renders its own page."""

import datetime
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from concerts import page_cache
from concerts.models import Concert
from queueing import services
from queueing.gate import room_url
from queueing.models import WaitingRoom
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _redis_queue_and_cache(settings, redis_backend):
    settings.LANGUAGE_CODE = "en"
    settings.CONCERT_PAGE_CACHE_SECONDS = 600  # the page cache on, as in production; its copy lasts the test
    settings.QUEUE_ROOM_MIRROR_SECONDS = 600  # a slow machine must not let the mirror run out between requests


@pytest.fixture
def full_room(concert, make_room):
    """A room whose only place is taken by someone else."""
    make_room(max_active=1)
    services.join(user=UserFactory(), concert=concert)
    yield concert
    cache.delete(page_cache.concert_key(concert.pk))


def new_fan():
    """A logged-in browser of a fan of its own, and the fan."""
    client = Client()
    fan = UserFactory()
    client.force_login(fan)
    return client, fan


def join(client, concert):
    assert client.post(room_url(concert)).status_code == 302
    page = client.get(room_url(concert))
    assert page.status_code == 200
    return page


def text(response):
    return response.content.decode()


def test_two_fans_get_their_own_place_and_csrf_token_from_the_same_shared_page(full_room):
    first, one = new_fan()
    second, other = new_fan()
    join(first, full_room)
    join(second, full_room)
    pages = [first.get(room_url(full_room)), second.get(room_url(full_room))]
    bodies = [text(page) for page in pages]
    assert "data-queue-position>1</p>" in bodies[0] and "data-queue-ahead>0</dd>" in bodies[0]
    assert "data-queue-position>2</p>" in bodies[1] and "data-queue-ahead>1</dd>" in bodies[1]
    tokens = [set(CSRF_INPUT.findall(body)) for body in bodies]
    assert all(len(found) == 1 for found in tokens)  # the header's forms and the leave form share the page's one
    assert tokens[0] != tokens[1]
    # Each token is good for its own fan's session: the leave form posts.
    for client, found in zip((first, second), tokens, strict=True):
        client.handler.enforce_csrf_checks = True
        token = next(iter(found))
        leave = reverse("queueing:leave", kwargs={"concert_id": full_room.pk})
        assert client.post(leave, {"csrfmiddlewaretoken": token}).status_code == 302
    assert services.poll_place(user=one, concert=full_room) is None
    assert services.poll_place(user=other, concert=full_room) is None


def test_two_fans_in_the_prequeue_see_their_own_receipts():
    upcoming = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(minutes=10))
    ConcertDateFactory(concert=upcoming)
    (first, one), (second, other) = new_fan(), new_fan()
    bodies = [text(join(first, upcoming)), text(join(second, upcoming))]
    receipts = [services.poll_place(user=fan, concert=upcoming).receipt for fan in (one, other)]
    assert receipts[0] != receipts[1]
    assert receipts[0] in bodies[0] and receipts[1] not in bodies[0]
    assert receipts[1] in bodies[1] and receipts[0] not in bodies[1]
    for body in bodies:
        assert "You are in the pre-queue" in body and 'data-testid="draw-commitment"' in body
        assert re.search(r'data-countdown-seconds="(59\d|600)"', body)
        assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', body)


def test_a_waiting_fans_page_reads_neither_the_concert_nor_the_room(full_room):
    client, _ = new_fan()
    join(client, full_room)
    client.get(room_url(full_room))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(room_url(full_room)).status_code == 200
    tables = " ".join(query["sql"] for query in queries)
    assert "concerts_concert" not in tables and "queueing_waitingroom" not in tables
    assert len(queries) <= 2  # the session's user (and the session itself where it is not in Redis)


def test_a_pause_shows_on_the_next_page_and_so_does_its_end(full_room):
    client, _ = new_fan()
    join(client, full_room)
    services.set_paused(concert=full_room, paused=True)
    body = text(client.get(room_url(full_room)))
    assert 'class="notice" data-queue-paused >' in body
    assert "Admission is paused for the moment" in body
    services.set_paused(concert=full_room, paused=False)
    body = text(client.get(room_url(full_room)))
    assert 'class="notice is-hidden" data-queue-paused hidden>' in body


def test_a_new_capacity_saved_by_staff_shows_in_the_estimate_at_once(full_room):
    client, _ = new_fan()
    join(client, full_room)
    before = client.get(room_url(full_room)).context["payload"]
    room = WaitingRoom.objects.get(pk=full_room.pk)
    room.is_paused = True  # saved through the admin: the room's mirror is dropped, the next page reads the row
    room.save()
    after = client.get(room_url(full_room)).context["payload"]
    assert (before["paused"], after["paused"]) == (False, True)


def test_a_new_title_shows_once_the_edit_commits(full_room, django_capture_on_commit_callbacks):
    client, _ = new_fan()
    join(client, full_room)
    assert "<title>Waiting room · " in text(client.get(room_url(full_room)))
    with django_capture_on_commit_callbacks(execute=True):
        concert = Concert.objects.get(pk=full_room.pk)
        concert.title = "Seoul <Jazz> Night"
        concert.save()
    body = text(client.get(room_url(full_room)))
    assert "<title>Waiting room · Seoul &lt;Jazz&gt; Night · Frontrow</title>" in body
    assert '<h1 id="waiting-room-title" class="card-title">Seoul &lt;Jazz&gt; Night</h1>' in body


def test_a_room_setting_shows_when_the_page_caches_copy_runs_out(full_room):
    client, _ = new_fan()
    assert "<altcha-widget" not in text(client.get(room_url(full_room)))
    WaitingRoom.objects.filter(pk=full_room.pk).update(challenge_enabled=True)
    cache.delete(page_cache.concert_key(full_room.pk))  # CONCERT_PAGE_CACHE_SECONDS later
    body = text(client.get(room_url(full_room)))
    assert "<altcha-widget" in body
    assert reverse("queueing:challenge", kwargs={"concert_id": full_room.pk}) in body


def test_a_fan_in_the_queue_gets_no_challenge_widget(full_room):
    WaitingRoom.objects.filter(pk=full_room.pk).update(challenge_enabled=True)
    client, fan = new_fan()
    services.join(user=fan, concert=full_room)
    body = text(client.get(room_url(full_room)))
    assert "<altcha-widget" not in body and "data-queue-position>1</p>" in body


def test_the_admitted_fan_sees_the_way_on_and_no_refresh(concert, make_room):
    make_room(max_active=2)
    client, _ = new_fan()
    join(client, concert)
    page = client.get(room_url(concert) + "?next=/somewhere/")
    body = text(page)
    assert "It's your turn!" in body and 'data-testid="queue-continue"' in body
    assert 'href="/somewhere/" data-testid="queue-continue"' in body
    assert "http-equiv" not in body


def test_the_next_page_is_kept_in_the_form_and_the_poll(full_room):
    client, _ = new_fan()
    seats = f"/concerts/{full_room.pk}/?a=1&b=<2>"
    body = text(client.get(room_url(full_room), {"next": seats}))
    assert f'<input type="hidden" name="next" value="/concerts/{full_room.pk}/?a=1&amp;b=&lt;2&gt;">' in body
    assert f'/queue/status/?next=/concerts/{full_room.pk}/%3Fa%3D1%26b%3D%3C2%3E"' in body


def test_korean_and_english_pages_each_get_their_own_texts(full_room):
    client, _ = new_fan()
    join(client, full_room)
    english = text(client.get(room_url(full_room)))
    client.cookies["django_language"] = "ko"
    korean = text(client.get(room_url(full_room)))
    assert "Your number in the queue" in english and "Your number in the queue" not in korean
    assert "내 대기 번호" in korean and 'lang="ko"' in korean


def test_the_page_gives_the_queue_pass_again_only_when_it_changes_or_has_lived_half_its_life(settings, full_room):
    client, _ = new_fan()
    join(client, full_room)  # the first page gives the pass
    first = client.cookies["queue_pass"].value
    assert "queue_pass" not in client.get(room_url(full_room)).cookies  # young and the same: not signed again
    later = timezone.now() + datetime.timedelta(seconds=settings.QUEUE_PASS_SECONDS / 2 + 1)
    with time_machine.travel(later, tick=False):
        renewed = client.get(room_url(full_room)).cookies["queue_pass"].value
        assert renewed != first
        assert client.get(reverse("queueing:status", kwargs={"concert_id": full_room.pk})).json()["position"] == 1
