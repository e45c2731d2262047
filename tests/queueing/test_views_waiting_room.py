"""The waiting-room pages over HTTP: join, wait, poll, leave; 4xx for bad input, 503 when Redis is down."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from queueing import services
from queueing.gate import room_url
from queueing.models import QueueEntryHistory
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory
from tests.support.queue_urls import status_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fan(db):
    return UserFactory()


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


@pytest.fixture
def full_room(concert, make_room):
    """A room whose only place is taken, so whoever joins next waits."""
    make_room(max_active=1)
    services.join(user=UserFactory(), concert=concert)
    return concert


def test_the_waiting_room_needs_a_login(client, concert):
    response = client.get(room_url(concert))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert client.post(room_url(concert)).status_code == 302
    assert not QueueEntryHistory.objects.exists()


def test_before_joining_the_page_offers_to_join(fan_client, concert):
    response = fan_client.get(room_url(concert))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="join-queue"' in body
    assert 'http-equiv="refresh"' not in body


def test_joining_shows_the_place_with_progress_eta_and_leave(queue_backend, fan_client, fan, full_room):
    response = fan_client.post(room_url(full_room))
    assert response.status_code == 302
    assert response["Location"] == room_url(full_room)

    page = fan_client.get(room_url(full_room))
    body = page.content.decode()
    assert page.status_code == 200
    assert page.context["queue"].position == 1
    assert "data-queue-position>1</p>" in body
    assert "data-queue-ahead>0</dd>" in body
    assert '<progress class="progress"' in body
    assert "data-queue-eta" in body and page.context["payload"]["eta_text"]
    assert reverse("queueing:leave", kwargs={"concert_id": full_room.pk}) in body
    assert '<noscript><meta http-equiv="refresh"' in body
    assert 'src="/static/js/queue.js"' in body
    assert QueueEntryHistory.objects.filter(user=fan, concert=full_room).count() == 1


def test_joining_twice_keeps_the_place(fan_client, fan, full_room):
    fan_client.post(room_url(full_room))
    first = services.poll_place(user=fan, concert=full_room).token
    fan_client.post(room_url(full_room))
    assert services.poll_place(user=fan, concert=full_room).token == first
    assert QueueEntryHistory.objects.filter(user=fan).count() == 1


def test_joining_with_room_free_goes_straight_to_the_chosen_dates_seats(queue_backend, fan_client, concert, make_room):
    make_room(max_active=5)
    date = ConcertDateFactory(concert=concert)
    response = fan_client.post(room_url(concert), {"date": str(date.pk)})
    assert response.status_code == 302
    assert response["Location"] == reverse("booking:seats", kwargs={"date_id": date.pk})


def test_a_date_of_another_concert_or_a_foreign_next_url_is_ignored(fan_client, concert, make_room):
    make_room(max_active=5)
    foreign_date = ConcertDateFactory(concert=ConcertFactory())
    concert_page = reverse("concerts:detail", kwargs={"concert_id": concert.pk})

    response = fan_client.post(room_url(concert), {"date": str(foreign_date.pk)})
    assert response["Location"] == concert_page
    response = fan_client.post(room_url(concert), {"next": "https://evil.example/steal"})
    assert response["Location"] == concert_page
    response = fan_client.post(room_url(concert), {"date": "not-a-uuid"})
    assert response["Location"] == concert_page


def test_joining_before_the_sale_opens_is_refused_with_a_message(fan_client, fan):
    upcoming = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(hours=3))
    response = fan_client.post(room_url(upcoming))
    assert response.status_code == 409
    assert "is not open yet" in response.content.decode()
    assert services.poll_place(user=fan, concert=upcoming) is None
    assert not QueueEntryHistory.objects.exists()


def test_an_unknown_concert_is_404(fan_client):
    url = reverse("queueing:room", kwargs={"concert_id": "00000000-0000-0000-0000-000000000000"})
    assert fan_client.get(url).status_code == 404
    assert fan_client.post(url).status_code == 404
    assert fan_client.get(url.replace("queue/", "queue/status/")).status_code == 404


def test_status_json_for_a_waiting_fan(queue_backend, fan_client, fan, full_room):
    fan_client.post(room_url(full_room))
    data = fan_client.get(status_url(full_room)).json()
    assert data["joined"] is True
    assert data["admitted"] is False
    assert (data["position"], data["ahead"]) == (1, 0)
    assert data["eta_seconds"] > 0
    assert data["next_url"] is None
    assert 3 <= data["poll_seconds"] <= 30


def test_status_json_once_admitted_gives_the_next_url(queue_backend, fan_client, fan, concert, make_room):
    make_room(max_active=5)
    date = ConcertDateFactory(concert=concert)
    services.join(user=fan, concert=concert)
    seats = reverse("booking:seats", kwargs={"date_id": date.pk})

    data = fan_client.get(status_url(concert), {"next": seats}).json()
    assert (data["admitted"], data["position"], data["eta_seconds"]) == (True, 0, 0)
    assert data["next_url"] == seats
    assert data["expires_at"]
    default = fan_client.get(status_url(concert)).json()
    assert default["next_url"] == reverse("concerts:detail", kwargs={"concert_id": concert.pk})


def test_status_json_before_joining_and_for_anonymous(client, fan, concert):
    assert client.get(status_url(concert)).status_code == 401
    client.force_login(fan)
    data = client.get(status_url(concert)).json()
    assert data["joined"] is False and data["position"] is None


def test_admitted_fan_sees_the_way_on_and_no_refresh(fan_client, fan, concert, make_room):
    make_room(max_active=5)
    services.join(user=fan, concert=concert)
    body = fan_client.get(room_url(concert)).content.decode()
    assert 'data-testid="queue-continue"' in body
    assert 'http-equiv="refresh"' not in body


def test_leaving_frees_the_place(queue_backend, fan_client, fan, concert, make_room):
    make_room(max_active=1)
    services.join(user=fan, concert=concert)
    url = reverse("queueing:leave", kwargs={"concert_id": concert.pk})

    assert fan_client.get(url).status_code == 405
    response = fan_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("concerts:detail", kwargs={"concert_id": concert.pk})
    assert not services.touch(user=fan, concert=concert)
    assert QueueEntryHistory.objects.get(user=fan).exit_reason == "left"
    assert fan_client.post(url).status_code == 302  # leaving again is harmless


@pytest.fixture
def redis_down(settings, redis_prefix):
    settings.QUEUE_BACKEND = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/3"  # nothing listens on port 1


def test_pages_answer_503_when_redis_is_down(redis_down, fan_client, fan, concert, make_room):
    make_room()
    for response in (fan_client.get(room_url(concert)), fan_client.post(room_url(concert))):
        assert response.status_code == 503
        assert "temporarily unavailable" in response.content.decode()
        assert response["Retry-After"]
    polled = fan_client.get(status_url(concert))
    assert polled.status_code == 503 and polled.json()["available"] is False
    left = fan_client.post(reverse("queueing:leave", kwargs={"concert_id": concert.pk}))
    assert left.status_code == 503
    assert not QueueEntryHistory.objects.exists()


def queue_session_keys(client):
    return sorted(key for key in list(client.session.keys()) if key.startswith("queue-"))


def test_the_progress_starts_from_the_queue_pass_and_the_session_keeps_nothing(fan_client, fan, concert, make_room):
    make_room(max_active=1)
    first, second, third = (UserFactory() for _ in range(3))
    for other in (first, second, third):  # one admitted, two waiting
        services.join(user=other, concert=concert)
    leave_url = reverse("queueing:leave", kwargs={"concert_id": concert.pk})

    for _ in range(3):
        fan_client.post(room_url(concert))
        assert fan_client.get(status_url(concert)).json()["progress"] == 33  # two ahead
        assert fan_client.cookies["queue_pass"].value
        fan_client.get(room_url(concert))
        left = fan_client.post(leave_url)
        assert left.cookies["queue_pass"]["max-age"] == 0  # the pass goes with the place
    assert queue_session_keys(fan_client) == []

    # A new place starts its own progress; admission ends it.
    fan_client.post(room_url(concert))
    assert fan_client.get(status_url(concert)).json()["progress"] == 33
    services.leave(user=second, concert=concert)
    assert fan_client.get(status_url(concert)).json()["progress"] == 66
    fan_client.post(leave_url)
    fan_client.post(room_url(concert))
    assert fan_client.get(status_url(concert)).json()["progress"] == 50  # one ahead, not 66 from the last visit
    services.leave(user=first, concert=concert)
    services.leave(user=third, concert=concert)
    services.admit_batch(concert=concert)
    assert fan_client.get(status_url(concert)).json()["progress"] == 100
    assert queue_session_keys(fan_client) == []
