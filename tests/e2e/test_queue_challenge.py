"""The waiting room's entry challenge in Chromium: the ALTCHA widget (vendored, under the site's CSP) solves the
room's proof of work when the fan clicks, and the fan joins; without JavaScript the page says why it cannot."""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from queueing import services as queue_services
from queueing.models import QueueEntryHistory
from tests import factories
from tests.support.challenges import challenge_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def concert_date(settings):
    settings.QUEUE_REDIS_PREFIX = "test-e2e-challenge"  # redeemed challenges expire with the challenge anyway
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")


@pytest.fixture
def crowded_room(concert_date):
    """The challenge on (a puzzle a browser solves in well under a second) and the only place taken."""
    room = challenge_room(concert_date.concert, max_number=20_000)
    room.max_active = 1
    room.save(update_fields=["max_active"])
    assert queue_services.join(user=factories.UserFactory(), concert=concert_date.concert).admitted
    return room


def log_in(page, live_server, user, *, language):
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


def test_the_widget_solves_on_the_click_and_the_fan_joins_from_the_concert_page(
    open_page, live_server, artifacts, concert_date, crowded_room
):
    concert = concert_date.concert
    fan = factories.UserFactory()
    page = open_page()
    log_in(page, live_server, fan, language="ko")
    page.goto(f"/concerts/{concert.pk}/")
    widget = page.locator("altcha-widget .altcha")
    expect(widget).to_have_attribute("data-state", "unverified")
    expect(page.get_by_text("대기열 입장 시 자동으로 확인됩니다")).to_be_visible()
    page.screenshot(path=artifacts / "challenge-concert-page.png", full_page=True)

    with page.expect_request(f"**/concerts/{concert.pk}/queue/challenge/"):
        page.get_by_test_id(f"book-{concert_date.concert_date:%Y-%m-%d}").click()
    expect(page).to_have_url(re.compile(f"/concerts/{concert.pk}/queue/"))
    expect(page.locator("[data-queue-position]")).to_have_text("1")
    entry = QueueEntryHistory.objects.get(user=fan, concert=concert)
    assert entry.exited_at is None
    page.screenshot(path=artifacts / "challenge-joined.png", full_page=True)


def test_the_waiting_room_page_joins_through_the_widget_on_a_phone_in_english(
    open_page, live_server, artifacts, concert_date, crowded_room
):
    concert = concert_date.concert
    fan = factories.UserFactory()
    page = open_page(width=390, height=844, locale="en-US")
    log_in(page, live_server, fan, language="en")
    page.goto(f"/concerts/{concert.pk}/queue/")
    expect(page.get_by_text("Checked automatically when you join")).to_be_visible()
    page.get_by_test_id("join-queue").click()
    expect(page.locator("[data-queue-position]")).to_have_text("1")
    assert QueueEntryHistory.objects.filter(user=fan, concert=concert).count() == 1

    # The fan left and comes back: a new challenge, solved again (one solution admits one entry).
    page.get_by_test_id("leave-queue").click()
    page.goto(f"/concerts/{concert.pk}/queue/")
    page.get_by_test_id("join-queue").click()
    expect(page.locator("[data-queue-position]")).to_have_text("1")
    assert QueueEntryHistory.objects.filter(user=fan, concert=concert).count() == 2


def test_without_javascript_the_page_says_the_check_needs_it_and_nothing_joins(
    open_page, live_server, artifacts, concert_date, crowded_room
):
    concert = concert_date.concert
    fan = factories.UserFactory()
    page = open_page(javascript=False)
    log_in(page, live_server, fan, language="ko")
    page.goto(f"/concerts/{concert.pk}/queue/")
    # (Playwright's text search skips <noscript>: the paragraph is found by its place.)
    notice = page.locator("form.join-box [data-queue-challenge] noscript .notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("대기열에 입장하려면 자바스크립트가 필요합니다.")
    page.get_by_test_id("join-queue").click()
    expect(page.get_by_text("대기열 입장 확인이 진행되지 않았습니다.", exact=False)).to_be_visible()
    page.screenshot(path=artifacts / "challenge-nojs.png", full_page=True)
    assert not QueueEntryHistory.objects.filter(user=fan).exists()
