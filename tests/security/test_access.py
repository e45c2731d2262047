"""Every fan page needs a login, and no fan reaches another fan's reservation, hold, admission or wallet.

Mallory is a second, fully able account (logged in, topped up, admitted where it matters): each test has
her try one thing through Alice's ids and asserts the refusal (404, 403 or the waiting room) and that
nothing changed.
"""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from booking.models import Reservation
from queueing import services as queue_services
from queueing.models import QueueToken
from tests.security.fixtures import admit, hold, login_client, pay, state_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_paid(alice, concert_date):
    admit(alice, concert_date.concert)
    hold(alice, concert_date, 7)
    return pay(alice, concert_date, key="alice-key").reservations[0]


@pytest.fixture
def alice_holds(alice, concert_date):
    admit(alice, concert_date.concert)
    return hold(alice, concert_date, 3, 4)


def test_every_fan_page_sends_an_anonymous_visitor_to_log_in(concert_date, alice_paid):
    client = Client()
    date, concert = concert_date, concert_date.concert
    gets = [
        reverse("queueing:room", args=[concert.pk]),
        reverse("booking:seats", args=[date.pk]),
        reverse("booking:seat_state", args=[date.pk]),
        reverse("booking:checkout", args=[date.pk]),
        reverse("booking:reservations"),
        reverse("booking:ticket", args=[alice_paid.pk]),
        reverse("wallet:home"),
    ]
    posts = [
        reverse("queueing:room", args=[concert.pk]),
        reverse("queueing:leave", args=[concert.pk]),
        reverse("booking:hold", args=[date.pk]),
        reverse("booking:pick", args=[date.pk]),
        reverse("booking:checkout", args=[date.pk]),
        reverse("booking:cancel", args=[alice_paid.pk]),
        reverse("booking:release", args=[alice_paid.pk]),
        reverse("wallet:charge"),
    ]
    before = state_snapshot()
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login") + "?next="), url
    for url in posts:
        response = client.post(url, {"seats": ["1"], "amount": "10000"})
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url
    assert state_snapshot() == before


@pytest.mark.parametrize("name", ["queueing:status", "queueing:challenge"])
def test_the_queue_jsons_answer_401_to_an_anonymous_visitor(concert_date, name):
    response = Client().get(reverse(name, args=[concert_date.concert.pk]))
    assert response.status_code == 401
    assert "error" in response.json()


def test_a_fan_cannot_cancel_another_fan_s_reservation(alice, mallory_client, alice_paid):
    before = state_snapshot()
    response = mallory_client.post(reverse("booking:cancel", args=[alice_paid.pk]))
    assert response.status_code == 404
    assert state_snapshot() == before
    assert Reservation.objects.get(pk=alice_paid.pk).status == Reservation.Status.CONFIRMED


def test_a_fan_cannot_open_another_fan_s_ticket(alice, mallory_client, alice_paid):
    response = mallory_client.get(reverse("booking:ticket", args=[alice_paid.pk]))
    assert response.status_code == 404
    body = response.content.decode()
    assert "ticket-code" not in body and "qr-code" not in body
    assert alice.email not in body and "Alice" not in body


def test_a_fan_cannot_see_another_fan_s_reservations_or_wallet(alice, mallory_client, alice_paid):
    pages = [mallory_client.get(reverse("booking:reservations")), mallory_client.get(reverse("wallet:home"))]
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert str(alice_paid.pk) not in body
        assert alice.email not in body
        assert "Alice" not in body
    assert f"{alice_paid.price:,}" not in pages[0].content.decode()


def test_a_fan_cannot_pay_another_fan_s_holds(alice, mallory, mallory_client, concert_date, alice_holds):
    admit(mallory, concert_date.concert)
    before = state_snapshot()
    response = mallory_client.post(
        reverse("booking:checkout", args=[concert_date.pk]), {"idempotency_key": str(uuid.uuid4())}
    )
    assert response.status_code == 409  # nothing of hers to pay
    assert state_snapshot() == before
    assert set(Reservation.objects.filter(user=alice).values_list("status", flat=True)) == {"HOLD"}
    # Her checkout page does not show Alice's holds either.
    page = mallory_client.get(reverse("booking:checkout", args=[concert_date.pk]))
    assert all(str(r.pk) not in page.content.decode() for r in alice_holds)


