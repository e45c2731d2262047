"""A fan joins a sold-out date's waiting list, a seat comes back, the offer banner takes them to the seat held
for them, and they pay it: in a real browser, in Korean on a desktop and in English on a phone without JavaScript.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from booking import services
from booking.models import Reservation, WaitlistOffer
from tests import factories
from tests.e2e.test_fan_pages import log_in
from tests.support.fans import admit
from tests.support.two_factor import pass_second_factor
from tests.support.waitlist import return_seats, sell_out
from wallet import services as wallet_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def concert_date():
    return factories.ConcertDateFactory(concert__title="Seoul Jazz Night", concert__venue="Olympic Hall")


@pytest.fixture
def sold(concert_date):
    return sell_out(concert_date)


@pytest.fixture
def fan():
    fan = factories.UserFactory(name="김대기", email="waiting.fan@example.com")
    wallet_services.charge(user=fan, amount=300_000)
    return fan


def test_join_the_list_a_seat_returns_the_banner_takes_the_fan_to_pay_it(
    open_page, artifacts, live_server, concert_date, sold, fan
):
    admit(fan, concert_date.concert)  # joining a list needs admission, as the seat map does
    page = open_page()
    log_in(page, live_server, fan, language="ko")

    # The sold-out date on the concert page links to its waiting list; the fan joins it.
    page.goto(f"/concerts/{concert_date.concert.pk}/")
    page.screenshot(path=artifacts / "waitlist-concert-page-ko.png", full_page=True)
    page.get_by_test_id(f"waitlist-{concert_date.concert_date:%Y-%m-%d}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("취소표 대기")
    page.get_by_test_id("join-waitlist").click()
    expect(page.get_by_text("취소표 대기를 신청했습니다.")).to_be_visible()
    expect(page.get_by_test_id("waitlist-place")).to_have_text("취소표 대기 번호: 1번")
    page.screenshot(path=artifacts / "waitlist-joined-ko.png", full_page=True)

    # A paid seat is refunded by staff: once that commits, the offer job holds it for the fan and mails them.
    return_seats(sold, 17)
    offer = WaitlistOffer.objects.get()
    assert offer.entry.user_id == fan.pk and offer.seat.seat_number == 17
    [message] = [m for m in mail.outbox if m.to == [fan.email]]  # the others: the sold seats' confirmations
    assert "취소표 안내" in message.subject

    # The banner on My tickets links to the offer; booking it goes to checkout for that seat only.
    page.goto("/reservations/")
    banner = page.get_by_test_id("offer-banner")
    expect(banner).to_contain_text("17번 좌석")
    page.screenshot(path=artifacts / "waitlist-banner-ko.png", full_page=True)
    banner.get_by_test_id("offer-banner-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("취소표가 나왔습니다")
    page.screenshot(path=artifacts / "waitlist-offer-ko.png", full_page=True)
    page.get_by_test_id("accept-offer").click()
    expect(page).to_have_url(re.compile(f"/checkout/{concert_date.pk}/$"))
    expect(page.get_by_test_id("holds")).to_contain_text("17번 좌석")
    expect(page.get_by_test_id("hold-timer")).to_be_visible()
    page.screenshot(path=artifacts / "waitlist-checkout-ko.png", full_page=True)

    # Pay: the seat is the fan's; the banner is gone.
    page.get_by_test_id("pay-button").click()
    expect(page).to_have_url(re.compile("/reservations/$"))
    expect(page.get_by_test_id("reservations")).to_contain_text("Seoul Jazz Night")
    expect(page.get_by_test_id("offer-banner")).to_have_count(0)
    assert Reservation.objects.get(pk=offer.reservation_id).status == Reservation.Status.CONFIRMED


def test_the_list_and_the_offer_on_an_english_phone_without_javascript(
    open_page, artifacts, live_server, concert_date, sold, fan
):
    admit(fan, concert_date.concert)
    page = open_page(width=390, height=844, locale="en-US", javascript=False)
    log_in(page, live_server, fan, language="en")
    page.goto(f"/dates/{concert_date.pk}/waitlist/")
    expect(page.get_by_text("Sold out", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "waitlist-sold-out-en-phone.png", full_page=True)
    page.get_by_test_id("join-waitlist").click()
    expect(page.get_by_test_id("waitlist-place")).to_contain_text("You are number 1 on the waiting list.")

    return_seats(sold, 4)
    page.goto(f"/dates/{concert_date.pk}/waitlist/")
    expect(page.get_by_test_id("waitlist-offer")).to_contain_text("Seat 4 came back")
    page.screenshot(path=artifacts / "waitlist-offered-en-phone.png", full_page=True)
    page.get_by_test_id("open-offer").click()
    page.screenshot(path=artifacts / "waitlist-offer-en-phone.png", full_page=True)

    # Letting it go ends the offer; the link then answers 410 with the reason.
    offer_url = page.url
    page.get_by_test_id("decline-offer").click()
    expect(page.get_by_text("You let the seat go")).to_be_visible()
    response = page.goto(offer_url)
    assert response.status == 410
    expect(page.get_by_text("This offer has ended")).to_be_visible()
    page.screenshot(path=artifacts / "waitlist-offer-ended-en-phone.png", full_page=True)


def test_staff_read_the_list_and_its_offers_in_the_admin(open_page, artifacts, concert_date, sold, fan):
    staff = factories.StaffFactory(email="boss@example.com", name="Boss")
    staff.set_password("admin-violet-2931")
    staff.save(update_fields=["password"])
    services.waitlist.join_waitlist(user=fan, concert_date=concert_date)
    services.waitlist.join_waitlist(user=factories.UserFactory(), concert_date=concert_date)
    return_seats(sold, 9)  # offered to the fan at once (the job runs when the refund commits)

    page = open_page()
    page.goto("/admin/login/?next=/admin/booking/waitlistentry/")
    page.fill("#id_username", "boss@example.com")
    page.fill("#id_password", "admin-violet-2931")
    page.click("input[type=submit]")
    pass_second_factor(page, "boss@example.com")
    expect(page).to_have_url(re.compile("/admin/booking/waitlistentry/$"))
    expect(page.locator("#result_list")).to_contain_text("취소표 제안 받음")
    expect(page.locator("#result_list")).to_contain_text("대기 중")
    page.screenshot(path=artifacts / "waitlist-admin-entries-ko.png", full_page=True)
    page.goto("/admin/booking/waitlistoffer/")
    expect(page.locator("#result_list")).to_contain_text("waiting.fan@example.com")
    expect(page.locator("#result_list")).to_contain_text("제안 중")
    page.screenshot(path=artifacts / "waitlist-admin-offers-ko.png", full_page=True)


def test_a_returned_seat_is_kept_for_the_waiting_list_until_its_offer_is_made(
    open_page, artifacts, live_server, concert_date, sold, monkeypatch
):
    """In the moment between a seat's return and its offer (here held open: no offer job runs), an admitted fan
    who is not on the list sees the seat taken, and a stale tab's hold of it is refused with the reason."""
    monkeypatch.setattr(services.waitlist, "seats_returned", lambda concert_date_ids: None)
    services.waitlist.join_waitlist(user=factories.UserFactory(), concert_date=concert_date)
    return_seats(sold, 17)
    outsider = factories.UserFactory(name="박클릭", email="click@example.com")
    admit(outsider, concert_date.concert)

    page = open_page()
    log_in(page, live_server, outsider, language="ko")
    page.goto(f"/dates/{concert_date.pk}/seats/")
    expect(page.locator('[data-seat="17"]')).to_have_class(re.compile(r"\bseat-HELD\b"))
    # A tab opened before the seat was kept still has it ticked: its hold is refused, and says why.
    page.locator('form[action$="/hold/"]').evaluate(
        "form => { form.insertAdjacentHTML('beforeend', '<input type=hidden name=seats value=17>'); form.submit(); }"
    )
    expect(page.get_by_text("이 회차에 나온 취소표는 취소표 대기자에게 대기 순서대로 먼저 제공됩니다.")).to_be_visible()
    page.screenshot(path=artifacts / "waitlist-seat-kept-ko.png", full_page=True)
    assert not Reservation.objects.filter(user=outsider).exists()

    phone = open_page(width=390, height=844, locale="en-US", javascript=False)
    log_in(phone, live_server, outsider, language="en")
    phone.goto(f"/dates/{concert_date.pk}/seats/")
    expect(phone.locator('[data-seat="17"]')).to_have_class(re.compile(r"\bseat-HELD\b"))
    expect(phone.get_by_test_id("waitlist-link")).to_be_visible()
    phone.screenshot(path=artifacts / "waitlist-seat-kept-en-phone.png", full_page=True)
