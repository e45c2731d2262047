"""The door in a real browser: staff pick the date, type a ticket code, see a green entry; the same code
again is a red refusal naming the first entry. The code never appears in an address."""

import re

import pytest
from playwright.sync_api import expect

from booking.tickets import ticket_code
from tests import factories
from tests.support.sales import paid_fan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "violet-harbor-2931"


@pytest.fixture
def door_staff():
    staff = factories.StaffFactory(email="door@example.com", name="Park Door")
    staff.set_password(PASSWORD)
    staff.save()
    return staff


@pytest.fixture
def ticket():
    date = factories.ConcertDateFactory(concert__title="Seoul Jazz Night")
    _fan, result = paid_fan(concert_date=date, seats=[12], user=factories.UserFactory(name="Kim Fan"))
    return result.reservations[0]


def log_in(page):
    page.goto("/admin/login/?next=/admin/booking/checkin/door/")
    page.fill("#id_username", "door@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def page_text_is_clean(page):
    text = page.inner_text("body")
    for leak in ("{#", "{%", "{{", "None"):
        assert leak not in text, leak


@pytest.mark.parametrize(
    ("width", "locale", "entered", "refused", "javascript"),
    [
        (1280, "ko-KR", "입장 완료", "입장 불가", True),
        (390, "en-US", "Entry recorded", "Do not let in", True),
        (390, "en-US", "Entry recorded", "Do not let in", False),
    ],
)
def test_a_ticket_enters_once_at_the_door(
    browser, live_server, artifacts, door_staff, ticket, width, locale, entered, refused, javascript
):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": 900},
        locale=locale,
        java_script_enabled=javascript,
    )
    page = context.new_page()
    name = f"door-{locale}-{width}{'' if javascript else '-nojs'}"
    try:
        log_in(page)
        expect(page).to_have_url(re.compile("/admin/booking/checkin/door/$"))
        date_label = page.locator("#id_concert_date option:checked").inner_text()
        assert "Seoul Jazz Night" in date_label
        page.screenshot(path=artifacts / f"{name}-1-empty.png", full_page=True)

        code = ticket_code(ticket)
        page.fill("#id_code", code)
        page.locator(".fr-door button[type=submit]").click()
        expect(page.get_by_test_id("ticket-valid")).to_contain_text(entered)
        expect(page.get_by_test_id("ticket-valid")).to_contain_text("Kim Fan")
        expect(page.get_by_test_id("checkin-counts")).to_contain_text("1")
        assert code not in page.url
        expect(page.locator("#id_code")).to_have_value("")
        page_text_is_clean(page)
        page.screenshot(path=artifacts / f"{name}-2-entered.png", full_page=True)

        page.fill("#id_code", code)
        page.locator(".fr-door button[type=submit]").click()
        expect(page.get_by_test_id("ticket-invalid")).to_contain_text(refused)
        expect(page.get_by_test_id("ticket-invalid")).to_contain_text("Park Door")
        assert code not in page.url
        page_text_is_clean(page)
        page.screenshot(path=artifacts / f"{name}-3-refused.png", full_page=True)
    finally:
        context.close()
