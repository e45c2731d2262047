"""The JSON API's reads, thin layers over the selectors the pages use: concerts (public) with dates and seats left,
a date's seats (admitted fans only, like the seat map), the wallet's balance and history and My tickets (both
cursor-paged). Another fan's data never shows; bad parameters are 400 problems naming the field."""

import uuid

import pytest

from booking import services as booking_services
from booking.selectors.tickets import e_ticket
from concerts.pricing import PriceTier
from tests.api.conftest import assert_problem, bearer_client, make_token
from tests.factories import ConcertDateFactory, ConcertFactory, UserFactory
from tests.support.ratelimits import set_limit

pytestmark = pytest.mark.django_db


def test_the_concert_list_is_public_and_says_what_is_on_sale(client, concert_date):
    coming = ConcertFactory(title="Later", sale_opens_at=concert_date.concert.sale_opens_at.replace(year=2099))
    ConcertDateFactory(concert=coming)
    answer = client.get("/api/v1/concerts")
    assert answer.status_code == 200
    listed = [(c["title"], c["on_sale"]) for c in answer.json()]
    assert listed == [("Seoul Jazz Night", True), ("Later", False)]


def test_a_concert_lists_its_bookable_dates_with_seats_left(client, fan, concert_date, hold):
    hold(fan, concert_date, 1, 2)
    body = client.get(f"/api/v1/concerts/{concert_date.concert_id}").json()
    assert body["title"] == "Seoul Jazz Night" and body["venue"] == "Olympic Hall"
    assert body["dates"] == [{"id": str(concert_date.pk), "starts_at": body["dates"][0]["starts_at"], "seats_left": 48}]


def test_an_unknown_concert_is_a_404_problem_and_a_malformed_id_a_400(client):
    assert_problem(client.get(f"/api/v1/concerts/{uuid.uuid4()}"), status=404, code="not_found")
    body = assert_problem(client.get("/api/v1/concerts/not-a-uuid"), status=400, code="invalid_request")
    assert body["errors"][0]["field"] == "concert_id"


def test_an_admitted_fan_sees_the_dates_seats_with_tiers_and_their_own_marked(fan, api, admit, hold):
    tiers = [PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 50, 99_000)]
    date = ConcertDateFactory(tiers=tiers)
    admit(fan, date.concert)
    hold(fan, date, 3)
    hold(UserFactory(), date, 4)
    body = api.get(f"/api/v1/dates/{date.pk}/seats").json()
    assert (body["date_id"], body["concert_id"]) == (str(date.pk), str(date.concert_id))
    seats = {seat["number"]: seat for seat in body["seats"]}
    assert len(seats) == 50
    assert seats[1] == {"number": 1, "tier": "VIP", "price": 165_000, "state": "AVAILABLE", "hold_expires_at": None}
    assert seats[3]["state"] == "MINE" and seats[3]["hold_expires_at"] is not None
    assert seats[4]["state"] == "HELD" and seats[4]["hold_expires_at"] is None  # another fan's: no detail
    assert (seats[11]["tier"], seats[11]["price"]) == ("R", 99_000)


def test_a_fan_not_admitted_gets_403_not_admitted_and_nothing_else(fan, api, concert_date):
    body = assert_problem(api.get(f"/api/v1/dates/{concert_date.pk}/seats"), status=403, code="not_admitted")
    assert "seats" not in body


def test_the_seats_need_credentials_and_a_known_date(client, api, concert_date):
    assert_problem(client.get(f"/api/v1/dates/{concert_date.pk}/seats"), status=401, code="not_authenticated")
    assert_problem(api.get(f"/api/v1/dates/{uuid.uuid4()}/seats"), status=404, code="not_found")


