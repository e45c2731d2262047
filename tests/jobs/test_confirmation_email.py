"""The booking confirmation e-mail: enqueued on commit after a successful payment, one per payment,
with an e-ticket per seat (a signed code, also as a QR code) that the door check accepts."""

import re
import uuid

import pytest
from django.core import mail

from booking import jobs, services
from booking.exceptions import TicketCodeInvalid
from booking.models import Reservation
from booking.tickets import reservation_for_code, ticket_code
from tests.factories import ConcertDateFactory, UserFactory
from tests.sales import paid_fan
from wallet import services as wallet_services

pytestmark = pytest.mark.django_db


def test_one_mail_per_payment_with_a_ticket_per_seat(django_capture_on_commit_callbacks):
    date = ConcertDateFactory()
    with django_capture_on_commit_callbacks(execute=True):
        user, result = paid_fan(concert_date=date, seats=[3, 4])
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert date.concert.title in message.subject
    svgs = [a for a in message.attachments if a[0].endswith(".svg")]
    assert sorted(name for name, _content, _type in svgs) == ["ticket-seat-3.svg", "ticket-seat-4.svg"]
    assert all(content.startswith(b"<?xml") and b"<svg" in content for _n, content, _t in svgs)
    html = message.alternatives[0]
    assert html[1] == "text/html"

    codes = re.findall(r": (\S+:\S+)$", message.body, flags=re.MULTILINE)
    assert len(codes) == 2
    admitted = {reservation_for_code(code).pk for code in codes}
    assert admitted == {r.pk for r in result.reservations}


def test_paying_again_with_the_same_key_sends_nothing_more(django_capture_on_commit_callbacks):
    date = ConcertDateFactory()
    user = UserFactory()
    wallet_services.charge(user=user, amount=500_000)
    services.hold_seats(user=user, concert_date=date, seat_numbers=[1])
    key = uuid.uuid4().hex
    with django_capture_on_commit_callbacks(execute=True):
        services.pay(user=user, concert_date=date, idempotency_key=key)
    with django_capture_on_commit_callbacks(execute=True):
        replay = services.pay(user=user, concert_date=date, idempotency_key=key)
    assert replay.replayed
    assert len(mail.outbox) == 1


def test_a_rolled_back_or_failed_payment_sends_no_mail(django_capture_on_commit_callbacks):
    date = ConcertDateFactory()
    user = UserFactory()  # no money: the payment fails
    services.hold_seats(user=user, concert_date=date, seat_numbers=[1])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.InsufficientBalance):
        services.pay(user=user, concert_date=date, idempotency_key="k1")
    assert mail.outbox == []


def test_job_leaves_out_reservations_refunded_before_it_ran():
    date = ConcertDateFactory()
    _user, result = paid_fan(concert_date=date, seats=[1, 2])
    first, second = result.reservations
    services.refund_and_cancel(reservation=first, reason="test")
    assert jobs.send_booking_confirmation(reservation_ids=[str(first.pk), str(second.pk)]) == 1
    assert "ticket-seat-1.svg" not in [a[0] for a in mail.outbox[0].attachments]
    services.refund_and_cancel(reservation=second, reason="test")
    assert jobs.send_booking_confirmation(reservation_ids=[str(first.pk), str(second.pk)]) == 0
    assert len(mail.outbox) == 1


def test_ticket_codes_are_signed_and_forged_ones_are_refused():
    """The code names its reservation; whether that ticket may enter is the door check-in's decision."""
    date = ConcertDateFactory()
    _user, result = paid_fan(concert_date=date, seats=[7])
    reservation = result.reservations[0]
    code = ticket_code(reservation)
    assert reservation_for_code(code).pk == reservation.pk
    with pytest.raises(TicketCodeInvalid):
        reservation_for_code(code[:-2] + ("AA" if not code.endswith("AA") else "BB"))
    with pytest.raises(TicketCodeInvalid):
        reservation_for_code("not a code")
    services.refund_and_cancel(reservation=reservation, reason="test")
    assert reservation_for_code(code).status == Reservation.Status.CANCELLED
