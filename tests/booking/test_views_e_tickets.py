"""E-tickets in hand: My tickets shows each paid seat's signed code and QR code, the printable ticket page shows one
to its owner only, and a refunded ticket (or one of a cancelled show) is VOID with no code to scan."""

import re
import time
import uuid

import pytest
from django.core import mail, signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.exceptions import TicketCodeInvalid
from booking.tickets import SALT, reservation_for_code
from tests import factories
from tests.support.qr import decode_qr_svg
from tests.support.sales import paid_fan

pytestmark = pytest.mark.django_db

CODE = re.compile(r'<code class="ticket-code" data-testid="[^"]+">([^<]+)</code>')
INLINE_SVG = re.compile(r'<svg class="qr-code".*?</svg>', re.DOTALL)


def _english(client):
    client.cookies["django_language"] = "en"
    return client


def _ticket_url(reservation):
    return reverse("booking:ticket", args=[reservation.pk])


@pytest.fixture
def two_seats(fan, concert_date):
    """The page tests' fan, who paid seats 3 and 4."""
    _user, result = paid_fan(user=fan, concert_date=concert_date, seats=[3, 4])
    return result.reservations


def _codes_and_qrs(html):
    """The codes printed on a page and the texts its inline QR codes read back as, in page order."""
    return CODE.findall(html), [decode_qr_svg(svg.encode()) for svg in INLINE_SVG.findall(html)]


def test_my_tickets_shows_each_paid_seat_s_code_and_a_qr_code_that_reads_back_as_it(fan_client, two_seats):
    html = fan_client.get(reverse("booking:reservations")).content.decode()

    codes, qrs = _codes_and_qrs(html)
    assert len(codes) == 2
    assert qrs == [[code] for code in codes]  # each QR holds exactly the code printed beside it
    assert {reservation_for_code(code).pk for code in codes} == {r.pk for r in two_seats}
    for reservation in two_seats:
        number = reservation.seat.seat_number
        assert f'role="img" aria-label="좌석 {number}번 티켓 QR 코드"' in html
        assert f'href="{_ticket_url(reservation)}"' in html


def test_the_ticket_page_shows_its_owner_the_seat_s_code_and_qr_code(fan_client, two_seats):
    seat_4 = next(r for r in two_seats if r.seat.seat_number == 4)
    response = fan_client.get(_ticket_url(seat_4))

    assert response.status_code == 200
    html = response.content.decode()
    [code], [qr] = _codes_and_qrs(html)
    assert qr == [code]
    assert reservation_for_code(code) == seat_4
    assert '<dd data-testid="ticket-seat">4</dd>' in html
    assert "Seoul Jazz Night" in html and "Olympic Hall" in html
    assert 'aria-label="좌석 4번 티켓 QR 코드"' in html
    assert "무효" not in html


@pytest.mark.parametrize(
    "forge",
    [
        lambda code: code[:-1] + ("A" if code[-1] != "A" else "B"),  # the signature altered
        lambda code: signing.dumps(str(uuid.uuid4()), salt=SALT),  # a reservation that does not exist
        lambda code: signing.dumps(reservation_for_code(code).pk.hex, key="not-our-key", salt=SALT),  # another key
    ],
    ids=["altered", "unknown-reservation", "signed-elsewhere"],
)
def test_a_code_that_is_not_the_page_s_own_does_not_verify(fan_client, two_seats, forge):
    html = fan_client.get(_ticket_url(two_seats[0])).content.decode()
    [code] = CODE.findall(html)
    with pytest.raises(TicketCodeInvalid):
        reservation_for_code(forge(code))


def test_another_fan_gets_a_404_for_a_ticket_that_is_not_theirs(client, two_seats):
    client.force_login(factories.UserFactory())
    response = client.get(_ticket_url(two_seats[0]))
    assert response.status_code == 404
    assert b"ticket-code" not in response.content
    assert b"qr-code" not in response.content


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client, two_seats):
    url = _ticket_url(two_seats[0])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


def test_a_hold_an_unknown_id_and_a_hold_staff_released_have_no_ticket(fan_client, fan, concert_date):
    [hold] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[9])
    for url in (_ticket_url(hold), reverse("booking:ticket", args=[uuid.uuid4()])):
        assert fan_client.get(url).status_code == 404
    released = factories.ReservationFactory(user=fan, end_reason="STAFF_RELEASED", ended_at=timezone.now())
    assert fan_client.get(_ticket_url(released)).status_code == 404
    assert _ticket_url(released) not in fan_client.get(reverse("booking:reservations")).content.decode()


def _assert_void(html, reservation):
    assert 'data-testid="ticket-void"' in html or f'data-testid="void-{reservation.seat.seat_number}"' in html
    assert "ticket-code" not in html
    assert "qr-code" not in html and "<svg" not in html
    signed_id = signing.dumps(str(reservation.pk), salt=SALT).split(":")[0]  # every code of it starts so
    assert signed_id not in html


