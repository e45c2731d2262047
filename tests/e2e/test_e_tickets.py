"""E-tickets in Chromium: My tickets shows each paid seat's QR code with a name a screen reader reads, its printable
page prints without the site around it, and it is the same page without JavaScript (but for the Print button)."""

import re

import pytest
from playwright.sync_api import expect

from booking import services
from booking.tickets import reservation_for_code
from tests import factories
from tests.e2e.test_fan_pages import log_in
from tests.support.sales import paid_fan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_my_tickets_and_the_printable_ticket_page(open_page, live_server, artifacts):
    date = factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")
    fan, result = paid_fan(concert_date=date, seats=[7, 8])
    seat_7, seat_8 = sorted(result.reservations, key=lambda r: r.seat.seat_number)
    services.cancel(user=fan, reservation=seat_8)

    page = open_page()  # Korean, desktop
    log_in(page, live_server, fan, language="ko")
    page.goto("/reservations/")
    expect(page.get_by_role("heading", name="예매 내역", level=1)).to_be_visible()
    qr = page.get_by_role("img", name="좌석 7번 티켓 QR 코드")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 100  # big enough for a door scanner to read off a phone
    expect(page.get_by_role("img", name="좌석 8번 티켓 QR 코드")).to_have_count(0)  # refunded: no code to scan
    expect(page.get_by_test_id("void-8")).to_contain_text("무효")
    page.screenshot(path=artifacts / "my-tickets-desktop-ko.png", full_page=True)

    page.get_by_test_id("ticket-7").click()
    expect(page).to_have_url(re.compile(f"/reservations/{seat_7.pk}/ticket/$"))
    code = page.get_by_test_id("ticket-code").inner_text()
    assert reservation_for_code(code) == seat_7
    expect(page.get_by_role("img", name="좌석 7번 티켓 QR 코드")).to_be_visible()
    expect(page.get_by_role("button", name="티켓 인쇄")).to_be_visible()  # the script shows it
    expect(page.locator(".site-header")).to_be_visible()

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.get_by_role("button", name="티켓 인쇄")).to_be_hidden()
    expect(page.get_by_role("link", name="예매 내역으로 돌아가기")).to_be_hidden()
    expect(page.get_by_test_id("ticket-qr")).to_be_visible()
    expect(page.get_by_test_id("ticket-code")).to_have_text(code)
    page.screenshot(path=artifacts / "ticket-print-ko.png", full_page=True)

    # Without JavaScript (an English phone): the same ticket, no Print button (the browser's own Print works).
    phone = open_page(width=390, height=844, locale="en-US", javascript=False)
    log_in(phone, live_server, fan, language="en")
    phone.goto(f"/reservations/{seat_7.pk}/ticket/")
    expect(phone.get_by_role("img", name="QR code of the ticket for seat 7")).to_be_visible()
    assert reservation_for_code(phone.get_by_test_id("ticket-code").inner_text()) == seat_7
    expect(phone.locator("[data-print]")).to_be_hidden()
    phone.screenshot(path=artifacts / "ticket-phone-en-nojs.png", full_page=True)
    phone.goto(f"/reservations/{seat_8.pk}/ticket/")
    expect(phone.get_by_test_id("ticket-void")).to_contain_text("VOID")
    expect(phone.locator("svg")).to_have_count(0)
