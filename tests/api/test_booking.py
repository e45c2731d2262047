"""The booking flow through the JSON API, over the same services and gates as the pages: hold (admitted fans only,
all or nothing), my holds, pay once per Idempotency-Key, cancel; each refusal as a problem; another fan's objects
404 or invisible; scopes and CSRF on the writes."""

import datetime
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from booking import services as booking_services
from booking.models import Reservation
from concerts.models import Seat
from concerts.pricing import PriceTier
from queueing import services as queue_services
from tests.api.conftest import assert_problem, bearer_client, make_token
from tests.factories import ConcertDateFactory, UserFactory
from wallet import selectors as wallet_selectors
from wallet.models import UsageHistory

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
    assert_problem(
        other.post(f"/api/v1/reservations/{paid_reservation.pk}/cancel", "", content_type="application/json"),
        status=404,
        code="not_found",
    )
    assert_problem(
        api.post(f"/api/v1/reservations/{uuid.uuid4()}/cancel", "", content_type="application/json"),
        status=404,
        code="not_found",
    )
    answer = api.post(f"/api/v1/reservations/{paid_reservation.pk}/cancel", "", content_type="application/json")
    assert answer.status_code == 200 and answer.json()["status"] == "CANCELLED"
    assert (answer.json()["fee"], answer.json()["refund"]) == (0, paid_reservation.price)  # free: far from the show
    assert Seat.objects.get(pk=paid_reservation.seat_id).status == Seat.Status.AVAILABLE
    assert_problem(
        api.post(f"/api/v1/reservations/{paid_reservation.pk}/cancel", "", content_type="application/json"),
        status=409,
        code="reservation_not_cancellable",
    )


def test_another_fan_sees_none_of_my_holds_and_cannot_pay_them(fan, api, concert_date, admitted, admit):
    holds = _hold(api, concert_date, 3).json()["holds"]
    other_user = UserFactory()
    admit(other_user, concert_date.concert)
    other = bearer_client(make_token(other_user)[1])
    assert other.get(f"/api/v1/dates/{concert_date.pk}/holds").json()["holds"] == []
    assert_problem(_pay(other, concert_date, reservations=[holds[0]["id"]]), status=409, code="nothing_to_pay")
    assert Reservation.objects.get(pk=holds[0]["id"]).status == Reservation.Status.HOLD


# --- the cancellation fee: the API's client sees the quote and accepts the fee it saw, like the cancel page -------


@pytest.fixture
def soon_paid(fan, top_up):
    """Seat 1 of a show 5 days away (99,000 won), paid now: cancelling it costs 20 % (19,800 won)."""
    soon = ConcertDateFactory(
        starts_at=timezone.now() + datetime.timedelta(days=5), tiers=[PriceTier("R", 1, 50, 99_000)]
    )
    top_up(fan, 200_000)
    booking_services.hold_seats(user=fan, concert_date=soon, seat_numbers=[1])
    reservation = booking_services.pay(user=fan, concert_date=soon, idempotency_key="soon").reservations[0]
    fan.refresh_from_db(fields=["balance"])
    return reservation


def _cancel(api, reservation, body=None):
    url = f"/api/v1/reservations/{reservation.pk}/cancel"
    # No body at all (as `curl -X POST`), or a JSON one.
    return api.post(url, "" if body is None else body, content_type="application/json")


def _ledger(reservation):
    return sorted(
        UsageHistory.objects.filter(reservation=reservation, status="SUCCESS").values_list("action_type", "amount")
    )


def test_the_quote_shows_fee_refund_percent_and_deadline(fan, api, read_token, soon_paid):
    for client in (api, bearer_client(read_token[1])):  # a read, so a read token may see it
        answer = client.get(f"/api/v1/reservations/{soon_paid.pk}/cancellation")
        assert answer.status_code == 200, answer.content
        quote = answer.json()
        assert (quote["paid"], quote["fee"], quote["refund"], quote["percent"]) == (99_000, 19_800, 79_200, 20)
        assert quote["cancellable"] is True and quote["deadline"] and quote["refusal"] is None


def test_another_fans_quote_is_a_404(soon_paid):
    other = bearer_client(make_token(UserFactory())[1])
    assert_problem(other.get(f"/api/v1/reservations/{soon_paid.pk}/cancellation"), status=404, code="not_found")


def test_cancelling_without_accepting_the_fee_is_refused_and_changes_nothing(fan, api, soon_paid):
    for body in (None, {}, {"accepted_fee": 0}, {"accepted_fee": 19_790}):
        problem = assert_problem(_cancel(api, soon_paid, body), status=409, code="cancellation_fee_changed")
        assert (problem["fee"], problem["refund"]) == (19_800, 79_200)
    soon_paid.refresh_from_db()
    assert soon_paid.status == Reservation.Status.CONFIRMED
    assert _ledger(soon_paid) == [("RESERVATION", 99_000)]
    assert Seat.objects.get(pk=soon_paid.seat_id).status == Seat.Status.RESERVED
    assert wallet_selectors.balance(user=fan) == fan.balance


