"""The door page (booking.door_views): staff on a phone set their door and date once (kept in the session), then
each scanned or typed code is POSTed (never sent in a URL) and answered green or red, as a page without
JavaScript or as JSON for the camera's script; the counts follow each scan."""

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
from tests.security.test_csp import inline_code, parse_policy
from tests.support.concurrency import run_at_once
from tests.support.sales import paid_fan

pytestmark = pytest.mark.django_db

DOOR = "booking:door"
SETUP = "booking:door_setup"


@pytest.fixture
def ticket():
    date = ConcertDateFactory(concert__title="Seoul Jazz Night")
    _fan, result = paid_fan(concert_date=date, seats=[12], user=UserFactory(name="Kim Fan"))
    return result.reservations[0]


def scan(client, reservation_or_code, concert_date, door="Gate A", json=False):
    code = reservation_or_code if isinstance(reservation_or_code, str) else ticket_code(reservation_or_code)
    headers = {"Accept": "application/json"} if json else {}
    return client.post(
        reverse(DOOR), {"concert_date": str(concert_date.pk), "door": door, "code": code}, headers=headers
    )


def test_a_phone_without_a_door_name_is_asked_for_it_first(staff_client, ticket):
    page = staff_client.get(reverse(DOOR))

    assert page.status_code == 200
    content = page.content.decode()
    assert 'data-testid="door-setup"' in content and '<details class="door-setup" open>' in content
    assert 'name="code"' not in content  # nothing to scan until the door has a name
    assert str(ticket.seat.concert_date.pk) in content  # the date is one of the choices


def test_the_door_and_date_are_kept_in_the_session_and_shown_on_the_scan_form(staff_client, ticket):
    date = ticket.seat.concert_date
    later = concert_services.create_concert_date(
        concert=date.concert, starts_at=date.starts_at + datetime.timedelta(days=1), tiers=pricing.default_tiers()
    )

    set_up = staff_client.post(reverse(SETUP), {"concert_date": str(later.pk), "door": "  North gate "})

    assert set_up.status_code == 303 and set_up["Location"] == reverse(DOOR)
    page = staff_client.get(reverse(DOOR))
    content = page.content.decode()
    assert 'method="post"' in content and 'name="code"' in content
    assert page.context["door_name"] == "North gate"
    assert page.context["concert_date"] == later
    assert page.context["scan_form"]["door"].value() == "North gate"
    assert str(page.context["scan_form"]["concert_date"].value()) == str(later.pk)


def test_an_incomplete_setup_is_a_400_that_keeps_the_old_one(staff_client, ticket):
    staff_client.post(reverse(SETUP), {"concert_date": str(ticket.seat.concert_date.pk), "door": "Gate A"})

    refused = staff_client.post(reverse(SETUP), {"concert_date": "not-a-date", "door": ""})

    assert refused.status_code == 400
    assert staff_client.session["door_name"] == "Gate A"


def test_a_paid_ticket_enters_and_the_entry_records_the_door(staff_client, staff, ticket):
    response = scan(staff_client, ticket, ticket.seat.concert_date, door="Gate B")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="ticket-valid"' in content
    assert "Kim Fan" in content and "Seoul Jazz Night" in content
    check_in = CheckIn.objects.get(reservation=ticket)
    assert (check_in.checked_in_by, check_in.door) == (staff, "Gate B")
    assert ticket_code(ticket) not in content  # the answer does not echo the code back into the form
    assert response.context["counts"] == {"entered": 1, "expected": 1, "here": 1}


def test_a_second_scan_is_refused_with_when_at_which_door_and_by_whom(staff_client, ticket):
    scan(staff_client, ticket, ticket.seat.concert_date, door="Gate A")
    other = Client()
    other.force_login(StaffFactory(name="Second Door"))

    again = scan(other, ticket, ticket.seat.concert_date, door="Gate B")

    assert again.status_code == 409
    content = again.content.decode()
    assert 'data-testid="ticket-invalid"' in content
    first = CheckIn.objects.get(reservation=ticket)
    assert first.checked_in_by.name in content and "Gate A" in content
    assert CheckIn.objects.count() == 1


def test_the_camera_gets_the_answer_and_the_counts_as_json(staff_client, ticket):
    staff_client.cookies["django_language"] = "en"
    date = ticket.seat.concert_date
    _other_fan, other = paid_fan(concert_date=date, seats=[13])

    entered = scan(staff_client, ticket, date, door="Gate A", json=True)

    assert entered.status_code == 200 and entered["Content-Type"] == "application/json"
    body = entered.json()
    assert body["entered"] is True and body["heading"] == "Entry recorded"
    assert "Kim Fan" in body["details"] and "Seat 12" in body["details"]
    assert body["counts"] == {"entered": 1, "expected": 2, "here": 1}

    again = scan(staff_client, ticket, date, door="Gate B", json=True)
    assert again.status_code == 409
    body = again.json()
    assert body["entered"] is False and body["code"] == "ticket_already_checked_in"
    assert body["heading"] == "Do not let in" and "Already used" in body["message"] and "Gate A" in body["message"]
    assert body["counts"] == {"entered": 1, "expected": 2, "here": 0}  # none through Gate B

    forged = scan(staff_client, "abc:def", date, json=True)
    assert forged.status_code == 400 and forged.json()["code"] == "ticket_code_invalid"

    incomplete = staff_client.post(reverse(DOOR), {"code": "x"}, headers={"Accept": "application/json"})
    assert incomplete.status_code == 400 and incomplete.json()["entered"] is False


