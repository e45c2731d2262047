"""Real threads against PostgreSQL: a returned seat is offered exactly once, in list order, one seat a fan, when
two workers run the offer job at once and when several seats come back at once."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from booking import services
from booking.models import WaitlistEntry, WaitlistOffer
from concerts.models import Seat
from tests.factories import ConcertDateFactory
from tests.support.checks import assert_consistent
from tests.support.concurrency import run_at_once
from tests.support.waitlist import return_seats, sell_out, waiting_fans

pytestmark = pytest.mark.django_db(transaction=True)

waitlist = services.waitlist


@pytest.fixture
def offers_left_to_the_workers(monkeypatch):
    """Seats coming back queue no offer job: the test's own workers do the offering."""
    monkeypatch.setattr(waitlist, "seats_returned", lambda concert_date_ids: None)


def _offers_in_order(concert_date):
    return list(
        WaitlistOffer.objects.filter(entry__concert_date=concert_date)
        .select_related("entry", "seat")
        .order_by("offered_at", "entry__joined_at")
    )


def test_two_workers_running_the_offer_job_at_once_offer_each_seat_once_in_list_order(offers_left_to_the_workers):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    fans = waiting_fans(date, 5, now=now)
    return_seats(sold, 8, 3, 41, now=now)

    outcomes = run_at_once(lambda: waitlist.make_offers(concert_date=date), [(), (), (), ()])

    assert all(error is None for _result, error in outcomes), outcomes
    assert sum(len(made) for made, _error in outcomes) == 3
    offers = _offers_in_order(date)
    assert [o.entry.user_id for o in offers] == [fan.pk for fan in fans[:3]]
    assert [o.seat.seat_number for o in offers] == [3, 8, 41]
    for fan in fans[3:]:
        assert WaitlistEntry.objects.get(user=fan).status == WaitlistEntry.Status.WAITING
    assert Seat.objects.filter(concert_date=date, status=Seat.Status.AVAILABLE).count() == 0
    assert_consistent()


def test_several_seats_coming_back_at_once_each_go_to_one_fan_in_list_order():
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    fans = waiting_fans(date, 6, now=now)
    returning = [5, 17, 29, 44]

    # Four staff refunds commit at once; each queues the date's offer job, which the test settings run at once
    # in the refunding thread after its commit: four jobs race over the same list.
    outcomes = run_at_once(
        lambda number: services.refund_and_cancel(reservation=sold[number]), [(n,) for n in returning]
    )

    assert all(error is None for _result, error in outcomes), outcomes
    offers = _offers_in_order(date)
    assert [o.entry.user_id for o in offers] == [fan.pk for fan in fans[:4]]
    assert sorted(o.seat.seat_number for o in offers) == returning
    assert all(o.emailed_at is not None for o in offers)
    assert [WaitlistEntry.objects.get(user=fan).status for fan in fans[4:]] == [WaitlistEntry.Status.WAITING] * 2
    assert_consistent()


def test_offers_that_run_out_pass_on_exactly_once_when_workers_race(offers_left_to_the_workers):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    fans = waiting_fans(date, 4, now=now)
    return_seats(sold, 10, 20, now=now)
    first_round = waitlist.make_offers(concert_date=date, now=now)
    assert [o.entry.user_id for o in first_round] == [fans[0].pk, fans[1].pk]
    later = now + datetime.timedelta(seconds=waitlist.settings.OFFER_SECONDS + 1)

    outcomes = run_at_once(lambda: waitlist.make_offers(concert_date=date, now=later), [(), (), ()])

    assert all(error is None for _result, error in outcomes), outcomes
    offers = _offers_in_order(date)
    assert [(o.entry.user_id, o.status) for o in offers] == [
        (fans[0].pk, WaitlistOffer.Status.EXPIRED),
        (fans[1].pk, WaitlistOffer.Status.EXPIRED),
        (fans[2].pk, WaitlistOffer.Status.OPEN),
        (fans[3].pk, WaitlistOffer.Status.OPEN),
    ]
    assert sorted(o.seat.seat_number for o in offers[2:]) == [10, 20]
    assert_consistent()


