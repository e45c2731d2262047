"""The live seat map in a real browser: a seat another fan takes while the page is open greys out and leaves the
fan's selection with a note; the polls are 304s while nothing changes and stop while the page is hidden; the seats
are keyboard- and screen-reader-usable; "Pick the best seats for me" works with and without JavaScript."""

import re
import time

import pytest
from playwright.sync_api import expect

from booking import services as booking_services
from tests import factories
from tests.e2e.test_fan_pages import admitted_fan, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = "livemap"


@pytest.fixture
def concert_date():
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")


@pytest.fixture(autouse=True)
def _quick_polls(settings):
    settings.SEAT_MAP_POLL_SECONDS = 1  # every 1-2 s, so the test waits seconds, not a minute


def wait_for(page, predicate, seconds=10):
    """Let the page run until predicate() holds (events such as responses are handed over while it waits)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def state_responses(page):
    """The statuses of the page's seat-state polls, in order, as they come."""
    seen = []
    page.on("response", lambda response: "/seats/state/" in response.url and seen.append(response.status))
    return seen


def test_a_seat_another_fan_takes_greys_out_and_leaves_the_selection(open_page, live_server, artifacts, concert_date):
    fan = admitted_fan(concert_date)
    page = open_page()
    log_in(page, live_server, fan, language="ko")
    polls = state_responses(page)
    page.goto(f"/dates/{concert_date.pk}/seats/")
    page.locator("label[data-seat='12']").click()
    page.locator("label[data-seat='13']").click()
    expect(page.locator(".selection-panel [data-selected-count]")).to_have_text("2 / 4")

    # Nothing changes: the polls are answered 304 from the seat version (the page carried the first ETag).
    wait_for(page, lambda: len(polls) > 1)
    assert set(polls) == {304}, polls

    # Another fan takes seat 12 (ticked here) and seat 20 (not).
    other = factories.UserFactory()
    booking_services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[12, 20])
    seat_12, box_12 = page.locator("label[data-seat='12']"), page.locator("input[name=seats][value='12']")
    expect(seat_12).to_have_class(re.compile(r"\bis-taken\b"), timeout=10_000)
    expect(box_12).not_to_be_checked()
    expect(box_12).to_be_disabled()
    expect(box_12).to_have_attribute("aria-label", "12번 좌석 · 99,000원 · 방금 다른 고객이 선택")
    expect(page.locator("label[data-seat='20']")).to_have_class(re.compile(r"\bis-taken\b"))
    expect(page.locator("[data-seat-note-unticked]")).to_have_text(
        "방금 다른 고객이 선택하여 내 선택에서 빠진 좌석: 12번"
    )
    expect(page.locator("[data-seat-note-taken]")).to_have_text("이 화면을 연 뒤 다른 고객이 선택한 좌석: 20번")
    expect(page.locator(".selection-panel [data-selected-count]")).to_have_text("1 / 4")
    expect(page.locator(".selection-panel [data-selected-list]")).to_have_text("13")
    expect(page.locator("[data-seat-announce]")).to_contain_text("12번")
    assert 200 in polls
    page.screenshot(path=artifacts / "live-seat-map-taken.png", full_page=True)
    page.screenshot(path=f"/work/helpers/shots/{SHOTS}/live-seat-map-taken-ko-desktop.png", full_page=True)

    # The other fan lets seat 20 go: it is free again on this page too; the hold goes through with seat 13.
    booking_services.release_hold(reservation=other.reservations.get(seat__seat_number=20, status="HOLD"))
    expect(page.locator("label[data-seat='20']")).not_to_have_class(re.compile(r"\bis-taken\b"), timeout=10_000)
    expect(page.locator("input[name=seats][value='20']")).to_be_enabled()
    expect(page.locator("[data-seat-note-taken]")).to_be_hidden()
    page.get_by_test_id("hold-button").click()
    expect(page).to_have_url(re.compile(f"/checkout/{concert_date.pk}/"))
    expect(page.get_by_text("13번 좌석을 잠시 선점했습니다")).to_be_visible()


