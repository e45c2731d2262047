"""Staff set a waiting room's admission rate in a real browser (Korean desktop, English phone, and without
JavaScript): the field with its help text, a refusal of 0 with the form's error, and a saved rate."""

import re

import pytest
from playwright.sync_api import expect

from queueing.models import WaitingRoom
from tests import factories
from tests.support.two_factor import pass_second_factor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "amber-lantern-5820"
LABEL = {"ko-KR": "분당 입장 허용 인원", "en-US": "Fans admitted per minute"}


@pytest.fixture
def room(settings):
    settings.QUEUE_BACKEND = "database"
    staff = factories.StaffFactory(email="boss@example.com", name="Boss")
    staff.set_password(PASSWORD)
    staff.save(update_fields=["password"])
    return factories.WaitingRoomFactory(concert=factories.ConcertFactory(title="Aurora Live"))


@pytest.mark.parametrize(
    ("width", "locale", "javascript"),
    [(1280, "ko-KR", True), (390, "en-US", True), (1280, "ko-KR", False)],
)
def test_staff_set_the_admission_rate_and_zero_is_refused(open_page, artifacts, room, width, locale, javascript):
    page = open_page(width=width, locale=locale, javascript=javascript)
    name = f"admin-admission-rate-{locale}-{width}{'' if javascript else '-nojs'}"
    shot = lambda step: page.screenshot(path=artifacts / f"{name}-{step}.png", full_page=True)  # noqa: E731
    url = f"/admin/queueing/waitingroom/{room.pk}/change/"
    page.goto(f"/admin/login/?next={url}")
    page.fill("#id_username", "boss@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    pass_second_factor(page, "boss@example.com")
    expect(page).to_have_url(re.compile(f"{url}$"))

    expect(page.locator(".field-admit_per_minute label")).to_contain_text(LABEL[locale])
    expect(page.locator("#id_admit_per_minute")).to_have_value("1200")
    shot("1-form")

    page.fill("#id_admit_per_minute", "0")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".field-admit_per_minute .errorlist")).to_be_visible()
    shot("2-refused")
    assert WaitingRoom.objects.get(pk=room.pk).admit_per_minute == 1200

    page.fill("#id_admit_per_minute", "600")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist")).to_be_visible()
    shot("3-saved")
    assert WaitingRoom.objects.get(pk=room.pk).admit_per_minute == 600