def test_a_fan_accepting_while_a_worker_sweeps_after_expiry_gets_a_clear_answer_and_one_outcome(
    offers_left_to_the_workers,
):
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    first, second = waiting_fans(date, 2, now=now)
    return_seats(sold, 10, now=now)
    [offer] = waitlist.make_offers(concert_date=date, now=now)
    late = offer.expires_at + datetime.timedelta(seconds=1)

    outcomes = run_at_once(
        lambda job: (
            waitlist.make_offers(concert_date=date, now=late)
            if job
            else waitlist.accept_offer(user=first, offer=offer, now=late)
        ),
        [(True,), (False,)],
    )

    (made, job_error), (_accepted, accept_error) = outcomes
    assert job_error is None and isinstance(accept_error, waitlist.OfferExpired)
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.EXPIRED
    [passed_on] = made
    assert passed_on.entry.user_id == second.pk and passed_on.seat_id == offer.seat_id
    assert_consistent()


def _lock_until_someone_waits(seat, *, locked, seconds=15):
    """On another connection: lock the seat's row as a transaction that then takes nothing does (a fan accepting
    an offer that ran out or paying a hold that ran out locks the seat, finds it is not theirs and rolls back),
    and keep it until another session waits for a lock (or `seconds`), then roll back."""

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                list(Seat.objects.filter(pk=seat.pk).order_by().select_for_update(no_key=True, of=("self",)))
                locked.set()
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    cursor.execute("SELECT pg_stat_clear_snapshot()")  # the view is a snapshot per transaction
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.02)
                transaction.set_rollback(True)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_a_returned_seat_locked_a_moment_by_a_transaction_that_takes_nothing_is_still_offered(
    offers_left_to_the_workers,
):
    """The offer run must not skip a free seat because its row is locked right now: the locker may take nothing
    (here it rolls back), and nothing would run the offers again before the beat sweep. It waits for the lock and
    offers the seat (had the locker held it, the next free seat would be offered once the lock is let go)."""
    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    [waiting] = waiting_fans(date, 1, now=now)
    return_seats(sold, 10, now=now)
    locked = threading.Event()
    locker = _lock_until_someone_waits(Seat.objects.get(concert_date=date, seat_number=10), locked=locked)
    assert locked.wait(timeout=30)

    made = waitlist.make_offers(concert_date=date, now=now)

    locker.join(timeout=60)
    assert [(offer.entry.user_id, offer.seat.seat_number) for offer in made] == [(waiting.pk, 10)]
    assert_consistent()


def test_one_refused_address_does_not_stop_the_other_offer_emails_and_none_is_sent_under_a_row_lock(
    offers_left_to_the_workers, monkeypatch
):
    from smtplib import SMTPRecipientsRefused

    from django.core import mail
    from django.core.mail.backends.locmem import EmailBackend
    from django.db import transaction

    from tests.factories import UserFactory
    from tests.support.concurrency import run_on_another_connection

    date = ConcertDateFactory()
    now = timezone.now()
    sold = sell_out(date, now=now)
    refused_fan = UserFactory(email="refused@example.com")
    services.waitlist.join_waitlist(user=refused_fan, concert_date=date, now=now)  # first on the list
    others = waiting_fans(date, 2, now=now + datetime.timedelta(seconds=1))
    return_seats(sold, 5, 6, 7, now=now)
    assert len(waitlist.make_offers(concert_date=date, now=now)) == 3
    mail.outbox.clear()
    send = EmailBackend.send_messages
    locked_while_sending = []

    def offer_row_free(address):
        def probe():
            with transaction.atomic():
                rows = WaitlistOffer.objects.select_for_update(skip_locked=True).filter(entry__user__email=address)
                return rows.exists()

        return run_on_another_connection(probe)

    def refusing(self, messages):
        for message in messages:
            locked_while_sending.append(not offer_row_free(message.to[0]))
            if message.to == ["refused@example.com"]:
                raise SMTPRecipientsRefused({"refused@example.com": (550, b"no such mailbox")})
        return send(self, messages)

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", refusing)
        with pytest.raises(SMTPRecipientsRefused):  # raised at the end: the RQ job is retried
            waitlist.send_offer_emails(concert_date_id=date.pk, now=now)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(fan.email for fan in others)
    assert locked_while_sending == [False, False, False]
    owed = WaitlistOffer.objects.filter(emailed_at__isnull=True)
    assert [o.entry.user_id for o in owed] == [refused_fan.pk]

    assert waitlist.send_offer_emails(concert_date_id=date.pk, now=now) == 1  # the retry: only the refused one
    assert len(mail.outbox) == 3 and mail.outbox[-1].to == ["refused@example.com"]
    assert not WaitlistOffer.objects.filter(emailed_at__isnull=True).exists()
