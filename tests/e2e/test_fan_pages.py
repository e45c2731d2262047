"""What a fan sees when a hold runs out, when a hold is refused, and on a browser without JavaScript."""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from queueing import services as queue_services
from tests import factories
from wallet import services as wallet_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def concert_date():
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")


def log_in(page, live_server, user, *, language):
    """Give the browser tab a logged-in session of `user` in `language` (the log-in form has its own tests)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        ]
    )


def admitted_fan(concert_date, *, balance=0):
    fan = factories.UserFactory()
    if balance:
        wallet_services.charge(user=fan, amount=balance)
    assert queue_services.join(user=fan, concert=concert_date.concert).admitted
    return fan


def test_checkout_at_zero_says_the_hold_ended_and_offers_to_choose_again(
    open_page, live_server, artifacts, concert_date, settings
):
    settings.HOLD_SECONDS = 5
    fan = admitted_fan(concert_date)
    page = open_page(width=390, height=844, locale="en-US")
    log_in(page, live_server, fan, language="en")
    page.goto(f"/dates/{concert_date.pk}/seats/")
    expect(page.get_by_text("Held seats are kept for you for 5 seconds while you pay.")).to_be_visible()
    page.locator("label[data-seat='7']").click()
    page.locator(".selection-bar [data-hold-submit]").click()
    expect(page).to_have_url(re.compile(f"/checkout/{concert_date.pk}/$"))
    held_message = page.locator(".messages .message-success")
    expect(held_message).to_be_visible()
    expect(page.locator("[data-testid=hold-timer] .countdown")).to_be_visible()
    expect(page.locator("[data-countdown-fallback]")).to_be_hidden()  # the script shows the live clock instead

    # 0:00: the page no longer says the seats are held; it says the hold ended and offers to choose again.
    ended = page.get_by_test_id("hold-ended")
    expect(ended).to_be_visible(timeout=10_000)
    expect(ended).to_contain_text("Your hold on these seats has ended. Nothing was charged.")
    expect(held_message).to_be_hidden()
    expect(page.get_by_test_id("holds")).to_be_hidden()
    expect(page.get_by_test_id("pay-button")).to_be_hidden()
    page.screenshot(path=artifacts / "checkout-at-zero-phone-en.png", full_page=True)
    ended.get_by_role("link", name="Choose seats again").click()
    expect(page).to_have_url(re.compile(f"/dates/{concert_date.pk}/seats/$"))

    # Reopening checkout later says the same, from the server.
    page.goto(f"/checkout/{concert_date.pk}/")
    expect(page.get_by_test_id("hold-ended")).to_be_visible()
    expect(page.get_by_role("link", name="Choose seats again")).to_have_class(re.compile("btn-primary"))
    assert page.problems == []


def test_booking_and_cancelling_without_javascript(open_page, live_server, artifacts, concert_date):
    fan = admitted_fan(concert_date, balance=500_000)
    page = open_page(javascript=False)
    log_in(page, live_server, fan, language="ko")
    seats_path = f"/dates/{concert_date.pk}/seats/"
    page.goto(seats_path)

    # Nothing stops a fifth seat without the script: the refusal says what was picked and keeps the choice.
    for number in (1, 2, 3, 4, 5):
        page.locator(f"input[name=seats][value='{number}']").check()
    page.get_by_test_id("hold-button").click()
    expect(page).to_have_url(re.compile(re.escape(seats_path) + r"\?seats=1&seats=2&seats=3&seats=4&seats=5$"))
    expect(page.get_by_text("5매를 선택했습니다. 한 회차에 최대 4매까지 예매할 수 있습니다.")).to_be_visible()
    expect(page.locator("input[name=seats]:checked")).to_have_count(5)
    page.screenshot(path=artifacts / "seat-limit-nojs.png", full_page=True)
    # The refusal is a page of its own (a GET): reloading shows the map, not the old message, and posts nothing.
    page.reload()
    expect(page.get_by_text("5매를 선택했습니다")).to_have_count(0)

    page.locator("input[name=seats][value='5']").uncheck()
    page.get_by_test_id("hold-button").click()
    expect(page).to_have_url(re.compile(f"/checkout/{concert_date.pk}/$"))
    # No clock that stands still: the time to pay by, as text.
    expect(page.locator("[data-testid=hold-timer] .countdown")).to_be_hidden()
    expect(page.locator("[data-countdown-fallback]")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d까지 결제해 주세요$"))
    page.screenshot(path=artifacts / "checkout-nojs.png", full_page=True)
    page.get_by_test_id("pay-button").click()
    expect(page).to_have_url(re.compile("/reservations/$"))
    expect(page.locator(".ticket .badge-CONFIRMED")).to_have_count(4)

    # Cancelling asks first, on a page of its own, with the refund and the fee.
    page.get_by_test_id("cancel-2").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("예매를 취소하시겠습니까?")
    expect(page.get_by_test_id("quote-paid")).to_have_text("99,000원")
    expect(page.get_by_test_id("quote-fee")).to_have_text("0원")
    expect(page.get_by_test_id("quote-refund")).to_have_text("99,000원")
    page.screenshot(path=artifacts / "cancel-confirmation-nojs.png", full_page=True)
    page.get_by_test_id("keep-ticket").click()  # changed her mind: nothing happened
    expect(page.locator(".ticket .badge-CONFIRMED")).to_have_count(4)
    page.get_by_test_id("cancel-2").click()
    page.get_by_test_id("confirm-cancel").click()
    expect(page).to_have_url(re.compile("/reservations/$"))
    expect(page.locator(".ticket .badge-CANCELLED")).to_have_count(1)
    assert page.problems == []
