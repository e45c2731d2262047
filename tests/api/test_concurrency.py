"""Thirty API clients race for one seat, each with its own token, on real threads against PostgreSQL: exactly one
holds it, the others are told seat_taken (409), and the seat has one live reservation."""

import pytest
from django.test import Client

from booking.models import Reservation
from tests.api.conftest import make_token
from tests.factories import ConcertDateFactory, UserFactory, WaitingRoomFactory
from tests.support.concurrency import run_at_once
from tests.support.fans import admit

CLIENTS = 30


@pytest.mark.django_db(transaction=True)
def test_thirty_api_clients_race_for_one_seat_and_one_wins():
    date = ConcertDateFactory()
    WaitingRoomFactory(concert=date.concert, max_active=CLIENTS, admit_per_minute=10_000)
    secrets = []
    for _ in range(CLIENTS):
        fan = UserFactory()
        admit(fan, date.concert)
        secrets.append(make_token(fan)[1])

    def hold(secret):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        answer = client.post(f"/api/v1/dates/{date.pk}/holds", {"seats": [7]}, content_type="application/json")
        return answer.status_code, answer.json().get("code")

    outcomes = run_at_once(hold, [(secret,) for secret in secrets])
    assert [error for _, error in outcomes if error is not None] == []
    answers = sorted(result for result, _ in outcomes)
    assert answers.count((201, None)) == 1
    assert answers.count((409, "seat_taken")) == CLIENTS - 1
    assert Reservation.objects.filter(seat__concert_date=date, seat__seat_number=7).count() == 1
