"""The gate in front of booking: only the admitted user of that concert gets through."""

import datetime

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from queueing import services
from queueing.models import QueueToken
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.support.urls_gate")]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def date(concert):
    return ConcertDateFactory(concert=concert)


@pytest.fixture
def fan(db):
    return UserFactory()


@pytest.fixture
def fan_client(client, fan):
    client.force_login(fan)
    return client


def gated(date):
    return reverse("gated-date", kwargs={"date_id": date.pk})


def room_with_next(concert, next_url):
    return f"{reverse('queueing:room', kwargs={'concert_id': concert.pk})}?{urlencode({'next': next_url})}"


def test_anonymous_visitors_are_sent_to_log_in(client, date):
    response = client.get(gated(date))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_admitted_fan_gets_through_with_the_concert_on_the_request(queue_backend, fan_client, fan, date, make_room):
    make_room(max_active=1)
    services.join(user=fan, concert=date.concert)

    response = fan_client.get(gated(date))
    assert response.status_code == 200
    assert response.content.decode() == f"{date.concert.pk}|{date.pk}"
    by_concert = fan_client.get(reverse("gated-concert", kwargs={"concert_id": date.concert.pk}))
    assert by_concert.content.decode() == f"{date.concert.pk}|False"


def test_passing_the_gate_slides_the_admission(queue_backend, client, fan, date, make_room, settings):
    make_room(max_active=1)
    joined_at = timezone.now() - datetime.timedelta(seconds=120)
    services.join(user=fan, concert=date.concert, now=joined_at)
    client.force_login(fan)

    assert client.get(gated(date)).status_code == 200
    current = services.poll_place(user=fan, concert=date.concert)
    assert current.expires_at > joined_at + datetime.timedelta(seconds=settings.ACTIVE_SECONDS + 100)


def test_a_fan_who_has_not_joined_is_sent_to_the_waiting_room(queue_backend, fan_client, date):
    response = fan_client.get(gated(date))
    assert response.status_code == 302
    assert response["Location"] == room_with_next(date.concert, gated(date))
    [message] = list(get_messages(response.wsgi_request))
    assert "join the waiting room" in str(message)


def test_a_waiting_fan_is_sent_back_with_their_number(queue_backend, fan_client, fan, date, make_room):
    make_room(max_active=1)
    services.join(user=UserFactory(), concert=date.concert)
    services.join(user=fan, concert=date.concert)

    response = fan_client.post(gated(date))
    assert response.status_code == 302
    assert response["Location"] == reverse("queueing:room", kwargs={"concert_id": date.concert.pk})
    [message] = list(get_messages(response.wsgi_request))
    assert "number 1" in str(message)


def test_admission_for_another_concert_grants_nothing(queue_backend, fan_client, fan, date, make_room):
    other = ConcertFactory()
    make_room(max_active=5, target=other)
    services.join(user=fan, concert=other)
    assert fan_client.get(gated(date)).status_code == 302


def test_a_token_copied_from_another_user_grants_nothing(queue_backend, client, date, make_room):
    make_room(max_active=5)
    owner, copier = UserFactory(), UserFactory()
    token = services.join(user=owner, concert=date.concert).token
    client.force_login(copier)
    client.cookies["queue_token"] = str(token)

    for response in (
        client.get(gated(date), {"token": str(token)}),
        client.get(gated(date), HTTP_X_QUEUE_TOKEN=str(token)),
        client.post(gated(date), {"token": str(token), "queue_token": str(token)}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("queueing:room", kwargs={"concert_id": date.concert.pk}))
    assert services.poll_place(user=copier, concert=date.concert) is None


def test_an_expired_admission_is_sent_back(queue_backend, client, fan, date, make_room):
    make_room(max_active=1)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.ACTIVE_SECONDS * 3)
    services.join(user=fan, concert=date.concert, now=long_ago)
    client.force_login(fan)
    assert client.get(gated(date)).status_code == 302


def test_unknown_or_malformed_ids_are_404(fan_client):
    missing = "00000000-0000-0000-0000-000000000000"
    assert fan_client.get(reverse("gated-date", kwargs={"date_id": missing})).status_code == 404
    assert fan_client.get(reverse("gated-concert", kwargs={"concert_id": missing})).status_code == 404
    assert fan_client.get(reverse("gated-any", kwargs={"date_id": "nope"})).status_code == 404


def test_the_gate_answers_503_when_redis_is_down(settings, redis_prefix, fan_client, date):
    settings.QUEUE_BACKEND = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/3"
    response = fan_client.get(gated(date))
    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()


@pytest.mark.urls("config.urls")
def test_the_real_seat_map_is_gated(fan_client, fan, date, make_room):
    seats = reverse("booking:seats", kwargs={"date_id": date.pk})
    response = fan_client.get(seats)
    assert response.status_code == 302
    assert response["Location"] == room_with_next(date.concert, seats)

    make_room(max_active=5)
    services.join(user=fan, concert=date.concert)
    assert fan_client.get(seats).status_code == 200
    assert QueueToken.objects.filter(user=fan, state=QueueToken.State.ADMITTED).exists()
