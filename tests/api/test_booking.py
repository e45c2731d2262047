"""The booking flow through the JSON API, over the same services and gates as the pages: hold (admitted fans only,
all or nothing), my holds, pay once per Idempotency-Key, cancel; each refusal as a problem; another fan's objects
404 or invisible; scopes and CSRF on the writes."""

import uuid

import pytest
from django.test import Client

from booking.models import Reservation
from concerts.models import Seat
from queueing import services as queue_services
from tests.api.conftest import assert_problem, bearer_client, make_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _hold(api, date, *seats):
    return api.post(f"/api/v1/dates/{date.pk}/holds", {"seats": list(seats)}, content_type="application/json")


def _pay(api, date, key="key-1", reservations=None):
    body = {} if reservations is None else {"reservations": [str(r) for r in reservations]}
    return api.post(
        f"/api/v1/dates/{date.pk}/payments", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_an_admitted_fan_holds_seats_together_and_sees_them(fan, api, concert_date, admitted, top_up):
    top_up(fan, 100_000)
    answer = _hold(api, concert_date, 3, 4)
    assert answer.status_code == 201
    body = answer.json()
    assert [h["seat_number"] for h in body["holds"]] == [3, 4]
    assert body["holds"][0]["status"] == "HOLD" and body["holds"][0]["hold_expires_at"]
    assert body["total"] == sum(h["price"] for h in body["holds"]) and body["balance"] == 100_000
    assert api.get(f"/api/v1/dates/{concert_date.pk}/holds").json()["holds"] == body["holds"]


def test_a_fan_not_admitted_holds_nothing(fan, api, concert_date):
    assert_problem(_hold(api, concert_date, 3), status=403, code="not_admitted")
    assert not Reservation.objects.exists()
    assert_problem(api.get(f"/api/v1/dates/{concert_date.pk}/holds"), status=403, code="not_admitted")


def test_a_hold_is_all_or_nothing_and_a_taken_seat_is_a_409_in_korean(fan, api, concert_date, admitted, hold):
    hold(UserFactory(), concert_date, 5)
    body = assert_problem(_hold(api, concert_date, 4, 5), status=409, code="seat_taken")
    assert "5" in body["detail"] and any("\uac00" <= ch <= "\ud7a3" for ch in body["detail"])
    assert not Reservation.objects.filter(user=fan).exists()


def test_bad_seat_lists_are_400s(fan, api, concert_date, admitted):
    assert_problem(_hold(api, concert_date, 99), status=400, code="invalid_seat_selection")
    body = assert_problem(_hold(api, concert_date), status=400, code="invalid_request")
    assert body["errors"][0]["field"] == "seats"
    body = assert_problem(
        api.post(f"/api/v1/dates/{concert_date.pk}/holds", "not json", content_type="application/json"),
        status=400,
        code="invalid_request",
    )


def test_a_read_token_cannot_hold(fan, read_token, concert_date, admitted):
    assert_problem(_hold(bearer_client(read_token[1]), concert_date, 3), status=403, code="token_scope_insufficient")
    assert not Reservation.objects.exists()


def test_the_sites_session_writes_only_with_its_csrf_token(fan, concert_date, admitted):
    client = Client(enforce_csrf_checks=True)
    client.force_login(fan)
    assert_problem(_hold(client, concert_date, 3), status=403, code="csrf_failed")
    assert not Reservation.objects.exists()
    client.get("/accounts/")  # a page sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    answer = client.post(
        f"/api/v1/dates/{concert_date.pk}/holds",
        {"seats": [3]},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert answer.status_code == 201


def test_paying_charges_once_per_key_and_the_same_key_with_other_seats_is_refused(
    fan, api, concert_date, admitted, top_up
):
    top_up(fan, 500_000)
    holds = _hold(api, concert_date, 3, 4).json()["holds"]
    ids = [h["id"] for h in holds]
    first = _pay(api, concert_date, reservations=ids)
    assert first.status_code == 201
    paid = first.json()
    assert paid["replayed"] is False and [r["status"] for r in paid["reservations"]] == ["CONFIRMED"] * 2
    again = _pay(api, concert_date, reservations=ids)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["balance_after"] == paid["balance_after"]
    assert_problem(_pay(api, concert_date, reservations=ids[:1]), status=422, code="idempotency_key_reused")
    fan.refresh_from_db()
    assert fan.balance == 500_000 - paid["total"]


def test_paying_needs_an_idempotency_key(fan, api, concert_date, admitted):
    _hold(api, concert_date, 3)
    answer = api.post(f"/api/v1/dates/{concert_date.pk}/payments", {}, content_type="application/json")
    body = assert_problem(answer, status=400, code="invalid_request")
    assert body["errors"][0]["field"] == "Idempotency-Key"


def test_a_short_balance_is_a_402_and_changes_nothing(fan, api, concert_date, admitted):
    _hold(api, concert_date, 3)
    assert_problem(_pay(api, concert_date), status=402, code="insufficient_balance")
    assert Reservation.objects.get(user=fan).status == Reservation.Status.HOLD


def test_held_seats_stay_payable_after_the_admission_ended(fan, api, concert_date, admitted, top_up):
    top_up(fan, 500_000)
    _hold(api, concert_date, 3)
    queue_services.leave(user=fan, concert=concert_date.concert)
    assert _pay(api, concert_date).status_code == 201
    assert_problem(_hold(api, concert_date, 4), status=403, code="not_admitted")  # nothing new


def test_cancelling_refunds_and_another_fans_reservation_is_a_404(fan, api, paid_reservation):
    other = bearer_client(make_token(UserFactory())[1])
    assert_problem(other.post(f"/api/v1/reservations/{paid_reservation.pk}/cancel"), status=404, code="not_found")
    assert_problem(api.post(f"/api/v1/reservations/{uuid.uuid4()}/cancel"), status=404, code="not_found")
    answer = api.post(f"/api/v1/reservations/{paid_reservation.pk}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "CANCELLED"
    assert Seat.objects.get(pk=paid_reservation.seat_id).status == Seat.Status.AVAILABLE
    assert_problem(
        api.post(f"/api/v1/reservations/{paid_reservation.pk}/cancel"), status=409, code="reservation_not_cancellable"
    )


def test_another_fan_sees_none_of_my_holds_and_cannot_pay_them(fan, api, concert_date, admitted, admit):
    holds = _hold(api, concert_date, 3).json()["holds"]
    other_user = UserFactory()
    admit(other_user, concert_date.concert)
    other = bearer_client(make_token(other_user)[1])
    assert other.get(f"/api/v1/dates/{concert_date.pk}/holds").json()["holds"] == []
    assert_problem(_pay(other, concert_date, reservations=[holds[0]["id"]]), status=409, code="nothing_to_pay")
    assert Reservation.objects.get(pk=holds[0]["id"]).status == Reservation.Status.HOLD