def test_a_refunded_ticket_is_void_in_korean_with_no_code_to_scan(fan_client, fan, two_seats):
    seat_3 = next(r for r in two_seats if r.seat.seat_number == 3)
    services.cancel(user=fan, reservation=seat_3)

    page = fan_client.get(_ticket_url(seat_3)).content.decode()
    _assert_void(page, seat_3)
    assert "무효" in page
    assert "취소된 티켓입니다. 예치금으로 환불되었으며, 무효이므로 입장에 사용할 수 없습니다." in page

    listing = fan_client.get(reverse("booking:reservations")).content.decode()
    [still_valid] = CODE.findall(listing)
    assert reservation_for_code(still_valid).seat.seat_number == 4
    seat_3_row = listing.split(f'data-testid="reservation-{seat_3.pk}"')[1].split("</li>")[0]
    _assert_void(seat_3_row, seat_3)
    assert "무효" in seat_3_row


def test_a_refunded_ticket_is_void_in_english_too(client, fan, two_seats):
    services.cancel(user=fan, reservation=two_seats[0])
    client.force_login(fan)
    page = _english(client).get(_ticket_url(two_seats[0])).content.decode()
    _assert_void(page, two_seats[0])
    assert "VOID" in page
    assert "This ticket was cancelled and refunded, so it is void and cannot be used to enter." in page


def test_a_ticket_of_a_show_the_organiser_cancelled_is_void_before_its_refund_runs(fan_client, two_seats, concert_date):
    services.cancel_concert_date(concert_date=concert_date, reason="storm", enqueue=False)
    page = fan_client.get(_ticket_url(two_seats[0])).content.decode()
    _assert_void(page, two_seats[0])
    assert "주최 측 사정으로 공연이 취소되어" in page


def test_a_ticket_let_in_at_the_door_says_when_it_was_used(fan_client, two_seats, concert_date):
    services.check_in_ticket(
        code=signing.dumps(str(two_seats[0].pk), salt=SALT), concert_date=concert_date, by=factories.StaffFactory()
    )
    page = fan_client.get(_ticket_url(two_seats[0])).content.decode()
    assert 'data-testid="ticket-used"' in page
    assert "사용 완료" in page and "입장 완료:" in page
    listing = fan_client.get(reverse("booking:reservations")).content.decode()
    assert f'data-testid="used-{two_seats[0].seat.seat_number}"' in listing
    assert f'data-testid="used-{two_seats[1].seat.seat_number}"' not in listing


def test_a_ticket_let_in_at_the_door_offers_no_cancellation_and_its_cancel_page_refuses(
    fan_client, two_seats, concert_date
):
    used, unused = two_seats
    services.check_in_ticket(code=signing.dumps(str(used.pk), salt=SALT), concert_date=concert_date, by=None)
    listing = fan_client.get(reverse("booking:reservations")).content.decode()
    assert f'data-testid="cancel-{used.seat.seat_number}"' not in listing
    assert f'data-testid="cancel-{unused.seat.seat_number}"' in listing
    refused = fan_client.post(reverse("booking:cancel", args=[used.pk]))
    assert refused.status_code == 409
    assert "입장에 사용된 티켓은 취소할 수 없습니다." in refused.content.decode()
    used.refresh_from_db()
    assert used.status == "CONFIRMED"


def test_the_ticket_page_in_english_names_the_qr_code_for_screen_readers(client, fan, two_seats):
    client.force_login(fan)
    page = _english(client).get(_ticket_url(two_seats[1])).content.decode()
    assert 'role="img" aria-label="QR code of the ticket for seat 4"' in page
    assert 'aria-hidden="true"' in INLINE_SVG.search(page)[0]  # the drawing itself is not read out
    assert "E-ticket" in page and "Ticket holder" in page


def test_no_shared_cache_keeps_a_page_with_ticket_codes(fan_client, two_seats):
    for url in (reverse("booking:reservations"), _ticket_url(two_seats[0])):
        cache_control = set(fan_client.get(url)["Cache-Control"].replace(" ", "").split(","))
        assert {"private", "no-cache"} <= cache_control, url


def test_the_ticket_page_reads_the_ticket_in_one_query(fan_client, two_seats):
    fan_client.get(reverse("booking:reservations"))  # the session is warm
    with CaptureQueriesContext(connection) as queries:
        assert fan_client.get(_ticket_url(two_seats[0])).status_code == 200
    assert len(queries) == 3  # session, user, the ticket (seat, date, concert and check-in joined)


def test_a_seat_s_code_is_the_same_on_my_tickets_on_its_page_and_in_its_e_mail(
    fan_client, fan, concert_date, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _user, result = paid_fan(user=fan, concert_date=concert_date, seats=[5])
    [seat_5] = result.reservations
    [mailed] = re.findall(r": (\S+:\S+)$", mail.outbox[0].body, flags=re.MULTILINE)

    listed = CODE.findall(fan_client.get(reverse("booking:reservations")).content.decode())
    time.sleep(1.1)  # a code stamped with the time it was shown would change here
    [printed] = CODE.findall(fan_client.get(_ticket_url(seat_5)).content.decode())
    assert listed == [printed] == [mailed]
    assert reservation_for_code(printed) == seat_5


def test_a_code_an_earlier_e_mail_carried_still_names_its_ticket(two_seats):
    """Earlier mails stamped each code with the moment it was signed: the same signature, another timestamp."""
    assert reservation_for_code(signing.dumps(str(two_seats[0].pk), salt=SALT)) == two_seats[0]
