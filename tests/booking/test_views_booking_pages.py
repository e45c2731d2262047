"""What a fan reads on the seat map and checkout when something is refused or runs out (issue 19)."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from booking.models import Reservation
from tests import factories
from tests.support.checks import seat_snapshot

pytestmark = pytest.mark.django_db


def seats_url(concert_date):
    return f"/dates/{concert_date.pk}/seats/"


def hold_url(concert_date):
    return f"/dates/{concert_date.pk}/hold/"


def checkout_url(concert_date):
    return f"/checkout/{concert_date.pk}/"


def checked_seats(response):
    return sorted(int(n) for n in re.findall(r'value="(\d+)" data-price="\d+" checked', response.content.decode()))


# --- how long a hold lasts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hold_seconds", "korean", "english"),
    [
        (300, "5분", "5 minutes"),
        (60, "1분", "1 minute"),
        (45, "45초", "45 seconds"),
        (90, "1분 30초", "1 minute 30 seconds"),
    ],
)
def test_the_seat_map_says_how_long_a_hold_lasts_even_under_a_minute(
    fan_client, concert_date, admitted, settings, hold_seconds, korean, english
):
    settings.HOLD_SECONDS = hold_seconds
    response = fan_client.get(seats_url(concert_date))
    assertContains(response, f"결제하는 동안 선택한 좌석을 {korean} 동안 선점해 드립니다.")
    assertNotContains(response, "0분")
    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = fan_client.get(seats_url(concert_date))
    assertContains(response, f"Held seats are kept for you for {english} while you pay.")


# --- a refused hold goes back to the seat map ---------------------------------------------------


def test_a_refused_hold_redirects_to_the_seat_map_with_the_message_and_the_choice_kept(
    fan_client, concert_date, admitted, hold
):
    """Reloading after a refusal must not ask to send the form again: the refusal answers with a 303."""
    hold(factories.UserFactory(), concert_date, 13)
    before = seat_snapshot(concert_date)
    response = fan_client.post(hold_url(concert_date), {"seats": ["12", "13", "14"]})
    assert response.status_code == 303
    assertRedirects(
        response, seats_url(concert_date) + "?seats=12&seats=14", status_code=303, fetch_redirect_response=False
    )
    assert seat_snapshot(concert_date) == before
    page = fan_client.get(response["Location"])
    assertContains(page, "13번 좌석은 이미 다른 고객이 선택했습니다")
    assert checked_seats(page) == [12, 14]  # the seats still free stay chosen, one click tries again
    # A reload of the seat map shows the map again, without the old message.
    again = fan_client.get(response["Location"])
    assertNotContains(again, "13번 좌석은 이미 다른 고객이 선택했습니다")


def test_holding_nothing_without_javascript_redirects_back_with_a_message(fan_client, concert_date, admitted):
    response = fan_client.post(hold_url(concert_date), {})
    assertRedirects(response, seats_url(concert_date), status_code=303, fetch_redirect_response=False)
    assertContains(fan_client.get(response["Location"]), "좌석을 하나 이상 선택해 주세요.")


def test_the_seat_map_ignores_a_kept_choice_that_is_not_a_free_seat(fan_client, concert_date, admitted, hold):
    hold(factories.UserFactory(), concert_date, 3)
    response = fan_client.get(seats_url(concert_date) + "?seats=2&seats=3&seats=99&seats=x")
    assert response.status_code == 200
    assert checked_seats(response) == [2]


# --- the seat limit ----------------------------------------------------------------------------


def test_asking_for_too_many_seats_says_how_many_were_picked(fan_client, fan, concert_date, admitted):
    response = fan_client.post(hold_url(concert_date), {"seats": ["1", "2", "3", "4", "5"]})
    assertRedirects(
        response,
        seats_url(concert_date) + "?seats=1&seats=2&seats=3&seats=4&seats=5",
        status_code=303,
        fetch_redirect_response=False,
    )
    page = fan_client.get(response["Location"])
    assertContains(page, "5매를 선택했습니다. 한 회차에 최대 4매까지 예매할 수 있습니다.")
    assertNotContains(page, "이미 0")
    assert not Reservation.objects.filter(user=fan).exists()
    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    fan_client.post(hold_url(concert_date), {"seats": ["1", "2", "3", "4", "5"]})
    page = fan_client.get(response["Location"])
    assertContains(page, "You picked 5 seats; you can book at most 4 for one date.")
    assertNotContains(page, "already have 0")


def test_asking_for_more_than_the_room_left_says_how_many_more(fan_client, fan, concert_date, admitted, hold):
    hold(fan, concert_date, 1, 2, 3)
    response = fan_client.post(hold_url(concert_date), {"seats": ["4", "5"]})
    page = fan_client.get(response["Location"])
    assertContains(
        page, "2매를 선택했지만 이 회차에 이미 3매가 있습니다. 최대 4매까지이므로 1매만 더 선택할 수 있습니다."
    )
    assert checked_seats(page) == [4, 5]


# --- checkout without JavaScript and after the hold ended ---------------------------------------


def test_checkout_says_until_when_the_seats_are_held_without_javascript(fan_client, fan, concert_date, admitted, hold):
    reservations = hold(fan, concert_date, 12)
    deadline = timezone.localtime(reservations[0].hold_expire_at).strftime("%H:%M:%S")
    response = fan_client.get(checkout_url(concert_date))
    html = response.content.decode()
    # The clock that only a script makes tick starts hidden; the page says the time to pay by instead.
    assert re.search(r'<time class="countdown"[^>]*data-countdown-seconds="\d+"[^>]* hidden', html)
    assertContains(response, f"{deadline}까지 결제해 주세요")


def test_checkout_after_the_hold_ended_says_so_with_a_button_to_choose_again(
    fan_client, fan, concert_date, admitted, hold
):
    hold(fan, concert_date, 12, 13)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)):
        response = fan_client.get(checkout_url(concert_date))
    assert response.status_code == 200
    assertContains(response, "좌석 선점 시간이 끝났습니다. 결제된 금액은 없습니다.")
    assertContains(response, f'<a class="btn btn-primary btn-large" href="{seats_url(concert_date)}"', html=False)
    assertContains(response, "좌석 다시 선택하기")
    assertNotContains(response, 'data-testid="pay-button"')


def test_checkout_of_a_fan_who_never_held_a_seat_does_not_speak_of_an_ended_hold(fan_client, concert_date, admitted):
    response = fan_client.get(checkout_url(concert_date))
    assertContains(response, "이 회차에 선점한 좌석이 없습니다.")
    assertNotContains(response, "좌석 선점 시간이 끝났습니다")


def test_the_checkout_page_carries_the_panel_a_script_shows_at_zero(fan_client, fan, concert_date, admitted, hold):
    hold(fan, concert_date, 12)
    html = fan_client.get(checkout_url(concert_date)).content.decode()
    panel = re.search(r"<div[^>]*data-show-on-expiry[^>]*hidden[^>]*>(.*?)</div>", html, re.S)
    assert panel, "the hold-ended panel is in the page, hidden until the countdown reaches zero"
    assert "좌석 선점 시간이 끝났습니다" in panel[1]
    assert f'href="{seats_url(concert_date)}"' in panel[1]
    assert re.search(r'class="checkout-layout"[^>]*data-hide-on-expiry', html)


# --- cancelling a paid ticket asks first, on the server -----------------------------------------


def cancel_url(reservation):
    return f"/reservations/{reservation.pk}/cancel/"


def test_my_tickets_links_to_a_confirmation_page_instead_of_cancelling_at_once(fan_client, paid_reservation):
    response = fan_client.get("/reservations/")
    assertContains(response, f'href="{cancel_url(paid_reservation)}"')
    assertNotContains(response, f'action="{cancel_url(paid_reservation)}"')  # no one-click cancel
    assertNotContains(response, "data-confirm")  # and no browser dialog standing in for the step


def test_the_confirmation_page_shows_what_comes_back_and_cancels_nothing(fan_client, fan, paid_reservation):
    response = fan_client.get(cancel_url(paid_reservation))
    assert response.status_code == 200
    assertContains(response, "Seoul Jazz Night")
    assertContains(response, "7번 좌석")
    html = response.content.decode()
    figures = dict(re.findall(r'data-testid="quote-(\w+)">([^<]+)<', html))
    assert figures == {"paid": "99,000원", "fee": "0원", "refund": "99,000원"}
    assertContains(response, f'<form method="post" action="{cancel_url(paid_reservation)}"', html=False)
    assertContains(response, 'data-testid="confirm-cancel"')
    assertContains(response, 'href="/reservations/"')  # keep the ticket
    paid_reservation.refresh_from_db()
    assert paid_reservation.status == Reservation.Status.CONFIRMED
    fan_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = fan_client.get(cancel_url(paid_reservation)).content.decode()
    assert dict(re.findall(r'data-testid="quote-(\w+)">([^<]+)<', english)) == {
        "paid": "₩99,000",
        "fee": "₩0",
        "refund": "₩99,000",
    }


def test_posting_the_confirmation_cancels_and_refunds(fan_client, fan, paid_reservation):
    balance = fan.balance
    response = fan_client.post(cancel_url(paid_reservation))
    assertRedirects(response, "/reservations/", fetch_redirect_response=False)
    fan.refresh_from_db()
    assert fan.balance == balance + 99_000


def test_the_confirmation_page_of_a_ticket_that_cannot_be_cancelled_says_why_without_a_form(
    fan_client, paid_reservation
):
    fan_client.post(cancel_url(paid_reservation))
    response = fan_client.get(cancel_url(paid_reservation))
    assertContains(response, "이 예매는 취소할 수 없습니다.", status_code=409)
    assertNotContains(response, 'data-testid="confirm-cancel"', status_code=409)
    other = factories.UserFactory()
    fan_client.force_login(other)
    assert fan_client.get(cancel_url(paid_reservation)).status_code == 404


def test_the_confirmation_page_after_the_cutoff_says_cancellation_closed(fan_client, fan, concert_date, top_up, hold):
    from booking import services as booking_services

    top_up(fan, 100_000)
    hold(fan, concert_date, 9)
    reservation = booking_services.pay(user=fan, concert_date=concert_date, idempotency_key="late").reservations[0]
    from tests.support.sales import after_the_cutoff_before_the_day

    with time_machine.travel(after_the_cutoff_before_the_day(concert_date.starts_at)):
        fan_client.force_login(fan)
        response = fan_client.get(cancel_url(reservation))
    assertContains(response, "취소 마감 일시가 지나", status_code=409)
    assertNotContains(response, 'data-testid="confirm-cancel"', status_code=409)


# --- each cancellation keeps its own reason -----------------------------------------------------


def ticket_html(response, reservation):
    html = response.content.decode()
    start = html.index(f'data-testid="reservation-{reservation.pk}"')
    return html[start : html.index("</li>", start)]


def test_a_ticket_the_fan_cancelled_keeps_its_reason_after_staff_cancel_the_date(
    fan_client, fan, concert_date, paid_reservation, hold
):
    from booking import services as booking_services
    from booking.services import cancel_concert_date, end_reservations_of_cancelled_date

    hold(fan, concert_date, 8)
    booking_services.pay(user=fan, concert_date=concert_date, idempotency_key="second")
    cancelled_by_fan = Reservation.objects.get(seat__seat_number=8)
    booking_services.cancel(user=fan, reservation=cancelled_by_fan)
    cancellation = cancel_concert_date(concert_date=concert_date, reason="storm", enqueue=False)
    end_reservations_of_cancelled_date(cancellation=cancellation)

    page = fan_client.get("/reservations/")
    organiser = "주최 측 사정으로 공연이 취소되어"
    by_organiser, by_fan = ticket_html(page, paid_reservation), ticket_html(page, cancelled_by_fan)
    assert organiser in by_organiser
    assert "공연 취소" in by_organiser
    assert organiser not in by_fan
    assert "공연 취소" not in by_fan
    assert "직접 취소한 예매입니다." in by_fan
    cancelled_by_fan.refresh_from_db()
    paid_reservation.refresh_from_db()
    assert cancelled_by_fan.end_reason == Reservation.EndReason.FAN_CANCELLED
    assert paid_reservation.end_reason == Reservation.EndReason.DATE_CANCELLED


def test_every_way_a_reservation_ends_records_why(fan, concert_date, top_up, hold):
    from booking import services as booking_services

    top_up(fan, 1_000_000)
    _paid, released, refunded = (hold(fan, concert_date, n)[0] for n in (1, 2, 3))
    booking_services.release_hold(reservation=released)
    booking_services.pay(user=fan, concert_date=concert_date, idempotency_key="k")  # seats 1 and 3
    booking_services.refund_and_cancel(reservation=refunded)
    hold(fan, concert_date, 4)
    booking_services.expire_holds(now=timezone.now() + datetime.timedelta(seconds=settings.HOLD_SECONDS + 1))
    reasons = dict(Reservation.objects.filter(user=fan).values_list("seat__seat_number", "end_reason"))
    assert reasons == {
        1: "",  # paid and still live
        2: Reservation.EndReason.STAFF_RELEASED,
        3: Reservation.EndReason.STAFF_REFUNDED,
        4: Reservation.EndReason.HOLD_EXPIRED,
    }
