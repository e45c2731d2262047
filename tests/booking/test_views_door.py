"""The door's check-in page in the admin: the door picks its date, a scanned or typed code is POSTed (never
sent in a URL), the entry is recorded, a second scan and a ticket for another date are refused."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from booking import services
from booking.models import CheckIn
from booking.tickets import ticket_code
from concerts import pricing
from concerts import services as concert_services
from tests.factories import ConcertDateFactory, StaffFactory, UserFactory
from tests.support.sales import paid_fan

pytestmark = pytest.mark.django_db

DOOR = "admin:booking_checkin_door"


@pytest.fixture
def ticket():
    date = ConcertDateFactory(concert__title="Seoul Jazz Night")
    _fan, result = paid_fan(concert_date=date, seats=[12], user=UserFactory(name="Kim Fan"))
    return result.reservations[0]


def scan(client, reservation_or_code, concert_date):
    code = reservation_or_code if isinstance(reservation_or_code, str) else ticket_code(reservation_or_code)
    return client.post(reverse(DOOR), {"concert_date": str(concert_date.pk), "code": code})


def test_the_door_page_is_a_post_form_with_the_date_to_check(staff_client, ticket):
    page = staff_client.get(reverse(DOOR))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'method="post"' in content
    assert 'name="code"' in content and 'name="concert_date"' in content
    assert str(ticket.seat.concert_date.pk) in content  # the date is one of the choices


def test_a_paid_ticket_enters_and_the_entry_is_recorded(staff_client, staff, ticket):
    response = scan(staff_client, ticket, ticket.seat.concert_date)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="ticket-valid"' in content
    assert "Kim Fan" in content and "Seoul Jazz Night" in content
    check_in = CheckIn.objects.get(reservation=ticket)
    assert check_in.checked_in_by == staff
    assert ticket_code(ticket) not in content  # the answer does not echo the code back into the form


def test_a_second_scan_is_refused_with_when_and_by_whom(staff_client, ticket):
    scan(staff_client, ticket, ticket.seat.concert_date)
    other = Client()
    other.force_login(StaffFactory(name="Second Door"))

    again = scan(other, ticket, ticket.seat.concert_date)

    assert again.status_code == 409
    content = again.content.decode()
    assert 'data-testid="ticket-invalid"' in content
    first = CheckIn.objects.get(reservation=ticket)
    assert first.checked_in_by.name in content
    assert CheckIn.objects.count() == 1


def test_a_ticket_for_another_date_is_refused(staff_client, ticket):
    other_date = concert_services.create_concert_date(
        concert=ticket.seat.concert_date.concert,
        starts_at=ticket.seat.concert_date.starts_at + datetime.timedelta(days=1),
        tiers=pricing.default_tiers(),
    )

    response = scan(staff_client, ticket, other_date)

    assert response.status_code == 409
    assert ticket.seat.concert_date.concert_date.isoformat() in response.content.decode()
    assert not CheckIn.objects.exists()


def test_a_refunded_ticket_is_refused(staff_client, staff, ticket):
    services.refund_and_cancel(reservation=ticket, by=staff)

    response = scan(staff_client, ticket, ticket.seat.concert_date)

    assert response.status_code == 409
    assert 'data-testid="ticket-invalid"' in response.content.decode()
    assert not CheckIn.objects.exists()


def test_a_forged_code_is_refused_with_400(staff_client, ticket):
    response = scan(staff_client, "abc:def", ticket.seat.concert_date)
    assert response.status_code == 400
    assert 'data-testid="ticket-invalid"' in response.content.decode()


def test_a_scan_without_a_date_or_code_asks_for_it(staff_client, ticket):
    response = staff_client.post(reverse(DOOR), {"code": ticket_code(ticket)})
    assert response.status_code == 400
    assert not CheckIn.objects.exists()
    assert staff_client.post(reverse(DOOR), {"concert_date": "not-a-uuid", "code": "x"}).status_code == 400


def test_a_code_sent_in_a_url_checks_nothing_and_is_not_echoed(staff_client, ticket):
    code = ticket_code(ticket)

    response = staff_client.get(reverse(DOOR), {"code": code, "concert_date": str(ticket.seat.concert_date.pk)})

    assert response.status_code == 200
    assert code not in response.content.decode()
    assert not CheckIn.objects.exists()


def test_the_old_ticket_check_address_leads_to_the_door_page_without_its_query(staff_client, ticket):
    response = staff_client.get(reverse("admin:concerts_ticket_check"), {"code": ticket_code(ticket)})

    assert response.status_code == 302
    assert response["Location"] == reverse(DOOR)
    assert not CheckIn.objects.exists()


def test_checking_in_needs_the_check_in_permission(ticket):
    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_concertdate"))
    client = Client()
    client.force_login(viewer)
    assert client.get(reverse(DOOR)).status_code == 403
    assert scan(client, ticket, ticket.seat.concert_date).status_code == 403
    assert not CheckIn.objects.exists()

    viewer.user_permissions.add(Permission.objects.get(codename="add_checkin"))
    client.force_login(viewer)  # permissions are cached per user object
    assert scan(client, ticket, ticket.seat.concert_date).status_code == 200
    assert CheckIn.objects.get().checked_in_by == viewer


def test_fans_cannot_reach_the_door_page(fan_client, ticket):
    assert fan_client.get(reverse(DOOR)).status_code == 302
    assert scan(fan_client, ticket, ticket.seat.concert_date).status_code == 302
    assert not CheckIn.objects.exists()


def test_the_check_in_list_shows_each_entry_with_who_let_it_in(staff_client, staff, ticket):
    scan(staff_client, ticket, ticket.seat.concert_date)

    listing = staff_client.get(reverse("admin:booking_checkin_changelist"))

    assert listing.status_code == 200
    content = listing.content.decode()
    assert ticket.user.email in content and staff.email in content