def test_a_fan_cannot_release_another_fan_s_hold(alice, mallory_client, alice_holds):
    before = state_snapshot()
    response = mallory_client.post(reverse("booking:release", args=[alice_holds[0].pk]))
    assert response.status_code == 404
    assert state_snapshot() == before


def test_a_fan_cannot_take_over_seats_another_fan_holds(alice, mallory, mallory_client, concert_date, alice_holds):
    admit(mallory, concert_date.concert)
    before = state_snapshot()
    response = mallory_client.post(reverse("booking:hold", args=[concert_date.pk]), {"seats": ["3"]})
    assert response.status_code == 303  # refused: back to the seat map with the message
    assert response["Location"].startswith(reverse("booking:seats", args=[concert_date.pk]))
    assert state_snapshot() == before


def test_a_copied_queue_token_grants_nothing(alice, mallory, mallory_client, concert_date, alice_holds):
    """Mallory is not admitted; Alice's token id in a cookie, header, query or form field does not let her in."""
    token = QueueToken.objects.get(user=alice, concert=concert_date.concert, state="ADMITTED").token
    mallory_client.cookies["queue_token"] = str(token)
    before = state_snapshot()
    seats_url = reverse("booking:seats", args=[concert_date.pk])
    attempts = [
        mallory_client.get(f"{seats_url}?token={token}", HTTP_X_QUEUE_TOKEN=str(token)),
        mallory_client.post(
            reverse("booking:hold", args=[concert_date.pk]) + f"?token={token}",
            {"seats": ["10"], "token": str(token)},
            HTTP_X_QUEUE_TOKEN=str(token),
        ),
        mallory_client.post(
            reverse("booking:checkout", args=[concert_date.pk]),
            {"idempotency_key": str(uuid.uuid4()), "token": str(token)},
        ),
    ]
    room = reverse("queueing:room", args=[concert_date.concert.pk])
    for response in attempts:
        assert response.status_code == 302
        assert response["Location"].startswith(room)
    assert state_snapshot() == before
    assert not queue_services.touch(user=mallory, concert=concert_date.concert)


def test_leaving_the_queue_only_ever_ends_one_s_own_place(alice, mallory_client, concert_date, alice_holds):
    token = QueueToken.objects.get(user=alice, concert=concert_date.concert, state="ADMITTED")
    response = mallory_client.post(
        reverse("queueing:leave", args=[concert_date.concert.pk]), {"token": str(token.token), "user": str(alice.pk)}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.state == "ADMITTED"
    assert queue_services.touch(user=alice, concert=concert_date.concert)


def test_a_top_up_only_ever_reaches_one_s_own_wallet(alice, mallory, mallory_client):
    response = mallory_client.post(
        reverse("wallet:charge"), {"amount": "10000", "user": str(alice.pk), "user_id": str(alice.pk)}
    )
    assert response.status_code == 302
    alice_before, mallory_before = alice.balance, mallory.balance
    alice.refresh_from_db()
    mallory.refresh_from_db()
    assert alice.balance == alice_before
    assert mallory.balance == mallory_before + 10_000


def test_admission_to_one_concert_opens_no_other(alice, alice_client, concert_date, other_concert_date):
    """Hold for a date of another concert than the fan's token: sent to that concert's waiting room."""
    admit(alice, concert_date.concert)
    before = state_snapshot()
    for response in (
        alice_client.get(reverse("booking:seats", args=[other_concert_date.pk])),
        alice_client.post(reverse("booking:hold", args=[other_concert_date.pk]), {"seats": ["1"]}),
        alice_client.post(
            reverse("booking:checkout", args=[other_concert_date.pk]), {"idempotency_key": str(uuid.uuid4())}
        ),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("queueing:room", args=[other_concert_date.concert.pk]))
    assert state_snapshot() == before


def test_a_fan_s_pages_do_not_leak_between_sessions(alice, mallory, alice_paid):
    """Log Alice out and Mallory in on the same browser: nothing of Alice's is left on the pages."""
    client = login_client(alice)
    assert str(alice_paid.seat.seat_number) in client.get(reverse("booking:reservations")).content.decode()
    client.post(reverse("accounts:logout"))
    client.force_login(mallory)
    body = client.get(reverse("booking:reservations")).content.decode()
    assert reverse("booking:cancel", args=[alice_paid.pk]) not in body
