"""The waiting room through the JSON API, with the page's rules: enter (verified address, entry window, challenge),
poll the place, leave."""

import datetime
import uuid

import pytest
from django.utils import timezone

from queueing import services as queue_services
from tests.api.conftest import assert_problem, bearer_client, make_token
from tests.factories import ConcertFactory, UserFactory, WaitingRoomFactory
from tests.support.challenges import challenge_room, solved

pytestmark = pytest.mark.django_db


def _enter(api, concert, **body):
    return api.post(f"/api/v1/concerts/{concert.pk}/queue", body, content_type="application/json")


def test_entering_an_empty_room_admits_at_once_then_the_place_reads_so_and_leaving_ends_it(fan, api, concert_date):
    concert = concert_date.concert
    entered = _enter(api, concert)
    assert entered.status_code == 200
    assert entered.json()["admitted"] is True and entered.json()["expires_at"]
    again = _enter(api, concert).json()  # the same place, no new one
    assert again["admitted"] is True and again["joined"] is True
    assert api.get(f"/api/v1/concerts/{concert.pk}/queue").json()["admitted"] is True
    assert api.get(f"/api/v1/dates/{concert_date.pk}/seats").status_code == 200  # the gate lets them in
    left = api.delete(f"/api/v1/concerts/{concert.pk}/queue")
    assert left.status_code == 200 and left.json()["joined"] is False
    assert queue_services.poll_place(user=fan, concert=concert) is None


def test_an_unverified_fan_cannot_enter(concert_date):
    user = UserFactory(email_verified_at=None)
    body = assert_problem(
        _enter(bearer_client(make_token(user)[1]), concert_date.concert), status=403, code="email_not_verified"
    )
    assert body["detail"]


def test_a_room_not_open_yet_refuses(fan, api):
    later = ConcertFactory(sale_opens_at=ConcertFactory().start_time)  # opens in a month
    assert_problem(_enter(api, later), status=409, code="queue_not_open")


def test_a_room_asking_for_the_challenge_needs_its_solution(fan, api, concert_date):
    concert = concert_date.concert
    challenge_room(concert)
    assert_problem(_enter(api, concert), status=403, code="challenge_failed")
    issued = api.get(f"/api/v1/concerts/{concert.pk}/queue/challenge").json()
    assert set(issued) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert _enter(api, concert, challenge=solved(concert)).json()["joined"] is True


def test_a_read_token_cannot_enter_and_an_unknown_concert_is_a_404(fan, read_token, api):
    unknown = api.post(f"/api/v1/concerts/{uuid.uuid4()}/queue", {}, content_type="application/json")
    assert_problem(unknown, status=404, code="not_found")
    concert = ConcertFactory()
    assert_problem(_enter(bearer_client(read_token[1]), concert), status=403, code="token_scope_insufficient")


def test_the_place_says_when_to_ask_again_at_the_waiting_pages_pace(fan, api, concert_date):
    """poll_seconds is the waiting page's (queueing.services.poll_seconds): an app polls as the page does."""
    from queueing.services.polling import MAX_POLL_SECONDS, MIN_POLL_SECONDS, waiting_poll_seconds

    concert = concert_date.concert
    WaitingRoomFactory(concert=concert, max_active=1)
    first = _enter(api, concert).json()
    assert first["admitted"] is True and first["poll_seconds"] == MIN_POLL_SECONDS
    waiting = bearer_client(make_token(UserFactory())[1])
    place = _enter(waiting, concert).json()
    assert place["admitted"] is False and place["ahead"] == 0
    expected = waiting_poll_seconds(ahead=place["ahead"], eta_seconds=place["eta_seconds"])
    polled = waiting.get(f"/api/v1/concerts/{concert.pk}/queue").json()
    assert place["poll_seconds"] == expected == polled["poll_seconds"]
    assert waiting.delete(f"/api/v1/concerts/{concert.pk}/queue").json()["poll_seconds"] is None  # no place: no pace

    soon = ConcertFactory(sale_opens_at=timezone.now() + datetime.timedelta(minutes=10))  # the pre-queue is open
    entrant = _enter(api, soon).json()
    assert entrant["prequeue"] is True and entrant["poll_seconds"] == MAX_POLL_SECONDS  # the opening is far off


def test_a_presale_room_refuses_a_fan_not_on_its_list_and_lets_a_listed_one_in(fan, api):
    from concerts.models import PresaleEmail
    from tests.factories import PresaleFactory

    presale = PresaleFactory(access="EMAILS")  # open now: the concert's room serves it
    outsider = bearer_client(make_token(UserFactory())[1], language="en")
    body = assert_problem(_enter(outsider, presale.concert), status=403, code="queue_presale_only")
    assert presale.name in body["detail"] and "general sale" in body["detail"]
    PresaleEmail.objects.create(presale=presale, email=fan.email.lower())
    entered = _enter(api, presale.concert)
    assert entered.status_code == 200 and entered.json()["joined"] is True
