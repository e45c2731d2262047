"""A fan releases a seat they hold from the checkout page, in a real browser: the seat goes back on sale at once and
the page says so (Korean desktop, English phone, and without JavaScript: a plain form)."""

import pytest
from playwright.sync_api import expect

from booking import services as booking_services
from booking.models import Reservation
from queueing import services as queue_services
from tests import factories
from tests.e2e.test_fan_pages import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("width", "locale", "language", "javascript"),
    [(1280, "ko-KR", "ko", True), (390, "en-US", "en", True), (390, "en-US", "en", False)],
    ids=["ko-desktop", "en-phone", "no-js"],
)
def test_a_fan_releases_one_of_their_held_seats_from_checkout(
    open_page, live_server, artifacts, width, locale, language, javascript
):
    concert_date = factories.ConcertDateFactory(concert__title="Release Night")
    fan = factories.UserFactory()
    queue_services.join(user=fan, concert=concert_date.concert)  # an empty room admits at once
    booking_services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[4, 5])
    page = open_page(width=width, locale=locale, javascript=javascript)
    log_in(page, live_server, fan, language=language)
    page.goto(f"/checkout/{concert_date.pk}/")
    page.get_by_test_id("release-5").click()
    expect(page.get_by_test_id("release-5")).to_have_count(0)
    expect(page.get_by_test_id("release-4")).to_be_visible()
    name = {"ko": "release-hold-ko-desktop", "en": "release-hold-en-phone"}[language] + ("" if javascript else "-nojs")
    page.screenshot(path=artifacts / f"{name}.png", full_page=True)
    released = Reservation.objects.get(user=fan, seat__seat_number=5)
    assert released.end_reason == Reservation.EndReason.FAN_RELEASED
    assert concert_date.seats.get(seat_number=5).status == "AVAILABLE"