def test_the_polls_stop_while_the_page_is_hidden_and_come_back_when_it_is_shown(open_page, live_server, concert_date):
    fan = admitted_fan(concert_date)
    page = open_page()
    log_in(page, live_server, fan, language="ko")
    polls = state_responses(page)
    page.goto(f"/dates/{concert_date.pk}/seats/")
    wait_for(page, lambda: len(polls) > 0)
    page.evaluate(
        "() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    page.wait_for_timeout(500)  # a poll already on its way may still land
    hidden_from = len(polls)
    page.wait_for_timeout(4_000)  # two or more polls' worth
    assert len(polls) == hidden_from
    page.evaluate(
        "() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    wait_for(page, lambda: len(polls) > hidden_from, seconds=3)


def test_seats_are_picked_by_keyboard_and_read_out_with_number_price_and_state(open_page, live_server, concert_date):
    fan = admitted_fan(concert_date)
    booking_services.hold_seats(user=factories.UserFactory(), concert_date=concert_date, seat_numbers=[2])
    page = open_page(locale="en-US")
    log_in(page, live_server, fan, language="en")
    page.goto(f"/dates/{concert_date.pk}/seats/")
    # Each seat's accessible name says its number, price and state.
    expect(page.get_by_role("checkbox", name="Seat 1 · ₩99,000 · available")).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile(r"^Seat 2 "))).to_have_count(0)  # held: not a checkbox
    expect(page.locator("div[data-seat='2'] .visually-hidden")).to_have_text("Seat 2 · ₩99,000 · held by another fan")
    expect(page.get_by_role("list", name="Seats, numbered row by row from the stage")).to_be_visible()
    # Tab onto a seat and tick it with the space bar; the selection is read out.
    page.get_by_role("checkbox", name="Seat 1 · ₩99,000 · available").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the held seat 2 is skipped: seat 3 is next
    expect(page.get_by_role("checkbox", name="Seat 3 · ₩99,000 · available")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("status").filter(has_text="2 of 4 seats selected")).to_have_text(
        "2 of 4 seats selected: 1, 3. Total ₩198,000."
    )
    page.screenshot(path=f"/work/helpers/shots/{SHOTS}/seat-map-en-keyboard.png", full_page=True)


def test_pick_the_best_seats_on_a_phone_in_english(open_page, live_server, concert_date):
    fan = admitted_fan(concert_date)
    page = open_page(width=390, height=844, locale="en-US")
    log_in(page, live_server, fan, language="en")
    page.goto(f"/dates/{concert_date.pk}/seats/")
    form = page.get_by_test_id("pick-form")
    expect(form.get_by_role("heading")).to_have_text("Pick the best seats for me")
    form.get_by_label("Number of seats").select_option("3")
    page.screenshot(path=f"/work/helpers/shots/{SHOTS}/seat-map-en-phone.png", full_page=True)
    form.get_by_test_id("pick-button").click()
    expect(page).to_have_url(re.compile(f"/checkout/{concert_date.pk}/"))
    expect(page.get_by_text("We picked seats 3, 4, 5 for you, side by side")).to_be_visible()


def test_without_javascript_the_picker_and_a_refused_pick_still_work(open_page, live_server, concert_date):
    fan = admitted_fan(concert_date)
    for number in range(2, 51, 2):  # every other seat taken: no two side by side
        booking_services.hold_seats(user=factories.UserFactory(), concert_date=concert_date, seat_numbers=[number])
    page = open_page(javascript=False)
    log_in(page, live_server, fan, language="ko")
    page.goto(f"/dates/{concert_date.pk}/seats/")
    expect(page.locator("[data-seat-note-taken]")).to_be_hidden()
    page.get_by_test_id("pick-form").get_by_label("매수").select_option("2")
    page.get_by_test_id("pick-button").click()
    expect(page.locator(".messages .message-error")).to_contain_text(
        "나란히 붙은 선택 가능 좌석 2매가 더 이상 없습니다"
    )
    page.screenshot(path=f"/work/helpers/shots/{SHOTS}/seat-map-ko-nojs-refused.png", full_page=True)
    page.get_by_test_id("pick-form").get_by_label("매수").select_option("1")
    page.get_by_test_id("pick-button").click()
    expect(page).to_have_url(re.compile(f"/checkout/{concert_date.pk}/"))
    expect(page.get_by_text("5번 좌석을 자동으로 골라 잠시 선점했습니다")).to_be_visible()
