"""The opening in a real browser: a fan enters the pre-queue from the concert page, waits with a receipt, and at
the opening the page learns the drawn place from its poll (no page reloads itself at zero) and moves on."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from queueing import services
from queueing.draw import draw_order
from queueing.models import QueueEntryHistory, WaitingRoom
from tests import factories
from tests.e2e.test_fan_pages import log_in
from tests.support.challenges import challenge_room

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OPENS_IN = datetime.timedelta(seconds=12)


@pytest.fixture
def upcoming():
    concert = factories.ConcertFactory(title="Opening Night", sale_opens_at=timezone.now() + OPENS_IN)
    factories.ConcertDateFactory(concert=concert)
    challenge_room(concert, max_number=20_000)  # entering goes through the entry challenge, as in production
    return concert


def test_prequeue_draw_and_admission_without_a_reload_at_zero(open_page, live_server, artifacts, upcoming):
    others = [factories.UserFactory() for _ in range(3)]
    fan = factories.UserFactory()
    page = open_page()
    log_in(page, live_server, fan, language="ko")

    # The concert page offers the pre-queue and says how it works, with the draw's commitment.
    page.goto(f"/concerts/{upcoming.pk}/")
    box = page.get_by_test_id("prequeue-open")
    expect(box).to_contain_text("먼저 들어온다고 유리하지 않고")
    commitment = WaitingRoom.objects.get(pk=upcoming.pk).draw_commitment
    expect(box.get_by_test_id("draw-commitment")).to_contain_text(commitment)
    page.screenshot(path=artifacts / "prequeue-concert.png", full_page=True)

    # A second tab keeps the concert page open through the opening: at zero it says so and does not reload.
    watcher = page.context.new_page()
    watcher.goto(f"/concerts/{upcoming.pk}/")
    watcher.evaluate("window.__stillHere = true")

    # Enter the pre-queue (the browser solves the entry challenge on the click): a receipt, no number yet, a
    # countdown to the draw.
    expect(box.locator("altcha-widget .altcha")).to_have_attribute("data-state", "unverified")
    page.get_by_test_id("enter-prequeue").click()
    expect(page).to_have_url(re.compile(f"/concerts/{upcoming.pk}/queue/"))
    expect(page.get_by_role("heading", name="사전 대기열에 입장했습니다")).to_be_visible()
    receipt = QueueEntryHistory.objects.get(user=fan).receipt
    expect(page.get_by_test_id("draw-receipt")).to_contain_text(receipt)
    page.screenshot(path=artifacts / "prequeue-waiting.png", full_page=True)

    # Other fans enter too; admission is paused at the opening so the drawn number shows on the page.
    for other in others:
        services.join(user=other, concert=upcoming)
    services.set_paused(concert=upcoming, paused=True)
    page.evaluate("window.__stillHere = true")

    # After the opening the page's poll runs the draw (no beat here) and shows the drawn number in place.
    expect(page.locator("[data-queue-waiting]")).to_be_visible(timeout=40_000)
    room = WaitingRoom.objects.get(pk=upcoming.pk)
    receipts = list(QueueEntryHistory.objects.filter(concert=upcoming).values_list("receipt", flat=True))
    place = draw_order(room.draw_seed, receipts).index(receipt) + 1
    expect(page.locator("[data-queue-position]")).to_have_text(str(place))
    assert page.evaluate("window.__stillHere") is True  # updated in place, not reloaded
    page.screenshot(path=artifacts / "prequeue-drawn.png", full_page=True)

    # The concert page in the other tab showed "open now" at zero without reloading.
    expect(watcher.get_by_test_id("prequeue-open").locator(".countdown")).to_have_text("지금 오픈")
    assert watcher.evaluate("window.__stillHere") is True

    # Admission resumes: the page takes the fan on to the concert's dates by itself.
    services.set_paused(concert=upcoming, paused=False)
    services.admit_batch(concert=upcoming)
    page.wait_for_url(re.compile(f"/concerts/{upcoming.pk}/$"), timeout=30_000)
    expect(page.get_by_role("button", name="예매하기").first).to_be_visible()