def test_the_answers_are_in_korean_for_korean_staff(staff_client, ticket):
    staff_client.cookies["django_language"] = "ko"
    body = scan(staff_client, ticket, ticket.seat.concert_date, json=True).json()
    assert body["heading"] == "입장 완료"
    again = scan(staff_client, ticket, ticket.seat.concert_date, json=True).json()
    assert (
        again["heading"] == "입장 불가"
        and "이미 사용된 티켓입니다" in again["message"]
        and "Gate A" in again["message"]
    )


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
    staff_client.cookies["django_language"] = "en"

    response = scan(staff_client, ticket, ticket.seat.concert_date)

    assert response.status_code == 409
    content = response.content.decode()
    assert 'data-testid="ticket-invalid"' in content and "refunded" in content
    assert not CheckIn.objects.exists()


def test_a_forged_code_is_refused_with_400(staff_client, ticket):
    response = scan(staff_client, "abc:def", ticket.seat.concert_date)
    assert response.status_code == 400
    assert 'data-testid="ticket-invalid"' in response.content.decode()


def test_a_scan_without_a_date_a_door_or_a_code_asks_for_it(staff_client, ticket):
    code = ticket_code(ticket)
    date = str(ticket.seat.concert_date.pk)
    assert staff_client.post(reverse(DOOR), {"code": code, "door": "Gate A"}).status_code == 400
    assert staff_client.post(reverse(DOOR), {"code": code, "concert_date": date}).status_code == 400
    assert staff_client.post(reverse(DOOR), {"code": "", "concert_date": date, "door": "A"}).status_code == 400
    assert staff_client.post(reverse(DOOR), {"concert_date": "not-a-uuid", "door": "A", "code": "x"}).status_code == 400
    assert not CheckIn.objects.exists()


def test_a_code_sent_in_a_url_checks_nothing_and_is_not_echoed(staff_client, ticket):
    code = ticket_code(ticket)

    response = staff_client.get(
        reverse(DOOR), {"code": code, "concert_date": str(ticket.seat.concert_date.pk), "door": "A"}
    )

    assert response.status_code == 200
    assert code not in response.content.decode()
    assert not CheckIn.objects.exists()


def test_the_door_page_is_strict_about_scripts_and_allows_the_scanners_worker(staff_client, ticket):
    staff_client.post(reverse(SETUP), {"concert_date": str(ticket.seat.concert_date.pk), "door": "Gate A"})
    for response in (staff_client.get(reverse(DOOR)), scan(staff_client, ticket, ticket.seat.concert_date)):
        policy = parse_policy(response["Content-Security-Policy"])
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert policy["worker-src"] == "'self' blob:"
        assert "unsafe" not in response["Content-Security-Policy"]
        assert inline_code(response.content.decode()) == []
    assert 'src="/static/js/door.js"' in response.content.decode()
    assert "vendor/qr-scanner/qr-scanner.min.js" in response.content.decode()


def test_checking_in_needs_the_check_in_permission(ticket):
    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_concertdate"))
    client = Client()
    client.force_login(viewer)
    assert client.get(reverse(DOOR)).status_code == 403
    assert scan(client, ticket, ticket.seat.concert_date).status_code == 403
    setup = client.post(reverse(SETUP), {"concert_date": str(ticket.seat.concert_date.pk), "door": "A"})
    assert setup.status_code == 403
    assert not CheckIn.objects.exists()

    viewer.user_permissions.add(Permission.objects.get(codename="add_checkin"))
    client.force_login(viewer)  # permissions are cached per user object
    assert scan(client, ticket, ticket.seat.concert_date).status_code == 200
    assert CheckIn.objects.get().checked_in_by == viewer


def test_fans_and_visitors_are_sent_to_the_staff_log_in(fan_client, ticket):
    for client in (fan_client, Client()):
        for response in (client.get(reverse(DOOR)), scan(client, ticket, ticket.seat.concert_date)):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))
    assert not CheckIn.objects.exists()


def test_a_scan_or_a_setup_without_the_csrf_token_is_refused_and_records_nothing(staff, ticket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    date = ticket.seat.concert_date

    assert scan(client, ticket, date).status_code == 403
    assert scan(client, ticket, date, json=True).status_code == 403
    assert client.post(reverse(SETUP), {"concert_date": str(date.pk), "door": "Gate A"}).status_code == 403
    assert not CheckIn.objects.exists()
    assert "door_name" not in client.session


def test_the_old_door_addresses_lead_to_the_door_page_without_their_query(staff_client, ticket):
    for name in ("admin:booking_checkin_door", "admin:concerts_ticket_check"):
        response = staff_client.get(reverse(name), {"code": ticket_code(ticket)})
        assert response.status_code == 302
        assert response["Location"] == reverse(DOOR)
    assert not CheckIn.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_doors_scanning_one_ticket_through_the_page_at_once_let_it_in_once():
    """Two staff phones post the same QR code at the same moment, as the camera's script does: one entry, one
    refusal naming the door and staff member that let it in."""
    date = ConcertDateFactory()
    _fan, result = paid_fan(concert_date=date, seats=[5])
    ticket = result.reservations[0]
    doors = [(StaffFactory(name=f"Staff {n}"), f"Gate {n}") for n in (1, 2)]

    def at_door(staff_member, door):
        client = Client()
        client.force_login(staff_member)
        client.cookies["django_language"] = "en"
        return scan(client, ticket, date, door=door, json=True)

    for _ in range(3):  # several rounds: each round is a fresh ticket state
        CheckIn.objects.all().delete()
        outcomes = run_at_once(at_door, doors)
        assert [error for _response, error in outcomes] == [None, None]
        assert sorted(response.status_code for response, _error in outcomes) == [200, 409]
        entry = CheckIn.objects.get(reservation=ticket)
        refused = next(response.json() for response, _error in outcomes if response.status_code == 409)
        assert entry.checked_in_by.name in refused["message"] and entry.door in refused["message"]
        assert refused["counts"]["entered"] == 1
