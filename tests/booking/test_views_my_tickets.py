"""My tickets comes in pages of RESERVATIONS_PER_PAGE, newest first, at a fixed number of queries a page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from booking.selectors import RESERVATIONS_PER_PAGE
from tests import factories

pytestmark = pytest.mark.django_db


def _tickets(fan, count):
    """`count` ended reservations of the fan on one date, one a minute (seat 1 newest... by creation time)."""
    date = factories.ConcertDateFactory(concert__title="Seoul Jazz Night")
    start = timezone.now() - datetime.timedelta(days=1)
    return [
        factories.ReservationFactory(
            user=fan,
            seat=date.seats.get(seat_number=number),
            confirmed_at=start,
            ended_at=start,
            created_at=start + datetime.timedelta(minutes=number),
        )
        for number in range(1, count + 1)
    ]


def _page(client, number=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("booking:reservations"), {"page": number} if number else {})
    assert response.status_code == 200
    return response, len(queries)


def test_my_tickets_shows_one_page_at_a_time_newest_first(fan_client, fan):
    made = _tickets(fan, RESERVATIONS_PER_PAGE + 5)
    newest_first = [r.pk for r in reversed(made)]

    first, _ = _page(fan_client)
    second, _ = _page(fan_client, 2)

    assert [r.pk for r in first.context["reservations"]] == newest_first[:RESERVATIONS_PER_PAGE]
    assert [r.pk for r in second.context["reservations"]] == newest_first[RESERVATIONS_PER_PAGE:]
    assertContains(first, "?page=2")
    assertContains(second, "?page=1")
    assertContains(second, "2 / 2")


@pytest.mark.parametrize("number", ["0", "99", "abc"])
def test_a_page_number_out_of_range_or_not_a_number_shows_a_page_not_an_error(fan_client, fan, number):
    _tickets(fan, 3)
    response, _ = _page(fan_client, number)
    assert len(response.context["reservations"]) == 3


def test_my_tickets_costs_the_same_queries_for_a_full_page_a_short_page_and_many_tickets(fan_client, fan):
    _tickets(fan, RESERVATIONS_PER_PAGE + 3)
    _, full = _page(fan_client)
    _, short = _page(fan_client, 2)
    factories.ReservationFactory.create_batch(30, user=fan)  # many more tickets, on many more dates
    _, many = _page(fan_client)

    assert full == short == many
    # session, user, the count and the page (seat, date and concert joined), its concerts' fee schedules, the offer
    # banner
    assert full == 6
