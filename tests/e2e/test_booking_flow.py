"""A new fan goes from the home page to a paid seat and back to a refund, in a real browser."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from queueing import services as queue_services
from queueing.models import WaitingRoom
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def concert_date():
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")


@pytest.fixture
def crowded_room(concert_date):
    """One place in the waiting room, taken by another fan: the new fan has to wait for their turn."""
    WaitingRoom.objects.create(concert=concert_date.concert, max_active=1)
    first = factories.UserFactory()
    assert queue_services.join(user=first, concert=concert_date.concert).admitted
    return first


def test_sign_up_top_up_queue_hold_pay_cancel_refund(open_page, artifacts, concert_date, crowded_room, settings):
    # A short admission makes the estimated wait short, so the waiting page polls every few seconds.
    settings.ACTIVE_SECONDS = 60
    concert = concert_date.concert
    page = open_page()

    # The home page lists the concert; its page asks a visitor to log in or sign up.
    page.goto("/")
    page.get_by_role("link", name=re.compile("Seoul Jazz Night")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Seoul Jazz Night")
    expect(page.get_by_text("잔여 50석 / 50")).to_be_visible()
    page.get_by_role("link", name="회원가입").click()

    # Sign up: Django's password validators apply; then the fan is logged in and back on the concert.
    page.get_by_label("이메일").fill("new.fan@example.com")
    page.get_by_label("이름").fill("새 팬")
    page.get_by_label("비밀번호", exact=True).fill("12345678")
    page.get_by_label("비밀번호 확인").fill("12345678")
    page.get_by_role("button", name="회원가입").click()
    expect(page.get_by_text("비밀번호가 전부 숫자로 되어 있습니다.")).to_be_visible()
    page.get_by_label("비밀번호", exact=True).fill("violet-harbor-2931")
    page.get_by_label("비밀번호 확인").fill("violet-harbor-2931")
    page.get_by_role("button", name="회원가입").click()
    expect(page).to_have_url(re.compile(f"/concerts/{concert.pk}/$"))
    expect(page.get_by_test_id("nav-balance")).to_have_text("0원")

    # Verify the address with the link mailed at sign-up (the waiting room asks for it); back on the concert.
    [message] = mail.outbox
    page.goto(re.search(r"https?://[^/\s]+(/accounts/email/verify/\S+)", message.body).group(1))
    page.get_by_test_id("confirm-email").click()
    expect(page).to_have_url(re.compile(f"/concerts/{concert.pk}/$"))
    expect(page.get_by_text("이메일 주소 인증이 완료되었습니다")).to_be_visible()

    # Top up the wallet (the quick-amount buttons are a script enhancement).
    page.get_by_role("link", name=re.compile("예치금")).click()
    page.get_by_role("button", name="+100,000원").click()
    page.get_by_role("button", name="+100,000원").click()
    page.get_by_role("button", name="+50,000원").click()
    expect(page.get_by_label("충전 금액(원)")).to_have_value("250000")
    page.get_by_test_id("top-up-button").click()
    expect(page.get_by_text("250,000원 충전되었습니다. 현재 잔액은 250,000원입니다.")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("250,000원")

    # Join the waiting room: the only place is taken, so the fan waits with a number and a progress bar.
    page.goto(f"/concerts/{concert.pk}/")
    page.get_by_test_id(f"book-{concert_date.concert_date:%Y-%m-%d}").click()
    expect(page).to_have_url(re.compile(f"/concerts/{concert.pk}/queue/"))
    expect(page.locator("[data-queue-position]")).to_have_text("1")
    expect(page.locator("[data-queue-ahead]")).to_have_text("0")
    expect(page.locator("progress[data-queue-progress]")).to_be_visible()
    page.screenshot(path=artifacts / "waiting-room.png", full_page=True)

    # The other fan leaves and the admission run (beat's job) lets the next fan in: the page moves on by itself.
    queue_services.leave(user=crowded_room, concert=concert)
    queue_services.admit_batch(concert=concert)
    page.wait_for_url(re.compile(f"/dates/{concert_date.pk}/seats/"), timeout=30_000)

    # The seat map: 50 seats; pick two, the counter and the total follow.
    expect(page.locator(".seat-grid .seat")).to_have_count(50)
    page.locator("label[data-seat='12']").click()
    page.locator("label[data-seat='13']").click()
    expect(page.locator(".selection-panel [data-selected-count]")).to_have_text("2 / 4")
    expect(page.locator(".selection-panel [data-selected-total]")).to_have_text("198,000원")
    page.screenshot(path=artifacts / "seat-map.png", full_page=True)
    page.get_by_test_id("hold-button").click()

    # Checkout: the holds, the total, the balance and a live countdown.
    expect(page).to_have_url(re.compile(f"/checkout/{concert_date.pk}/"))
    expect(page.get_by_text("12, 13번 좌석을 잠시 선점했습니다")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text("198,000원")
    expect(page.get_by_test_id("balance")).to_have_text("250,000원")
    timer = page.locator("[data-testid=hold-timer] .countdown")
    first_reading = timer.inner_text()
    assert re.fullmatch(r"[45]:\d\d", first_reading)
    expect(timer).not_to_have_text(first_reading, timeout=3_000)  # it ticks
    page.screenshot(path=artifacts / "checkout.png", full_page=True)
    page.get_by_test_id("pay-button").click()

    # My tickets: both seats are booked; the balance went down.
    expect(page).to_have_url(re.compile("/reservations/$"))
    expect(page.get_by_text("결제가 완료되어 2매가 예매되었습니다.", exact=False)).to_be_visible()
    expect(page.locator(".ticket")).to_have_count(2)
    expect(page.locator(".ticket .badge-CONFIRMED")).to_have_count(2)
    expect(page.get_by_test_id("nav-balance")).to_have_text("52,000원")

    # Back to the paid checkout (Back, reload or the old link): My tickets says the seats are paid, not the queue.
    page.go_back()
    expect(page).to_have_url(re.compile("/reservations/$"))
    expect(page.get_by_text("이 회차의 좌석은 이미 결제가 완료되었습니다.")).to_be_visible()
    expect(page.get_by_text("대기열에 먼저 입장해 주세요")).to_have_count(0)
    expect(page.get_by_test_id("nav-balance")).to_have_text("52,000원")

    # Cancel seat 12: a page asks first and says what comes back; confirming gets the money back.
    page.get_by_test_id("cancel-12").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("예매를 취소하시겠습니까?")
    expect(page.get_by_test_id("quote-fee")).to_have_text("0원")
    expect(page.get_by_test_id("quote-refund")).to_have_text("99,000원")
    page.screenshot(path=artifacts / "cancel-confirmation.png", full_page=True)
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_text("예매가 취소되었고 결제 금액 전액이 예치금으로 환불되었습니다.")).to_be_visible()
    expect(page.locator(".ticket .badge-CANCELLED")).to_have_count(1)
    expect(page.get_by_test_id("cancel-12")).to_have_count(0)
    expect(page.get_by_test_id("cancel-13")).to_have_count(1)

    page.get_by_role("link", name=re.compile("예치금")).first.click()
    expect(page.get_by_test_id("balance")).to_have_text("151,000원")
    history = page.get_by_test_id("history")
    expect(history.locator(".history-row").first).to_contain_text("환불")
    expect(history.locator(".history-row").first).to_contain_text("+99,000원")
    # Each payment and refund says what it was for.
    expect(history.locator(".history-row").first).to_contain_text("Seoul Jazz Night")
    expect(history.locator(".history-row").first).to_contain_text("12번 좌석")
    expect(history).to_contain_text("좌석 결제")

    assert page.problems == []


def test_the_site_in_english_on_a_phone(open_page, artifacts, concert_date):
    fan = factories.UserFactory(email="phone@example.com")
    page = open_page(width=390, height=844)
    page.goto("/accounts/login/")
    page.get_by_role("button", name="EN").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("E-mail").fill(fan.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.locator("form.stack-form").get_by_role("button", name="Log in").click()
    page.goto(f"/concerts/{concert_date.concert.pk}/")
    expect(page.get_by_text("50 seats left / 50")).to_be_visible()
    page.get_by_role("button", name="Book").click()
    expect(page).to_have_url(re.compile(f"/dates/{concert_date.pk}/seats/"))
    expect(page.get_by_test_id("nav-balance")).to_have_text("₩0")
    page.locator("label[data-seat='1']").click()
    expect(page.locator(".selection-bar [data-selected-total]")).to_have_text("₩99,000")
    page.screenshot(path=artifacts / "seat-map-phone-en.png", full_page=True)
    # The counter stops at the per-date limit: the other seats cannot be picked any more.
    for number in (2, 3, 4):
        page.locator(f"label[data-seat='{number}']").click()
    expect(page.locator(".selection-bar [data-selected-count]")).to_have_text("4 / 4")
    expect(page.locator("input[name=seats][value='5']")).to_be_disabled()
    page.locator("label[data-seat='4']").click()
    expect(page.locator("input[name=seats][value='5']")).to_be_enabled()
    assert page.problems == []
