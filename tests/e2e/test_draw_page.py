"""The public draw page in Chromium: a visitor who is not logged in reads the draw, finds a receipt, pages
through the places and downloads the JSON, in Korean on a desktop and in English on a phone (no CSP
violation, no script error, no raw None on any page)."""

import json
import pathlib

import pytest
from playwright.sync_api import expect

from queueing import views
from queueing.models import QueueEntryHistory, WaitingRoom
from tests.support.draws import run_a_draw

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "locale", "javascript"), [(1280, "ko-KR", True), (390, "en-US", False)])
def test_a_visitor_reads_and_checks_the_draw(open_page, live_server, monkeypatch, width, locale, javascript):
    monkeypatch.setattr(views, "DRAW_PAGE_SIZE", 3)
    draw = run_a_draw(entrants=8, leavers=1, later=1)
    room = WaitingRoom.objects.get(pk=draw.concert.pk)
    page = open_page(width=width, locale=locale, javascript=javascript)

    page.goto(f"/concerts/{draw.concert.pk}/draw/")
    expect(page.get_by_test_id("draw-seed")).to_have_text(room.draw_seed)
    expect(page.get_by_test_id("draw-commitment")).to_have_text(room.draw_commitment)
    expect(page.get_by_test_id("draw-table").locator("tbody tr")).to_have_count(3)

    fifth = QueueEntryHistory.objects.get(concert=draw.concert, queue_position=5)
    page.fill("#draw-receipt", fifth.receipt.lower())
    page.locator(".draw-find button").click()
    expect(page.get_by_test_id("draw-found")).to_contain_text(fifth.receipt)
    expect(page.locator("tr.is-found")).to_contain_text(fifth.receipt)

    page.get_by_role("link", name="›").click()
    expect(page.get_by_test_id("pager")).to_contain_text("3 / 3")

    with page.expect_download() as download:
        page.get_by_test_id("draw-download").click()
    data = json.loads(pathlib.Path(download.value.path()).read_text())
    assert (data["seed"], len(data["entries"])) == (room.draw_seed, 7)