def test_the_wallet_shows_the_balance_and_pages_the_history_by_cursor(fan, api, top_up):
    for amount in (10_000, 20_000, 30_000):
        top_up(fan, amount)
    assert api.get("/api/v1/wallet").json()["balance"] == 60_000
    first = api.get("/api/v1/wallet/history", {"limit": 2}).json()
    assert [entry["amount"] for entry in first["items"]] == [30_000, 20_000]
    assert first["items"][0]["kind"] == "CHARGE" and first["items"][0]["delta"] == 30_000
    top_up(fan, 40_000)  # written meanwhile: it does not shift the next page
    second = api.get("/api/v1/wallet/history", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [entry["amount"] for entry in second["items"]] == [10_000]
    assert second["next_cursor"] is None


def test_my_reservations_are_paged_by_cursor_and_another_fans_never_show(fan, api, concert_date, top_up, hold):
    top_up(fan, 500_000)
    for number in (5, 6, 7):
        hold(fan, concert_date, number)
        booking_services.pay(user=fan, concert_date=concert_date, idempotency_key=f"k{number}")
    first = api.get("/api/v1/reservations", {"limit": 2}).json()
    second = api.get("/api/v1/reservations", {"limit": 2, "cursor": first["next_cursor"]}).json()
    numbers = [r["seat_number"] for r in first["items"] + second["items"]]
    assert sorted(numbers) == [5, 6, 7] and second["next_cursor"] is None
    paid = first["items"][0]
    assert paid["status"] == "CONFIRMED" and paid["ticket_code"] and paid["cancellable"] is True
    other = UserFactory()
    assert bearer_client(make_token(other)[1]).get("/api/v1/reservations").json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"), ({"cursor": "bm9wZQ"}, "cursor")],
)
def test_a_bad_page_parameter_is_a_400_naming_it(fan, api, query, field):
    for path in ("/api/v1/reservations", "/api/v1/wallet/history"):
        body = assert_problem(api.get(path, query), status=400, code="invalid_request")
        assert [error["field"] for error in body["errors"]] == [field]
        assert field in body["detail"]


def test_reads_count_against_the_rate_limit_and_answer_429_with_retry_after(fan, api, settings):
    set_limit(settings, "api_read", account=1)
    assert api.get("/api/v1/wallet").status_code == 200
    refused = api.get("/api/v1/wallet")
    assert_problem(refused, status=429, code="rate_limited")
    assert int(refused["Retry-After"]) > 0


def test_the_detail_follows_accept_language(fan, book_token):
    english = bearer_client(book_token[1], language="en").get("/api/v1/reservations", {"limit": 0}).json()
    korean = bearer_client(book_token[1], language="ko").get("/api/v1/reservations", {"limit": 0}).json()
    assert english["detail"].startswith("The request is not valid") and korean["detail"].startswith("요청이")


def _top_up(api, amount, key="top-up-1"):
    return api.post(
        "/api/v1/wallet/top-ups", {"amount": amount}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_top_up_adds_once_per_key_and_the_same_key_with_another_amount_is_refused(fan, api):
    first = _top_up(api, 50_000)
    assert first.status_code == 201
    assert first.json()["balance_after"] == 50_000 and first.json()["replayed"] is False
    again = _top_up(api, 50_000)
    assert again.status_code == 200 and again.json()["replayed"] is True and again.json()["id"] == first.json()["id"]
    assert_problem(_top_up(api, 60_000), status=422, code="idempotency_key_reused")
    assert _top_up(api, 10_000, key="top-up-2").json()["balance_after"] == 60_000
    fan.refresh_from_db()
    assert fan.balance == 60_000


def test_a_refused_top_up_is_a_400_recorded_and_a_missing_key_a_400_naming_it(fan, api, read_token):
    assert_problem(_top_up(api, 1), status=400, code="charge_refused")
    history = api.get("/api/v1/wallet/history").json()["items"]
    assert [(e["status"], e["amount"]) for e in history] == [("FAILED", 1)]
    body = assert_problem(
        api.post("/api/v1/wallet/top-ups", {"amount": 10_000}, content_type="application/json"),
        status=400,
        code="invalid_request",
    )
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert_problem(_top_up(bearer_client(read_token[1]), 10_000), status=403, code="token_scope_insufficient")


def test_a_read_token_never_gets_the_ticket_code_that_admits_at_the_door(
    fan, read_token, book_token, fan_client, paid_reservation
):
    """A read token (a calendar, a report) sees the booking but not the e-ticket's code, which lets its holder in at
    the door: only a book token or the site's own session gets it."""
    code = e_ticket(paid_reservation).code
    assert code
    read = bearer_client(read_token[1]).get("/api/v1/reservations")
    assert read.status_code == 200
    [item] = read.json()["items"]
    assert (item["id"], item["status"], item["ticket_code"]) == (str(paid_reservation.pk), "CONFIRMED", None)
    assert code not in read.content.decode()
    for client in (bearer_client(book_token[1]), fan_client):
        [item] = client.get("/api/v1/reservations").json()["items"]
        assert item["ticket_code"] == code
