"""A fan-club presale's waiting room in a real browser: a fan on the list goes from the presale's page into its
room's pre-queue (the browser solving the entry challenge), the room names the presale; a fan not on the list is told
when the general sale's room opens, on a phone and without JavaScript; and the draw page keeps the presale's draw once
the room has moved on."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from concerts.models import PresaleEmail
from queueing import services
from tests import factories
from tests.e2e.test_fan_pages import log_in
from tests.support.challenges import challenge_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def presale():
    now = timezone.now()
    concert = factories.ConcertFactory(title="Moonlight Tour", sale_opens_at=now + datetime.timedelta(days=2))
    factories.ConcertDateFactory(concert=concert)
    challenge_room(concert, max_number=20_000)
    return factories.PresaleFactory(
        concert=concert,
        name="Blue Moon Club",
        opens_at=now + datetime.timedelta(minutes=10),
        closes_at=now + datetime.timedelta(hours=2),
        quota=4,
        access="EMAILS",
    )


def test_a_listed_fan_enters_the_presale_room_from_the_presale_page(open_page, live_server, artifacts, presale):
    fan = factories.UserFactory()
    PresaleEmail.objects.create(presale=presale, email=fan.email.lower())
    page = open_page()
    log_in(page, live_server, fan, language="ko")
    page.goto(f"/concerts/{presale.concert_id}/presales/{presale.pk}/")
    page.screenshot(path=artifacts / "presale-page-ko.png", full_page=True)
    page.get_by_test_id("presale-enter-room").click()
    expect(page).to_have_url(re.compile(f"/concerts/{presale.concert_id}/queue/"))
    expect(page.get_by_test_id("presale-room")).to_contain_text("Blue Moon Club")
    expect(page.locator("altcha-widget .altcha")).to_have_attribute("data-state", "unverified")
    page.get_by_test_id("join-queue").click()
    expect(page.get_by_role("heading", name="사전 대기열에 입장했습니다")).to_be_visible()
    expect(page.get_by_test_id("presale-room")).to_contain_text("Blue Moon Club")
    page.screenshot(path=artifacts / "presale-room-ko.png", full_page=True)


@pytest.mark.parametrize("javascript", [True, False], ids=["phone", "no-js"])
def test_a_fan_not_on_the_list_is_told_when_the_general_room_opens(
    open_page, live_server, artifacts, presale, javascript
):
    page = open_page(width=390, height=844, locale="en-US", javascript=javascript)
    log_in(page, live_server, factories.UserFactory(), language="en")
    page.goto(f"/concerts/{presale.concert_id}/queue/")
    notice = page.get_by_test_id("presale-only")
    expect(notice).to_contain_text("fan-club presale Blue Moon Club")
    expect(page.get_by_test_id("join-queue")).to_have_count(0)
    expect(page.get_by_text("Everyone may join the general sale's waiting room from")).to_be_visible()
    name = "phone" if javascript else "nojs"
    page.screenshot(path=artifacts / f"presale-room-outsider-{name}.png", full_page=True)


def test_the_draw_page_lists_the_presale_draw_after_the_room_moved_on(open_page, live_server, artifacts, presale):
    fans = [factories.UserFactory() for _ in range(3)]
    for i, fan in enumerate(fans):
        PresaleEmail.objects.create(presale=presale, email=fan.email.lower())
        services.join(user=fan, concert=presale.concert, now=presale.opens_at - datetime.timedelta(minutes=5 - i))
    services.admit_all_due(now=presale.opens_at + datetime.timedelta(seconds=1))
    after = presale.concert.prequeue_starts_at + datetime.timedelta(seconds=1)
    services.move_on(concert=presale.concert, sale=services.current_sale(presale.concert, after), now=after)
    page = open_page(width=390, height=844, locale="en-US")
    page.goto(f"/concerts/{presale.concert_id}/draw/")
    page.get_by_test_id("past-draws").get_by_role("link", name="Blue Moon Club").click()
    expect(page.get_by_test_id("draw-presale")).to_contain_text("Blue Moon Club")
    expect(page.get_by_test_id("draw-table").locator("tbody tr")).to_have_count(3)
    page.screenshot(path=artifacts / "presale-draw-en-phone.png", full_page=True)
