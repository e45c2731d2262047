"""The waiting room through the JSON API, with the page's rules: enter (verified address, entry window, challenge),
poll the place, leave."""

import uuid

import pytest

from queueing import services as queue_services
from tests.api.conftest import assert_problem, bearer_client, make_token
from tests.factories import ConcertFactory, UserFactory
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
