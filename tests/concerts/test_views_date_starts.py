"""Every fan page shows a date's own start: a matinee and an evening show of one concert keep their times."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from booking import services as booking_services
from tests import factories

pytestmark = pytest.mark.django_db

# Korean TIME_FORMAT (concerts/formats/ko): 14:00 is "오후 2:00".
MATINEE, EVENING = "오후 2:00", "오후 7:00"


def _local(day, hour):
    return datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def matinee_and_evening():
    day = timezone.localdate() + datetime.timedelta(days=20)
    evening = factories.ConcertDateFactory(starts_at=_local(day, 19))
    matinee = factories.ConcertDateFactory(concert=evening.concert, starts_at=_local(day + datetime.timedelta(1), 14))
    return matinee, evening


def test_concert_page_shows_each_dates_own_start(client, matinee_and_evening):
    matinee, evening = matinee_and_evening

    response = client.get(reverse("concerts:detail", args=[matinee.concert.pk]))

    rows = response.content.decode().split('class="date-row')[1:]
    assert EVENING in rows[0] and MATINEE not in rows[0]
    assert MATINEE in rows[1] and EVENING not in rows[1]


def test_seat_map_checkout_my_tickets_and_cancelling_show_the_matinees_start(
    fan_client, fan, matinee_and_evening, admit, top_up
):
    matinee, _evening = matinee_and_evening
    admit(fan, matinee.concert)
    top_up(fan, 500_000)

    assertContains(fan_client.get(reverse("booking:seats", args=[matinee.pk])), MATINEE)
    booking_services.hold_seats(user=fan, concert_date=matinee, seat_numbers=[1])
    checkout = fan_client.get(reverse("booking:checkout", args=[matinee.pk]))
    assertContains(checkout, MATINEE)
    assertNotContains(checkout, EVENING)
    [ticket] = booking_services.pay(user=fan, concert_date=matinee, idempotency_key="k").reservations
    tickets = fan_client.get(reverse("booking:reservations"))
    assertContains(tickets, MATINEE)
    assertNotContains(tickets, EVENING)
    cancel_page = fan_client.get(reverse("booking:cancel", args=[ticket.pk]))
    assertContains(cancel_page, MATINEE)
    assertNotContains(cancel_page, EVENING)
