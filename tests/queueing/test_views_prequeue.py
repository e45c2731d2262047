"""The pre-queue through the pages: the concert page offers it and says how it works, entering gives a receipt,
the waiting page and its JSON show the pre-queue and then the drawn place, polls are spread after the opening,
and no page reloads itself at zero."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from queueing import services
from queueing.draw import draw_order
from queueing.gate import room_url
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory
from tests.support.queue_urls import status_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def opening():
    return (timezone.now() + datetime.timedelta(minutes=10)).replace(microsecond=0)


@pytest.fixture
def upcoming(opening):
    concert = ConcertFactory(sale_opens_at=opening)
    ConcertDateFactory(concert=concert)
    return concert


def login(client):
    fan = UserFactory()
    client.force_login(fan)
    return fan


def test_the_concert_page_offers_the_prequeue_and_explains_it(client, upcoming):
    login(client)
    page = client.get(f"/concerts/{upcoming.pk}/").content.decode()
    assert 'data-testid="enter-prequeue"' in page
    assert "Arriving earlier does not help; arriving before the opening does." in page
    assert WaitingRoom.objects.get(pk=upcoming.pk).draw_commitment in page
    assert "data-countdown-reload" not in page
    assert 'data-zero-text="Open now"' in page
    assert 'name="date"' not in page  # dates open with the sale


def test_a_visitor_is_asked_to_log_in_to_enter_the_prequeue(client, upcoming):
    page = client.get(f"/concerts/{upcoming.pk}/").content.decode()
    assert "Log in to enter the pre-queue" in page
    assert 'data-testid="enter-prequeue"' not in page


def test_entering_the_prequeue_shows_the_receipt_and_the_draw_time(client, upcoming, opening):
    fan = login(client)
    response = client.post(room_url(upcoming))
    assert response.status_code == 302
    page = client.get(room_url(upcoming)).content.decode()
    visit = QueueEntryHistory.objects.get(user=fan)
    assert visit.client_ip == "127.0.0.1"
    assert "You are in the pre-queue" in page
    assert visit.receipt in page
    assert WaitingRoom.objects.get(pk=upcoming.pk).draw_commitment in page
    assert 'data-prequeue="true"' in page

    data = client.get(status_url(upcoming)).json()
    assert (data["joined"], data["prequeue"], data["receipt"], data["position"]) == (True, True, visit.receipt, None)
    assert data["draw_at"] == opening.isoformat()
    # Ten minutes away: the page polls at most every MAX_POLL_SECONDS meanwhile.
    assert data["poll_seconds"] == services.MAX_POLL_SECONDS == 60


def test_polls_near_the_opening_are_spread_over_the_seconds_after_it(client, upcoming, opening):
    login(client)
    client.post(room_url(upcoming))
    seen = set()
    with time_machine.travel(opening - datetime.timedelta(seconds=5), tick=False):
        for _ in range(40):
            seen.add(client.get(status_url(upcoming)).json()["poll_seconds"])
    assert min(seen) >= 5 + 1 and max(seen) <= 5 + services.MIN_OPENING_SPREAD_SECONDS  # one entrant: the floor
    assert len(seen) > 3  # not one second for everybody


def test_after_the_opening_the_poll_brings_the_drawn_place(client, upcoming, opening):
    fans = [login(client)]
    client.post(room_url(upcoming))
    others = [UserFactory() for _ in range(4)]
    for other in others:
        client.force_login(other)
        client.post(room_url(upcoming))
    client.force_login(fans[0])
    WaitingRoom.objects.filter(pk=upcoming.pk).update(is_paused=True)  # keep everyone waiting

    with time_machine.travel(opening + datetime.timedelta(seconds=3), tick=False):
        data = client.get(status_url(upcoming)).json()
        page = client.get(room_url(upcoming)).content.decode()

    room = WaitingRoom.objects.get(pk=upcoming.pk)
    receipts = list(QueueEntryHistory.objects.filter(concert=upcoming).values_list("receipt", flat=True))
    mine = QueueEntryHistory.objects.get(user=fans[0]).receipt
    place = draw_order(room.draw_seed, receipts).index(mine) + 1
    assert (data["prequeue"], data["position"], data["receipt"]) == (False, place, mine)
    assert 'data-prequeue="false"' in page
    assert mine in page  # the receipt stays on the waiting page


def test_after_the_opening_the_concert_page_has_no_prequeue_box(client, upcoming, opening):
    login(client)
    with time_machine.travel(opening + datetime.timedelta(seconds=1), tick=False):
        page = client.get(f"/concerts/{upcoming.pk}/").content.decode()
    assert 'data-testid="enter-prequeue"' not in page
    assert 'name="date"' in page
