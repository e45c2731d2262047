"""Checkout pays only what it may: nothing once the show has started, and only the holds the page showed."""

import datetime
import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from booking import services as booking_services
from booking.models import Payment, Reservation
from tests import factories
from tests.support.checkout import form_data, pay_data
from tests.support.checks import assert_consistent

pytestmark = pytest.mark.django_db


def test_paying_after_the_show_has_started_is_refused_on_the_checkout_page(fan_client, fan, admit, top_up):
    concert_date = factories.ConcertDateFactory(starts_at=timezone.now() + datetime.timedelta(hours=1))
    top_up(fan, 500_000)
    start = concert_date.starts_at
    with time_machine.travel(start - datetime.timedelta(seconds=60), tick=False):
        admit(fan, concert_date.concert)
        booking_services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[3, 4])
        data = form_data(fan_client.get(reverse("booking:checkout", args=[concert_date.pk])))

    with time_machine.travel(start + datetime.timedelta(seconds=200), tick=False):
        response = fan_client.post(reverse("booking:checkout", args=[concert_date.pk]), data)

    assertContains(response, "이미 시작된 회차라 결제할 수 없습니다.", status_code=409)
    fan.refresh_from_db()
    assert fan.balance == 500_000
    assert set(Payment.objects.filter(user=fan).values_list("status", flat=True)) == {"FAILED"}
    assert not Reservation.objects.filter(user=fan, status="CONFIRMED").exists()


CHANGED = "이 페이지를 연 뒤 선점한 좌석이 바뀌었습니다"


def test_a_hold_made_in_a_second_tab_is_not_added_to_the_bill_the_first_tab_showed(
    fan_client, fan, concert_date, admitted, hold, top_up
):
    top_up(fan, 500_000)
    hold(fan, concert_date, 1)
    first_tab = form_data(fan_client.get(reverse("booking:checkout", args=[concert_date.pk])))
    hold(fan, concert_date, 2)  # the second tab

    refused = fan_client.post(reverse("booking:checkout", args=[concert_date.pk]), first_tab)

    assertContains(refused, CHANGED, status_code=409)
    assert [r.seat.seat_number for r in refused.context["holds"]] == [1, 2]  # the page shows the real bill
    fan.refresh_from_db()
    assert fan.balance == 500_000
    assert not Payment.objects.exists()
    # Paying what the page now shows goes through, once, whatever the double click.
    shown = form_data(refused)
    assert len(shown["reservations"]) == 2
    for _ in range(2):
        paid = fan_client.post(reverse("booking:checkout", args=[concert_date.pk]), shown)
        assert paid.status_code == 302 and paid["Location"] == "/reservations/"
    fan.refresh_from_db()
    assert fan.balance == 500_000 - 2 * concert_date.seats.get(seat_number=1).price
    assert Payment.objects.filter(status="SUCCESS").count() == 2
    assert_consistent()


def test_a_checkout_post_without_the_holds_it_showed_is_refused_and_the_page_shown_again(
    fan_client, fan, concert_date, admitted, hold, top_up
):
    top_up(fan, 500_000)
    hold(fan, concert_date, 4)

    response = fan_client.post(reverse("booking:checkout", args=[concert_date.pk]), {"idempotency_key": uuid.uuid4()})

    assertContains(response, CHANGED, status_code=409)
    assertContains(response, 'name="reservations"', status_code=409)
    assert not Payment.objects.exists()


@pytest.mark.parametrize("bad", [["not-a-uuid"], ["1"] * 60])
def test_a_checkout_post_with_malformed_hold_ids_is_400(fan_client, fan, concert_date, admitted, hold, top_up, bad):
    top_up(fan, 500_000)
    hold(fan, concert_date, 4)
    data = {"idempotency_key": str(uuid.uuid4()), "reservations": bad}

    response = fan_client.post(reverse("booking:checkout", args=[concert_date.pk]), data)

    assertContains(response, "결제 화면이 만료되었습니다.", status_code=400)
    assert not Payment.objects.exists()


def test_posting_another_fans_hold_ids_pays_nothing(client, fan, concert_date, admit, hold, top_up):
    other = factories.UserFactory()
    top_up(other, 500_000)
    admit(other, concert_date.concert)
    hold(fan, concert_date, 5)
    their_page = pay_data(user=fan, concert_date=concert_date)
    client.force_login(other)

    response = client.post(reverse("booking:checkout", args=[concert_date.pk]), their_page)

    assert response.status_code == 409
    assert not Payment.objects.exists()
    assert Reservation.objects.get(seat__seat_number=5).status == "HOLD"
