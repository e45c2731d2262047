"""The admin's check-in list: every entry with its door and who let it in; on one date, that date's counts
(entered / expected, by door) above its entries."""

import pytest
from django.urls import reverse

from booking import services
from booking.tickets import ticket_code
from tests.factories import ConcertDateFactory, StaffFactory, UserFactory
from tests.support.sales import paid_fan

pytestmark = pytest.mark.django_db

LIST = "admin:booking_checkin_changelist"


@pytest.fixture
def door_night():
    """Seoul Jazz Night: five paid tickets, three in (two through Gate A, one through Gate B); another date's
    ticket in through Gate C."""
    date = ConcertDateFactory(concert__title="Seoul Jazz Night")
    tickets = [
        paid_fan(concert_date=date, seats=[n], user=UserFactory(name=f"Fan {n}"))[1].reservations[0]
        for n in range(1, 6)
    ]
    door_a, door_b = StaffFactory(email="park@example.com"), StaffFactory(email="lee@example.com")
    for reservation, staff, door in (
        (tickets[0], door_a, "Gate A"),
        (tickets[1], door_a, "Gate A"),
        (tickets[2], door_b, "Gate B"),
    ):
        services.check_in_ticket(code=ticket_code(reservation), concert_date=date, by=staff, door=door)
    other = ConcertDateFactory(concert__title="Busan Rock")
    elsewhere = paid_fan(concert_date=other, seats=[1], user=UserFactory(name="Fan Busan"))[1].reservations[0]
    services.check_in_ticket(code=ticket_code(elsewhere), concert_date=other, by=door_b, door="Gate C")
    return date, other


def test_the_list_shows_each_entry_with_its_door_and_who_let_it_in(staff_client, door_night):
    listing = staff_client.get(reverse(LIST))

    assert listing.status_code == 200
    content = listing.content.decode()
    for text in ("Gate A", "Gate B", "Gate C", "park@example.com", "lee@example.com", "fan"):
        assert text in content
    assert reverse("booking:door") in content  # the way to the door page
    assert 'data-testid="checkin-summary"' not in content  # no date chosen: no counts


def test_one_dates_list_shows_its_counts_in_all_and_by_door(staff_client, door_night, django_assert_max_num_queries):
    date, _other = door_night

    with django_assert_max_num_queries(16):
        listing = staff_client.get(reverse(LIST), {"date": str(date.pk)})

    assert listing.status_code == 200
    assert listing.context["summary_counts"].entered == 3
    assert listing.context["summary_counts"].expected == 5
    assert [(row.door, row.entered) for row in listing.context["summary_doors"]] == [("Gate A", 2), ("Gate B", 1)]
    content = listing.content.decode()
    assert 'data-testid="checkin-summary"' in content
    assert sorted(entry.door for entry in listing.context["cl"].result_list) == ["Gate A", "Gate A", "Gate B"]


def test_a_date_that_is_not_an_id_lists_nothing(staff_client, door_night):
    response = staff_client.get(reverse(LIST), {"date": "not-a-date"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    assert "summary_counts" not in response.context