def test_cancelling_with_the_quoted_fee_charges_it_and_says_so(fan, api, soon_paid):
    fee = api.get(f"/api/v1/reservations/{soon_paid.pk}/cancellation").json()["fee"]
    answer = _cancel(api, soon_paid, {"accepted_fee": fee})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["status"], body["fee"], body["refund"]) == ("CANCELLED", 19_800, 79_200)
    assert _ledger(soon_paid) == [("CANCELLATION", 79_200), ("CANCELLATION_FEE", 19_800), ("RESERVATION", 99_000)]
    assert wallet_selectors.balance(user=fan) == fan.balance + 79_200
    after = api.get(f"/api/v1/reservations/{soon_paid.pk}/cancellation").json()
    assert (after["cancellable"], after["refusal"], after["fee"]) == (False, "reservation_not_cancellable", 0)


def test_a_fee_lower_than_accepted_charges_the_lower(fan, api, soon_paid):
    answer = _cancel(api, soon_paid, {"accepted_fee": 50_000})
    assert answer.status_code == 200, answer.content
    assert (answer.json()["fee"], answer.json()["refund"]) == (19_800, 79_200)
    assert wallet_selectors.balance(user=fan) == fan.balance + 79_200


def test_a_read_token_cannot_cancel(fan, read_token, soon_paid):
    answer = _cancel(bearer_client(read_token[1]), soon_paid, {"accepted_fee": 19_800})
    assert_problem(answer, status=403, code="token_scope_insufficient")
    soon_paid.refresh_from_db()
    assert soon_paid.status == Reservation.Status.CONFIRMED


def test_a_negative_accepted_fee_is_a_400(fan, api, soon_paid):
    body = assert_problem(_cancel(api, soon_paid, {"accepted_fee": -1}), status=400, code="invalid_request")
    assert body["errors"][0]["field"] == "accepted_fee"


# --- the fan releases a hold: DELETE /holds/{id}, as checkout's Release button -----------------------------------


def _release(client, reservation_id):
    return client.delete(f"/api/v1/holds/{reservation_id}")


def test_releasing_a_hold_answers_204_and_the_seat_is_anyones_again(fan, api, concert_date, admitted, admit, top_up):
    holds = _hold(api, concert_date, 3, 4).json()["holds"]

    answer = _release(api, holds[0]["id"])

    assert answer.status_code == 204 and answer.content == b""
    assert [h["seat_number"] for h in api.get(f"/api/v1/dates/{concert_date.pk}/holds").json()["holds"]] == [4]
    assert Reservation.objects.get(pk=holds[0]["id"]).end_reason == Reservation.EndReason.FAN_RELEASED
    other_user = top_up(UserFactory(), 200_000)
    admit(other_user, concert_date.concert)
    other = bearer_client(make_token(other_user)[1])
    assert _hold(other, concert_date, 3).status_code == 201
    assert _pay(other, concert_date).status_code == 201
    assert Seat.objects.get(concert_date=concert_date, seat_number=3).status == Seat.Status.RESERVED


def test_releasing_again_is_204_and_changes_nothing(fan, api, concert_date, admitted):
    [held] = _hold(api, concert_date, 3).json()["holds"]
    assert _release(api, held["id"]).status_code == 204
    ended_at = Reservation.objects.get(pk=held["id"]).ended_at

    again = _release(api, held["id"])

    assert again.status_code == 204
    assert Reservation.objects.get(pk=held["id"]).ended_at == ended_at


def test_releasing_needs_no_admission(fan, api, concert_date, admitted):
    [held] = _hold(api, concert_date, 3).json()["holds"]
    queue_services.leave(user=fan, concert=concert_date.concert)
    assert _release(api, held["id"]).status_code == 204


def test_another_fans_hold_is_a_404_and_stays_held(fan, api, concert_date, admitted):
    [held] = _hold(api, concert_date, 3).json()["holds"]
    other = bearer_client(make_token(UserFactory())[1])
    assert_problem(_release(other, held["id"]), status=404, code="not_found")
    assert_problem(_release(api, uuid.uuid4()), status=404, code="not_found")  # the same answer as none
    assert Reservation.objects.get(pk=held["id"]).status == Reservation.Status.HOLD


def test_a_paid_seat_is_a_409_hold_already_paid(fan, book_token, paid_reservation):
    english = bearer_client(book_token[1], language="en")
    body = assert_problem(_release(english, paid_reservation.pk), status=409, code="hold_already_paid")
    assert "cancel it on My tickets" in body["detail"]
    assert Seat.objects.get(pk=paid_reservation.seat_id).status == Seat.Status.RESERVED


def test_a_read_token_cannot_release(fan, read_token, api, concert_date, admitted):
    [held] = _hold(api, concert_date, 3).json()["holds"]
    assert_problem(_release(bearer_client(read_token[1]), held["id"]), status=403, code="token_scope_insufficient")
    assert Reservation.objects.get(pk=held["id"]).status == Reservation.Status.HOLD


def test_a_malformed_hold_id_is_a_400_naming_it(fan, api):
    body = assert_problem(_release(api, "not-a-uuid"), status=400, code="invalid_request")
    assert body["errors"][0]["field"] == "reservation_id"
