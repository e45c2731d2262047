"""Staff's concert and date pages in a real browser (Korean desktop, English phone, and without JavaScript):
tiers read-only with their names, no None on a new row, no Delete next to a date with paid tickets (and a
message when staff try), a refused move of a sold date, cancelling a date lands on its refund progress,
and a waiting room fans queued in has no Delete either. Every page is checked for leaked syntax or None."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from concerts.pricing import PriceTier
from queueing import services as queue_services
from tests import factories
from tests.support.sales import paid_fan
from tests.support.two_factor import pass_second_factor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "amber-lantern-5820"
TIERS = [PriceTier("VIP", 1, 10, 165_000), PriceTier("R", 11, 30, 132_000), PriceTier("S", 31, 50, 99_000)]


@pytest.fixture
def sold_concert(settings):
    settings.QUEUE_BACKEND = "database"
    staff = factories.StaffFactory(email="boss@example.com", name="Boss")
    staff.set_password(PASSWORD)
    staff.save(update_fields=["password"])
    concert = factories.ConcertFactory(title="Aurora Live")
    sold = factories.ConcertDateFactory(concert=concert, tiers=TIERS)
    free = factories.ConcertDateFactory(concert=concert, concert_date=sold.concert_date + datetime.timedelta(days=1))
    paid_fan(concert_date=sold, seats=[1, 2])
    for _ in range(2):
        queue_services.join(user=factories.UserFactory(), concert=concert)
    return concert, sold, free


def log_in(page, next_url):
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", "boss@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    pass_second_factor(page, "boss@example.com")


@pytest.mark.parametrize(
    ("width", "locale", "javascript"),
    [(1280, "ko-KR", True), (390, "en-US", True), (1280, "ko-KR", False)],
)
def test_staff_see_a_sold_date_safely(open_page, artifacts, sold_concert, width, locale, javascript):
    concert, sold, free = sold_concert
    page = open_page(width=width, locale=locale, javascript=javascript)
    name = f"admin-dates-{locale}-{width}{'' if javascript else '-nojs'}"
    shot = lambda step: page.screenshot(path=artifacts / f"{name}-{step}.png", full_page=True)  # noqa: E731

    log_in(page, f"/admin/concerts/concert/{concert.pk}/change/")
    expect(page).to_have_url(re.compile(f"/admin/concerts/concert/{concert.pk}/change/$"))
    expect(page.locator(".fr-price-tiers").first).to_contain_text("VIP")
    assert page.locator("textarea[name='dates-0-price_tiers']").count() == 0
    assert page.locator("textarea[name='dates-2-price_tiers']").count() == 1  # the new row
    shot("1-concert")

    page.goto(f"/admin/concerts/concertdate/{sold.pk}/change/")
    expect(page.locator(".fr-price-tiers")).to_contain_text("R")
    assert page.locator("a.deletelink").count() == 0
    shot("2-date")

    page.fill("#id_starts_at_0", free.concert_date.isoformat())
    page.locator("input[name=_save]").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    shot("3-move-refused")

    page.goto(f"/admin/concerts/concertdate/{sold.pk}/delete/")
    expect(page).to_have_url(re.compile(f"/admin/concerts/concertdate/{sold.pk}/change/$"))
    expect(page.locator(".messagelist .error")).to_be_visible()
    shot("4-delete-refused")

    page.locator(".object-tools form:has(input[value=cancel_dates]) button").click()
    page.locator("#content form input[type=submit]").click()
    expect(page).to_have_url(re.compile("/admin/concerts/datecancellation/[0-9a-f-]+/change/$"))
    shot("5-cancel-progress")

    page.goto(f"/admin/queueing/waitingroom/{concert.pk}/change/")
    assert page.locator("a.deletelink").count() == 0
    shot("6-waiting-room")

    page.goto("/admin/concerts/concert/add/")
    assert page.locator(".field-created_at").count() == 0
    shot("7-concert-add")
