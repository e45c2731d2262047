"""The wallet page: balance, top-up (and every refusal), history with the reasons of failed top-ups."""

import pytest
from django.conf import settings
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from wallet.exceptions import ChargeRefused
from wallet.models import ChargeHistory
from wallet.selectors import unreconciled_wallets
from wallet.services import charge

pytestmark = pytest.mark.django_db


def test_wallet_shows_balance_form_and_history(fan_client, fan, top_up):
    top_up(fan, 50_000)
    response = fan_client.get("/wallet/")
    assert response.status_code == 200
    assertContains(response, 'data-testid="balance">50,000원<')
    assertContains(response, 'name="amount"')
    assertContains(response, "+50,000원")
    assertContains(response, "1회 1,000원부터 1,000,000원까지 충전할 수 있습니다.")


def test_topping_up_adds_to_the_balance(fan_client, fan):
    response = fan_client.post("/wallet/charge/", {"amount": "30,000"})
    assertRedirects(response, "/wallet/", fetch_redirect_response=False)
    fan.refresh_from_db()
    assert fan.balance == 30_000
    page = fan_client.get("/wallet/")
    assertContains(page, "30,000원 충전되었습니다. 현재 잔액은 30,000원입니다.")
    assert ChargeHistory.objects.get().status == ChargeHistory.Status.SUCCESS
    assert unreconciled_wallets() == []


def test_top_up_returns_to_a_safe_next_only(fan_client, fan):
    response = fan_client.post("/wallet/charge/", {"amount": "10000", "next": "/checkout/abc/"})
    assertRedirects(response, "/checkout/abc/", fetch_redirect_response=False)
    response = fan_client.post("/wallet/charge/", {"amount": "10000", "next": "https://evil.example/"})
    assertRedirects(response, "/wallet/", fetch_redirect_response=False)


def test_wallet_prefills_the_amount_and_keeps_next_from_checkout(fan_client):
    response = fan_client.get("/wallet/?next=/checkout/abc/&amount=48000")
    assertContains(response, 'value="48000"')
    assertContains(response, 'name="next" value="/checkout/abc/"')
    assertContains(response, "충전이 끝나면 바로 결제 화면으로 돌아갑니다.")
    response = fan_client.get("/wallet/?next=//evil.example/")
    assertNotContains(response, "evil.example")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "금액을 원 단위 정수로 입력해 주세요."),
        ("lots", "금액을 원 단위 정수로 입력해 주세요."),
        ("1000.5", "금액을 원 단위 정수로 입력해 주세요."),
        ("500", "충전 금액은 최소 1,000원입니다."),
        ("-5000", "충전 금액은 최소 1,000원입니다."),
        ("1000001", "한 번에 최대 1,000,000원까지 충전할 수 있습니다."),
    ],
)
def test_a_refused_top_up_is_400_recorded_and_shown_in_the_history(fan_client, fan, amount, message):
    response = fan_client.post("/wallet/charge/", {"amount": amount})
    # Once as the message, once as the reason of the failed line in the history.
    assertContains(response, message, count=2, status_code=400)
    assertContains(response, "실패", status_code=400)
    fan.refresh_from_db()
    assert fan.balance == 0
    failed = ChargeHistory.objects.get()
    assert failed.status == ChargeHistory.Status.FAILED
    assert failed.reason  # stored in English for the records


def test_a_top_up_past_the_balance_cap_is_400(fan_client, fan, top_up, settings):
    settings.MAX_BALANCE = 100_000
    top_up(fan, 90_000)
    response = fan_client.post("/wallet/charge/", {"amount": "20000"})
    assertContains(
        response, "예치금 잔액은 최대 100,000원까지 가능합니다. 10,000원까지 더 충전할 수 있습니다.", status_code=400
    )
    fan.refresh_from_db()
    assert fan.balance == 90_000


def test_history_reasons_follow_the_language(client, fan):
    client.force_login(fan)
    client.post("/wallet/charge/", {"amount": "500"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/wallet/")
    assertContains(response, "A top-up must be at least 1,000 won.")
    assertContains(response, "₩500")


def test_charge_is_post_only_and_needs_csrf(csrf_client, fan):
    assert csrf_client.get("/wallet/charge/").status_code == 405
    assert csrf_client.post("/wallet/charge/", {"amount": "10000"}).status_code == 403
    fan.refresh_from_db()
    assert fan.balance == 0
    assert not ChargeHistory.objects.exists()


@pytest.mark.parametrize("rows", [1, 40])
def test_wallet_runs_a_fixed_number_of_queries(fan_client, fan, top_up, rows, django_assert_max_num_queries):
    for _ in range(rows):
        top_up(fan, 1_000)
        with pytest.raises(ChargeRefused):  # a failed one too (through the service: 40 top-ups a minute
            charge(user=fan, amount=1)  # through the page would meet its rate limit)
    # session, user, top-ups, spending
    with django_assert_max_num_queries(4):
        response = fan_client.get("/wallet/")
    assert len(response.context["history"]) == 2 * rows


# --- what each payment and refund was for (issue 19) ---------------------------------------------


def _history_rows(response):
    import re

    html = response.content.decode()
    rows = re.findall(r'<li class="history-row">(.*?)</li>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_wallet_history_says_which_concert_date_and_seat_each_payment_and_refund_was_for(
    fan_client, fan, concert_date, paid_reservation
):
    from booking import services as booking_services

    booking_services.cancel(user=fan, reservation=paid_reservation)
    rows = _history_rows(fan_client.get("/wallet/"))
    day = f"{concert_date.concert_date:%Y}년 {concert_date.concert_date.month}월 {concert_date.concert_date.day}일"
    refund, payment = rows[0], rows[1]
    assert refund.startswith("환불")
    assert payment.startswith("좌석 결제")
    for row in (refund, payment):
        assert "Seoul Jazz Night" in row
        assert day in row
        assert "7번 좌석" in row
    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = _history_rows(fan_client.get("/wallet/"))
    assert "Seoul Jazz Night" in english[1] and "Seat 7" in english[1]


@pytest.mark.parametrize("seats", [1, 4])
def test_wallet_history_with_bookings_runs_a_fixed_number_of_queries(
    fan_client, fan, top_up, seats, django_assert_max_num_queries
):
    from booking import services as booking_services
    from tests import factories

    top_up(fan, 2_000_000)
    for _ in range(3):
        date = factories.ConcertDateFactory()
        booking_services.hold_seats(user=fan, concert_date=date, seat_numbers=list(range(1, seats + 1)))
        booking_services.pay(user=fan, concert_date=date, idempotency_key=f"k-{date.pk}")
    # session, user, top-ups, spending with reservation, seat, date and concert joined
    with django_assert_max_num_queries(4):
        response = fan_client.get("/wallet/")
    assert len(response.context["history"]) == 2 + 3 * seats
