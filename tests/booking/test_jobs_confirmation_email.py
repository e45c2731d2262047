"""The booking confirmation e-mail: enqueued on commit after a successful payment, one per payment,
with an e-ticket per seat (a signed code, also as a QR code) that the door check accepts."""

import datetime
import re
import uuid

import pytest
from django.core import mail
from django.utils import timezone

from booking import jobs, services
from booking.exceptions import InsufficientBalanceToPay, TicketCodeInvalid
from booking.models import ConfirmationEmail, Reservation
from booking.services import confirmations
from booking.tickets import reservation_for_code, ticket_code
from tests.factories import ConcertDateFactory, UserFactory
from tests.support.concurrency import run_at_once
from tests.support.qr import decode_qr_svg
from tests.support.sales import paid_fan
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


@pytest.mark.parametrize("language", ["ko", "en"])
def test_each_seats_qr_code_reads_back_as_the_ticket_code_printed_for_that_seat(
    django_capture_on_commit_callbacks, language
):
    date = ConcertDateFactory()
    user = UserFactory()
    wallet_services.charge(user=user, amount=500_000)
    services.hold_seats(user=user, concert_date=date, seat_numbers=[3, 4])
    with django_capture_on_commit_callbacks(execute=True):
        services.pay(user=user, concert_date=date, idempotency_key=uuid.uuid4().hex, language=language)
    [message] = mail.outbox
    html, html_type = message.alternatives[0]
    assert html_type == "text/html"
    printed = re.findall(r": (\S+:\S+)$", message.body, flags=re.MULTILINE)  # the plain text part, seat by seat
    assert len(printed) == 2 and all(code in html for code in printed)

    read = {}
    for name, svg, mimetype in message.attachments:
        assert mimetype == "image/svg+xml"
        [code] = decode_qr_svg(svg)
        read[name] = code
        assert name == f"ticket-seat-{reservation_for_code(code).seat.seat_number}.svg"
    assert list(read) == ["ticket-seat-3.svg", "ticket-seat-4.svg"]
    assert list(read.values()) == printed


@pytest.mark.parametrize("seats", [[1], [1, 2, 3, 4]])
def test_the_job_reads_a_mail_of_any_size_in_the_same_few_queries(django_assert_num_queries, seats):
    _user, result = paid_fan(concert_date=ConcertDateFactory(), seats=seats)  # no commit here: the mail is owed
    # The owed mail with its fan (locked), its seats with their date and concert, the mark that it was sent; and
    # the savepoint and its release, its transaction being inside the test's.
    with django_assert_num_queries(5):
        assert jobs.send_booking_confirmation(confirmation_id=str(result.payments[0].confirmation_id)) == 1
    assert len(mail.outbox[0].attachments) == len(seats)


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
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InsufficientBalanceToPay):
        services.pay(user=user, concert_date=date, idempotency_key="k1")
    assert mail.outbox == []


def test_job_leaves_out_reservations_refunded_before_it_ran():
    date = ConcertDateFactory()
    _user, result = paid_fan(concert_date=date, seats=[1, 2])  # no commit in this test: the mail is owed
    first, _second = result.reservations
    services.refund_and_cancel(reservation=first, reason="test")
    assert jobs.send_booking_confirmation(confirmation_id=str(result.payments[0].confirmation_id)) == 1
    assert [a[0] for a in mail.outbox[0].attachments] == ["ticket-seat-2.svg"]

    _user, refunded = paid_fan(concert_date=date, seats=[3])
    services.refund_and_cancel(reservation=refunded.reservations[0], reason="test")
    assert jobs.send_booking_confirmation(confirmation_id=str(refunded.payments[0].confirmation_id)) == 0
    assert len(mail.outbox) == 1
    assert not ConfirmationEmail.objects.filter(sent_at__isnull=True).exists()  # nothing is owed any more


def test_a_job_queued_before_the_outbox_existed_still_sends_its_mail():
    date = ConcertDateFactory()
    _user, result = paid_fan(concert_date=date, seats=[1, 2])
    ids = [str(r.pk) for r in result.reservations]
    assert jobs.send_booking_confirmation(reservation_ids=ids) == 1
    assert sorted(a[0] for a in mail.outbox[0].attachments) == ["ticket-seat-1.svg", "ticket-seat-2.svg"]


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


