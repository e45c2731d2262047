"""The fan sees the cancellation fee and the refund before confirming (the cancel page, My tickets), is charged
what the page showed, and is shown the page again (409) when the fee went up meanwhile."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from booking.models import Reservation
from concerts.pricing import PriceTier
from tests.factories import ConcertDateFactory
from tests.support.sales import paid_fan
from wallet.models import UsageHistory

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


@pytest.fixture
def ticket():
    """A fan's ticket at 80,000 won for a 19:00 show 40 days away (paid now: its free week is long over by the
    fee's days)."""
    show_day = (datetime.datetime.now(SEOUL) + datetime.timedelta(days=40)).date()
    show = datetime.datetime.combine(show_day, datetime.time(19), tzinfo=SEOUL)  # 19:00 whatever the time now
    date = ConcertDateFactory(starts_at=show, tiers=[PriceTier("R", 1, 50, 80_000)])
    fan, result = paid_fan(concert_date=date, seats=[7])
    return fan, result.reservations[0], date


def at(date, days_before, hour=12, minute=0, second=0):
    day = date.concert_date - datetime.timedelta(days=days_before)
    return datetime.datetime.combine(day, datetime.time(hour, minute, second), tzinfo=SEOUL)


def client_for(fan):
    client = Client()
    client.force_login(fan)
    return client


def test_the_cancel_page_shows_fee_refund_and_the_schedule_in_korean(ticket):
    fan, reservation, date = ticket
    with time_machine.travel(at(date, 4), tick=False):
        page = client_for(fan).get(reverse("booking:cancel", args=[reservation.pk]))

    assert page.status_code == 200
    assertContains(page, '<dd data-testid="quote-fee">16,000원</dd>', html=True)
    assertContains(page, '<dd class="grand" data-testid="quote-refund">64,000원</dd>', html=True)
    assertContains(page, "취소 수수료 (20%)")
    assertContains(page, "환불 금액")
    assertContains(page, '<input type="hidden" name="fee" value="16000">', html=True)
    assertContains(page, "취소하고 64,000원 환불받기")
    assertContains(page, "관람일 6~3일 전")
    assertContains(page, "관람 당일")
    assertContains(page, "취소 불가")
    assertContains(page, 'class="is-now" aria-current="true"')


def test_the_page_in_english_on_a_free_day(ticket):
    fan, reservation, date = ticket
    with time_machine.travel(at(date, 20), tick=False):  # logged in then: sessions run out over the weeks
        client = client_for(fan)
        client.cookies["django_language"] = "en"
        page = client.get(reverse("booking:cancel", args=[reservation.pk]))
    assertContains(page, '<input type="hidden" name="fee" value="0">', html=True)
    assertContains(page, '<dd data-testid="quote-fee">₩0</dd>', html=True)
    assertContains(page, "Until 11 days before the show")
    assertContains(page, "10 to 7 days before the show")
    assertContains(page, "10% of the price")


def test_confirming_charges_the_fee_shown_and_says_what_came_back(ticket):
    fan, reservation, date = ticket
    with time_machine.travel(at(date, 1, 9), tick=False):
        client = client_for(fan)
        response = client.post(reverse("booking:cancel", args=[reservation.pk]), {"fee": "24000"}, follow=True)
        wallet = client.get(reverse("wallet:home"))

    assertContains(response, "예매가 취소되었습니다. 취소 수수료: 24,000원, 예치금으로 환불된 금액: 56,000원")
    assert sorted(UsageHistory.objects.filter(reservation=reservation).values_list("action_type", "amount")) == [
        ("CANCELLATION", 56_000),
        ("CANCELLATION_FEE", 24_000),
        ("RESERVATION", 80_000),
    ]
    assertContains(wallet, "취소 수수료")
    assertContains(wallet, "+56,000원")


def test_a_fee_that_rose_at_midnight_shows_the_page_again_with_the_new_amounts(ticket):
    fan, reservation, date = ticket
    with time_machine.travel(at(date, 7, 23, 59, 50), tick=False):
        client = client_for(fan)
        shown = client.get(reverse("booking:cancel", args=[reservation.pk]))
    assertContains(shown, 'name="fee" value="8000"')

    with time_machine.travel(at(date, 6, 0, 0, 5), tick=False):  # the click arrives after midnight
        response = client.post(reverse("booking:cancel", args=[reservation.pk]), {"fee": "8000"})

    assert response.status_code == 409
    assertContains(response, "지금 취소 수수료 16,000원, 환불 금액 64,000원", status_code=409)
    assertContains(response, 'name="fee" value="16000"', status_code=409)
    assert Reservation.objects.get(pk=reservation.pk).status == "CONFIRMED"
    assert not UsageHistory.objects.filter(reservation=reservation, action_type__startswith="CANCELLATION").exists()


def test_a_form_without_the_fee_never_charges_one(ticket):
    fan, reservation, date = ticket
    with time_machine.travel(at(date, 3), tick=False):
        response = client_for(fan).post(reverse("booking:cancel", args=[reservation.pk]), {"fee": "lots"})
    assert response.status_code == 409
    assert Reservation.objects.get(pk=reservation.pk).status == "CONFIRMED"


def test_my_tickets_shows_the_fee_of_cancelling_now_beside_the_deadline(ticket):
    fan, reservation, date = ticket
    with time_machine.travel(at(date, 2), tick=False):
        page = client_for(fan).get(reverse("booking:reservations"))
    assertContains(page, '<span data-testid="fee-7">지금 취소 시 수수료 24,000원</span>', html=True)
    with time_machine.travel(at(date, 30), tick=False):
        page = client_for(fan).get(reverse("booking:reservations"))
    assertContains(page, '<span data-testid="fee-7">지금 취소 시 수수료 없음</span>', html=True)
    assertNotContains(page, "전액 환불")
