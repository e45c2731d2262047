"""Checkout's Release button: each hold on the page has a form of its own (POST, CSRF) that lets the seat go through
booking.services.release_own_hold and answers with a 303 back to checkout and a message, so it works without
JavaScript and a reload sends nothing again. Another fan's hold is a 404; a paid seat is refused with its message."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from booking import services as booking_services
from booking.models import Reservation
from concerts.models import Seat
from queueing import services as queue_services
from tests import factories

pytestmark = pytest.mark.django_db


def _checkout(concert_date):
    return reverse("booking:checkout", args=[concert_date.pk])


def _release(reservation):
    return reverse("booking:release", args=[reservation.pk])


def test_checkout_shows_a_release_form_with_its_csrf_token_for_each_hold(fan, concert_date, admitted, hold):
    three, four = hold(fan, concert_date, 3, 4)
    client = Client(enforce_csrf_checks=True)
    client.force_login(fan)

    page = client.get(_checkout(concert_date))

    html = page.content.decode()
    for reservation in (three, four):
        form = re.search(rf'<form method="post" action="{_release(reservation)}">(.*?)</form>', html, re.S)
        assert form and 'name="csrfmiddlewaretoken"' in form[1]
        assert f'data-testid="release-{reservation.seat.seat_number}"' in form[1]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    released = client.post(_release(three), {"csrfmiddlewaretoken": token})
    assert released.status_code == 303  # the page's own form goes through the CSRF check


def test_releasing_goes_back_to_checkout_with_a_message_and_the_seat_is_free(fan_client, fan, concert_date, admitted):
    three, four = booking_services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[3, 4])

    response = fan_client.post(_release(three))

    assert (response.status_code, response["Location"]) == (303, _checkout(concert_date))
    page = fan_client.get(response["Location"])
    assertContains(page, "좌석 3번의 선점을 해제했습니다")
    assert [r.seat.seat_number for r in page.context["holds"]] == [4]
    assert Reservation.objects.get(pk=three.pk).end_reason == Reservation.EndReason.FAN_RELEASED
    assert Seat.objects.get(pk=three.seat_id).status == Seat.Status.AVAILABLE
    other = factories.UserFactory()
    queue_services.join(user=other, concert=concert_date.concert)
    assert booking_services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[3])


def test_releasing_again_says_the_hold_had_ended_and_changes_nothing(fan_client, fan, concert_date, admitted, hold):
    [three] = hold(fan, concert_date, 3)
    fan_client.post(_release(three))
    ended_at = Reservation.objects.get(pk=three.pk).ended_at

    again = fan_client.post(_release(three), follow=True)

    assert again.redirect_chain[0] == (_checkout(concert_date), 303)
    assertContains(again, "좌석 3번의 선점은 이미 끝났습니다")
    assert Reservation.objects.get(pk=three.pk).ended_at == ended_at


def test_releasing_works_after_the_admission_ended(fan_client, fan, concert_date, admitted, hold):
    [three, four] = hold(fan, concert_date, 3, 4)
    queue_services.leave(user=fan, concert=concert_date.concert)
    response = fan_client.post(_release(three))
    assert response.status_code == 303
    assert Reservation.objects.get(pk=three.pk).status == Reservation.Status.CANCELLED


def test_another_fans_hold_is_a_404_and_stays_held(client, fan, concert_date, hold):
    [three] = hold(fan, concert_date, 3)
    client.force_login(factories.UserFactory())
    assert client.post(_release(three)).status_code == 404
    assert Reservation.objects.get(pk=three.pk).status == Reservation.Status.HOLD


def test_a_paid_seat_is_refused_with_its_message_and_stays_booked(fan_client, paid_reservation):
    response = fan_client.post(_release(paid_reservation), follow=True)
    assertContains(response, "이미 결제한 좌석이므로")
    assert Reservation.objects.get(pk=paid_reservation.pk).status == Reservation.Status.CONFIRMED
    assert Seat.objects.get(pk=paid_reservation.seat_id).status == Seat.Status.RESERVED


def test_release_is_post_only(fan_client, fan, concert_date, hold):
    [three] = hold(fan, concert_date, 3)
    for method in ("get", "head", "put", "delete"):
        assert getattr(fan_client, method)(_release(three)).status_code == 405, method
    assert Reservation.objects.get(pk=three.pk).status == Reservation.Status.HOLD


def test_my_tickets_does_not_list_a_hold_the_fan_released(fan_client, fan, concert_date, paid_reservation, hold):
    [three] = hold(fan, concert_date, 3)
    fan_client.post(_release(three))
    page = fan_client.get(reverse("booking:reservations"))
    assert [r.pk for r in page.context["reservations"]] == [paid_reservation.pk]
