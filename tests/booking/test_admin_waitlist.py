"""Staff read the waiting lists and their offers in the admin, in list order with each offer's outcome, and can
run a date's offers at once; nobody edits a list by hand."""

import pytest
from django.conf import settings
from django.urls import reverse
from pytest_django.asserts import assertContains

from booking import services
from booking.models import WaitlistEntry, WaitlistOffer
from tests.support.waitlist import return_seats, sell_out, waiting_fans

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(concert_date):
    sold = sell_out(concert_date)
    fans = waiting_fans(concert_date, 2)
    return_seats(sold, 17)  # the offer job runs when the test's transaction would commit: offered below
    services.waitlist.make_offers(concert_date=concert_date)
    return fans


def test_staff_see_each_list_with_its_offers_in_korean(staff_client, offered):
    entries = staff_client.get(reverse("admin:booking_waitlistentry_changelist"))
    assertContains(entries, "취소표 대기 신청")
    assertContains(entries, offered[0].email)
    assertContains(entries, "취소표 제안 받음")
    first = WaitlistEntry.objects.get(user=offered[0])
    detail = staff_client.get(reverse("admin:booking_waitlistentry_change", args=[first.pk]))
    assertContains(detail, "제안 중")  # the inline offer's status
    offers = staff_client.get(reverse("admin:booking_waitlistoffer_changelist"))
    assertContains(offers, offered[0].email)


def test_the_screens_in_english_are_read_only(staff_client, offered):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = staff_client.get(reverse("admin:booking_waitlistoffer_changelist"))
    assertContains(page, "Waiting-list offers")
    assert staff_client.get(reverse("admin:booking_waitlistoffer_add")).status_code == 403
    offer = WaitlistOffer.objects.get()
    response = staff_client.post(
        reverse("admin:booking_waitlistoffer_change", args=[offer.pk]), {"status": WaitlistOffer.Status.PAID}
    )
    assert response.status_code == 403
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.OPEN


def test_the_action_offers_a_dates_free_seats_to_its_list_now(staff_client, offered, concert_date):
    services.waitlist.leave_waitlist(user=offered[0], concert_date=concert_date)  # seat 17 is free again
    entry = WaitlistEntry.objects.get(user=offered[1])
    response = staff_client.post(
        reverse("admin:booking_waitlistentry_changelist"),
        {"action": "offer_returned_seats", "_selected_action": [str(entry.pk)]},
        follow=True,
    )
    assertContains(response, "취소표 1매를 제안했습니다")
    assert WaitlistOffer.objects.get(entry=entry).seat.seat_number == 17


def test_when_the_offer_mails_fail_the_action_still_answers_saying_so_and_the_offers_stand(
    staff_client, offered, concert_date, settings, caplog
):
    services.waitlist.leave_waitlist(user=offered[0], concert_date=concert_date)  # seat 17 is free again
    entry = WaitlistEntry.objects.get(user=offered[1])
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    response = staff_client.post(
        reverse("admin:booking_waitlistentry_changelist"),
        {"action": "offer_returned_seats", "_selected_action": [str(entry.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assertContains(response, 'class="warning"')
    assertContains(response, "취소표 1매를 제안했습니다. 취소표 제안 메일 1통을 보내지 못했습니다")
    # The offer was made and stands, its mail still owed (the beat sweep sends it once the server answers).
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.status == WaitlistOffer.Status.OPEN and offer.emailed_at is None
    assert "its e-mail failed" in caplog.text


def test_the_warning_in_english(staff_client, offered, concert_date, settings):
    services.waitlist.leave_waitlist(user=offered[0], concert_date=concert_date)
    entry = WaitlistEntry.objects.get(user=offered[1])
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = staff_client.post(
        reverse("admin:booking_waitlistentry_changelist"),
        {"action": "offer_returned_seats", "_selected_action": [str(entry.pk)]},
        follow=True,
    )
    assertContains(response, "1 seat offered. 1 offer e-mail could not be sent; the offer stands")
