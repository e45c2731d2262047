"""The opening through the status poll: a pre-queued fan's first poll after the draw learns the drawn place on the
fast path (no PostgreSQL query, with the pass the pre-queue gave), and the database backend's full path gives the
same place."""

import datetime
import re

import pytest
import time_machine
from django.test import Client, RequestFactory
from django.utils import timezone

from queueing import passes, services
from queueing.draw import draw_order
from queueing.gate import room_url
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory
from tests.support.queue_urls import status_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.QUEUE_ROOM_MIRROR_SECONDS = 600  # a slow machine must not let the mirror run out between two requests


@pytest.fixture
def opening():
    # Soon enough that the passes the pre-queue gives are still valid a few seconds after it.
    return (timezone.now() + datetime.timedelta(seconds=60)).replace(microsecond=0)


@pytest.fixture
def upcoming(opening):
    concert = ConcertFactory(sale_opens_at=opening)
    ConcertDateFactory(concert=concert)
    WaitingRoom.objects.update_or_create(concert=concert, defaults={"max_active": 1})
    return concert


def prequeue_fans(concert, count):
    """`count` fans who entered the pre-queue through the pages, each in a browser of their own with its pass."""
    browsers = {}
    for _ in range(count):
        fan, browser = UserFactory(), Client()
        browser.force_login(fan)
        assert browser.post(room_url(concert)).status_code == 302
        page = browser.get(room_url(concert))
        assert 'data-prequeue="true"' in page.content.decode()
        assert passes.read_pass(_request_with(browser), concert.pk).start == 0  # the pre-queue knows no place
        browsers[fan.pk] = browser
    return browsers


def _request_with(browser):
    """A request carrying the browser's cookies, to read its pass as the poll would."""
    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in browser.cookies.items()}
    return request


def drawn_place(concert, user_id):
    room = WaitingRoom.objects.get(pk=concert.pk)
    receipts = list(QueueEntryHistory.objects.filter(concert=concert).values_list("receipt", flat=True))
    return draw_order(room.draw_seed, receipts).index(QueueEntryHistory.objects.get(user_id=user_id).receipt) + 1


def the_opening(concert, opening):
    """Beat's run at the opening: the draw, then an admission run (which mirrors the room for the fast path)."""
    services.admit_all_due(now=opening + datetime.timedelta(seconds=1))


@pytest.mark.usefixtures("redis_backend")
def test_the_first_poll_after_the_draw_learns_the_drawn_place_without_a_query(
    upcoming, opening, django_assert_num_queries
):
    browsers = prequeue_fans(upcoming, 4)
    with time_machine.travel(opening + datetime.timedelta(seconds=2), tick=False):
        the_opening(upcoming, opening)
        places = {user_id: drawn_place(upcoming, user_id) for user_id in browsers}
        fan_id = next(user_id for user_id, place in places.items() if place == 3)  # waiting, two ahead
        browser = browsers[fan_id]
        with django_assert_num_queries(0):
            first = browser.get(status_url(upcoming))
        assert first.status_code == 200
        data = first.json()
        assert (data["prequeue"], data["position"], data["ahead"], data["admitted"]) == (False, 2, 1, False)
        # The pass now keeps the drawn place's start, so the progress bar moves from there on the next polls.
        kept = passes.read_pass(_request_with(browser), upcoming.pk)
        assert (kept.user_id, kept.start) == (fan_id, 1)
        with django_assert_num_queries(0):
            again = browser.get(status_url(upcoming)).json()
        services.forget_room_mirror(upcoming.pk)
        assert again == data == browser.get(status_url(upcoming)).json()  # the full path answers the same


def test_on_the_database_backend_the_first_poll_after_the_draw_takes_the_full_path(settings, upcoming, opening):
    settings.QUEUE_BACKEND = "database"
    browsers = prequeue_fans(upcoming, 3)
    with time_machine.travel(opening + datetime.timedelta(seconds=2), tick=False):
        the_opening(upcoming, opening)
        for user_id, browser in browsers.items():
            data = browser.get(status_url(upcoming)).json()
            place = drawn_place(upcoming, user_id)
            assert data["prequeue"] is False
            assert data["admitted"] is (place == 1)
            if place > 1:
                assert (data["position"], data["ahead"]) == (place - 1, place - 2)


@pytest.mark.usefixtures("redis_backend")
def test_the_opening_spread_follows_the_prequeues_size_on_the_fast_path_the_full_path_and_the_page(
    settings, upcoming, opening, django_assert_num_queries
):
    settings.QUEUE_OPENING_POLLS_PER_SECOND = 0.1  # three entrants: 30 s of spread instead of the floor's 12
    browser = next(iter(prequeue_fans(upcoming, 3).values()))
    with time_machine.travel(opening - datetime.timedelta(seconds=5), tick=False):
        with django_assert_num_queries(0):
            fast = [browser.get(status_url(upcoming)).json()["poll_seconds"] for _ in range(40)]
        services.forget_room_mirror(upcoming.pk)
        full = [browser.get(status_url(upcoming)).json()["poll_seconds"] for _ in range(40)]
        page = browser.get(room_url(upcoming)).content.decode()
    for seen in (fast, full):
        assert min(seen) >= 5 + 1 and max(seen) <= 5 + 30
        assert max(seen) > 5 + 12  # past the floor: the poll knew the pre-queue's size
    refresh = re.search(r'<meta http-equiv="refresh" content="(\d+)">', page)
    assert 5 + 1 <= int(refresh[1]) <= 5 + 30  # without JavaScript, the page reloads at its own moment alike