def test_enqueue_goes_through_django_rq_when_redis_is_configured(settings):
    assert settings.REDIS_URL  # the test settings point RQ at Redis, synchronously (RQ_ASYNC=false)
    date = ConcertDateFactory()
    _user, result = paid_fan(concert_date=date, seats=[9])
    job = jobs.enqueue(jobs.send_booking_confirmation, confirmation_id=str(result.payments[0].confirmation_id))
    assert job is not None and job.is_finished
    assert job.return_value() == 1
    assert len(mail.outbox) == 1


# --- the mail is owed from the payment's own transaction: a failed enqueue is caught up by the sweep ---------

DEAD_RQ = {"default": {"URL": "redis://127.0.0.1:1/0", "ASYNC": False, "DEFAULT_TIMEOUT": 60}}


def _owed_payment(settings, *, seats=(3, 4)):
    """A fan pays while RQ's Redis cannot be reached: the payment commits, the enqueue at commit fails."""
    working = settings.RQ_QUEUES
    settings.RQ_QUEUES = DEAD_RQ
    user, result = paid_fan(concert_date=ConcertDateFactory(), seats=list(seats))
    settings.RQ_QUEUES = working
    return user, result


@pytest.mark.django_db(transaction=True)
def test_a_mail_whose_enqueue_failed_at_commit_is_sent_exactly_once_by_the_sweep(settings):
    user, result = _owed_payment(settings)
    assert mail.outbox == []
    assert {r.status for r in Reservation.objects.filter(user=user)} == {Reservation.Status.CONFIRMED}
    [owed] = ConfirmationEmail.objects.filter(user=user, sent_at__isnull=True)

    assert confirmations.enqueue_owed() == 0  # too fresh: the enqueue at commit may still be on its way
    later = owed.created_at + datetime.timedelta(seconds=settings.CONFIRMATION_OWED_AFTER_SECONDS + 1)
    assert confirmations.enqueue_owed(now=later) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert sorted(a[0] for a in mail.outbox[0].attachments) == ["ticket-seat-3.svg", "ticket-seat-4.svg"]

    for minutes in (1, 60, 24 * 60):
        assert confirmations.enqueue_owed(now=later + datetime.timedelta(minutes=minutes)) == 0
    assert len(mail.outbox) == 1
    assert ConfirmationEmail.objects.get(pk=owed.pk).sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_beat_sweep_is_scheduled_and_sends_what_is_owed(settings):
    from booking import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["send-owed-confirmations"]
    assert entry["task"] == "booking.tasks.send_owed_confirmations" and entry["options"]["expires"]
    _owed_payment(settings)
    ConfirmationEmail.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=1))
    tasks.send_owed_confirmations.delay()
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_job_run_twice_sends_one_mail(settings):
    _user, result = paid_fan(concert_date=ConcertDateFactory(), seats=[5])
    assert len(mail.outbox) == 1  # sent at commit (RQ runs synchronously in the tests)
    [sent] = ConfirmationEmail.objects.all()
    assert sent.sent_at is not None
    assert jobs.send_booking_confirmation(confirmation_id=str(sent.pk)) == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_owed_mail_at_once_send_it_once(settings):
    _owed_payment(settings)
    [owed] = ConfirmationEmail.objects.all()
    outcomes = run_at_once(lambda: jobs.send_booking_confirmation(confirmation_id=str(owed.pk)), [(), ()])
    assert sorted(result for result, error in outcomes if error is None) == [0, 1]
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_mail_that_fails_to_send_stays_owed_for_the_retry(settings, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    _owed_payment(settings)
    [owed] = ConfirmationEmail.objects.all()

    def refused(self, messages):
        raise ConnectionRefusedError("mail server down")

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", refused)
        with pytest.raises(ConnectionRefusedError):
            jobs.send_booking_confirmation(confirmation_id=str(owed.pk))
    assert ConfirmationEmail.objects.get(pk=owed.pk).sent_at is None
    assert jobs.send_booking_confirmation(confirmation_id=str(owed.pk)) == 1
    assert len(mail.outbox) == 1


# --- what the mail says: plain text unescaped, a one-line subject, the fan's language -----------------------


def _pay(user, date, language, capture):
    wallet_services.charge(user=user, amount=500_000)
    services.hold_seats(user=user, concert_date=date, seat_numbers=[1])
    with capture(execute=True):
        services.pay(user=user, concert_date=date, idempotency_key=uuid.uuid4().hex, language=language)
    return mail.outbox[-1]


def test_the_plain_text_mail_and_its_subject_are_not_html_escaped(django_capture_on_commit_callbacks):
    date = ConcertDateFactory(concert__title="Rock & Roll <Live>")
    message = _pay(UserFactory(name="O'Brien"), date, "en", django_capture_on_commit_callbacks)
    assert message.subject.startswith("Your Frontrow tickets: Rock & Roll <Live>, ")
    assert "Hello O'Brien," in message.body
    assert "Rock & Roll <Live>" in message.body
    assert "&amp;" not in message.body + message.subject and "&#x27;" not in message.body
    html = message.alternatives[0][0]
    assert "Rock &amp; Roll &lt;Live&gt;" in html and "O&#x27;Brien" in html  # the HTML part stays escaped


def test_a_title_with_line_breaks_gives_a_one_line_subject(django_capture_on_commit_callbacks):
    date = ConcertDateFactory(concert__title="Night\r\nTwo\nShows")
    message = _pay(UserFactory(), date, "en", django_capture_on_commit_callbacks)
    assert message.subject.startswith("Your Frontrow tickets: Night Two Shows, ")
    assert "\n" not in message.subject and "\r" not in message.subject
    assert ConfirmationEmail.objects.get().sent_at is not None


@pytest.mark.parametrize(
    ("language", "subject", "greeting"),
    [("en", "Your Frontrow tickets: ", "Hello Kim,"), ("ko", "[Frontrow] 예매 완료 안내: ", "Kim님, 안녕하세요.")],
)
def test_the_mail_is_in_the_language_the_fan_booked_in(
    django_capture_on_commit_callbacks, settings, language, subject, greeting
):
    settings.LANGUAGE_CODE = "ko" if language == "en" else "en"  # never the site's default by accident
    message = _pay(UserFactory(name="Kim"), ConcertDateFactory(), language, django_capture_on_commit_callbacks)
    assert message.subject.startswith(subject)
    assert message.body.startswith(greeting)
    assert ConfirmationEmail.objects.get().language == language


# --- the link to each seat's printable ticket page ---------------------------------------------------------------


@pytest.mark.parametrize(("language", "label"), [("ko", "전자 티켓 보기·인쇄"), ("en", "Open or print your e-ticket")])
def test_the_mail_links_each_seat_to_its_ticket_page_at_the_site_s_address(
    django_capture_on_commit_callbacks, settings, client, language, label
):
    settings.SITE_URL = "https://tickets.example.com"
    user, date = UserFactory(), ConcertDateFactory()
    wallet_services.charge(user=user, amount=500_000)
    services.hold_seats(user=user, concert_date=date, seat_numbers=[3, 4])
    with django_capture_on_commit_callbacks(execute=True):
        result = services.pay(user=user, concert_date=date, idempotency_key="k", language=language)
    [message] = mail.outbox
    html = message.alternatives[0][0]
    links = re.findall(r"^(https://tickets\.example\.com/\S+)$", message.body, flags=re.MULTILINE)
    by_seat = sorted(result.reservations, key=lambda r: r.seat.seat_number)
    assert links == [f"https://tickets.example.com/reservations/{r.pk}/ticket/" for r in by_seat]
    for link in links:
        assert f'<a href="{link}" style="color:#3651ff;font-weight:bold">{label}</a>' in html
    # The link opens the seat's ticket page for its owner (logged in), with the seat's own code on it.
    client.force_login(user)
    page = client.get(links[0].removeprefix("https://tickets.example.com"))
    assert page.status_code == 200
    [code] = re.findall(r'data-testid="ticket-code">([^<]+)<', page.content.decode())
    assert reservation_for_code(code) == by_seat[0]


def test_the_mail_draws_each_seat_s_qr_code_once(django_capture_on_commit_callbacks, monkeypatch):
    """The QR drawing is most of the mail's cost (bench/email_bench.py): the link adds none."""
    from booking import tickets

    drawn = []
    draw = tickets._qr_drawing
    monkeypatch.setattr(tickets, "_qr_drawing", lambda code: drawn.append(code) or draw(code))
    with django_capture_on_commit_callbacks(execute=True):
        paid_fan(concert_date=ConcertDateFactory(), seats=[1, 2, 3])
    [message] = mail.outbox
    assert len(drawn) == 3 == len(message.attachments)
    assert len(set(drawn)) == 3


def test_site_url_must_be_an_address_without_a_path():
    from django.core.exceptions import ImproperlyConfigured

    from config.settings import checked_site_url

    assert checked_site_url("https://tickets.example.com/") == "https://tickets.example.com"
    assert checked_site_url("http://127.0.0.1:8772") == "http://127.0.0.1:8772"
    for wrong in ("tickets.example.com", "ftp://tickets.example.com", "https://example.com/frontrow", ""):
        with pytest.raises(ImproperlyConfigured):
            checked_site_url(wrong)
