"""Cancelling a concert date: every live reservation ended, every paid one refunded exactly once —
when the job runs twice, after a crash half-way, or on two workers at once."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from booking import jobs, selectors, services
from booking.exceptions import DateNotBookable
from booking.models import Reservation
from booking.services import cancellations
from concerts.models import ConcertDate, DateCancellation, Seat, SeatStatusHistory
from tests.factories import ConcertDateFactory, StaffFactory, UserFactory
from tests.support.sales import holding_fan, paid_fan
from wallet.models import ChargeHistory, UsageHistory

CANCELLATION = UsageHistory.ActionType.CANCELLATION


def _date_with_sales(fans=3, seats_each=2):
    date = ConcertDateFactory()
    paid = []
    for index in range(fans):
        seats = [index * seats_each + n + 1 for n in range(seats_each)]
        user, result = paid_fan(concert_date=date, seats=seats)
        paid.append((user, result))
    holder, _ = holding_fan(concert_date=date, seats=[50])
    return date, paid, holder


def _assert_refunded_exactly_once(date, paid):
    reservations = Reservation.objects.filter(seat__concert_date=date)
    assert not reservations.filter(status__in=Reservation.LIVE_STATUSES).exists()
    for user, result in paid:
        user.refresh_from_db()
        charged = ChargeHistory.objects.filter(user=user, status="SUCCESS").aggregate(s=Sum("amount"))["s"]
        assert user.balance == charged  # everything paid came back, once
        for reservation in result.reservations:
            assert UsageHistory.objects.filter(reservation=reservation, action_type=CANCELLATION).count() == 1
    assert set(Seat.objects.filter(concert_date=date).values_list("status", flat=True)) == {"AVAILABLE"}


@pytest.mark.django_db
def test_cancelling_a_date_refunds_everything_and_stops_sales(django_capture_on_commit_callbacks):
    date, paid, holder = _date_with_sales()
    by = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        cancellation = services.cancel_concert_date(concert_date=date, by=by, reason="artist ill")
    assert cancellation.total == 7  # 6 paid + 1 held
    cancellation.refresh_from_db()
    assert cancellation.finished_at is not None and cancellation.runs == 1
    assert selectors.cancellation_progress(cancellation) == (7, 7, 0)
    _assert_refunded_exactly_once(date, paid)
    assert Reservation.objects.get(user=holder).status == Reservation.Status.CANCELLED
    date.refresh_from_db()
    assert date.status == ConcertDate.Status.CANCELLED and date.cancelled_at is not None
    with pytest.raises(DateNotBookable):
        services.hold_seats(user=UserFactory(), concert_date=date, seat_numbers=[1])
    history = Seat.objects.get(concert_date=date, seat_number=1).history.order_by("-changed_at").first()
    assert (history.reason, history.note) == (SeatStatusHistory.Reason.DATE_CANCELLED, "artist ill")
    assert history.changed_by == by


@pytest.mark.django_db
def test_the_job_run_twice_refunds_once(django_capture_on_commit_callbacks):
    date, paid, _holder = _date_with_sales()
    with django_capture_on_commit_callbacks(execute=True):
        cancellation = services.cancel_concert_date(concert_date=date, reason="storm")
    balances = {user.pk: user.__class__.objects.get(pk=user.pk).balance for user, _ in paid}
    assert jobs.refund_cancelled_date(cancellation_id=str(cancellation.pk)) == 0
    # Cancelling again (a second click) returns the same record and queues a harmless run.
    with django_capture_on_commit_callbacks(execute=True):
        again = services.cancel_concert_date(concert_date=date, reason="storm")
    assert again.pk == cancellation.pk and DateCancellation.objects.count() == 1
    again.refresh_from_db()
    assert again.runs == 3
    assert {user.pk: user.__class__.objects.get(pk=user.pk).balance for user, _ in paid} == balances
    _assert_refunded_exactly_once(date, paid)


@pytest.mark.django_db
def test_a_crash_half_way_is_finished_by_the_next_run(monkeypatch):
    date, paid, _holder = _date_with_sales(fans=4)
    cancellation = services.cancel_concert_date(concert_date=date, reason="venue flooded", enqueue=False)
    real = services.refund_and_cancel
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise ConnectionError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(cancellations, "refund_and_cancel", flaky)
    with pytest.raises(ConnectionError):
        jobs.refund_cancelled_date(cancellation_id=str(cancellation.pk))
    cancellation.refresh_from_db()
    assert cancellation.finished_at is None
    assert "database went away" in cancellation.last_error
    done, total, remaining = selectors.cancellation_progress(cancellation)
    refunded = UsageHistory.objects.filter(reservation__seat__concert_date=date, action_type=CANCELLATION).count()
    assert refunded == 3  # three refunds went through before the crash
    assert total == 9 and done in (3, 4) and remaining == total - done  # (4 if the hold came first)

    monkeypatch.setattr(cancellations, "refund_and_cancel", real)
    jobs.refund_cancelled_date(cancellation_id=str(cancellation.pk))
    cancellation.refresh_from_db()
    assert cancellation.finished_at is not None and cancellation.last_error == ""
    _assert_refunded_exactly_once(date, paid)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_refund_each_reservation_once():
    date, paid, _holder = _date_with_sales(fans=4, seats_each=3)
    cancellation = services.cancel_concert_date(concert_date=date, reason="double run", enqueue=False)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            jobs.refund_cancelled_date(cancellation_id=str(cancellation.pk))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_refunded_exactly_once(date, paid)


@pytest.mark.django_db
def test_with_redis_down_the_date_is_still_cancelled_and_the_command_finishes_the_refunds(
    monkeypatch, django_capture_on_commit_callbacks
):
    date, paid, _holder = _date_with_sales(fans=2)

    def redis_down(func, **kwargs):
        raise ConnectionError("Error 111 connecting to redis")

    monkeypatch.setattr(jobs, "enqueue", redis_down)
    with django_capture_on_commit_callbacks(execute=True):
        cancellation = services.cancel_concert_date(concert_date=date, reason="power cut")
    cancellation.refresh_from_db()
    assert cancellation.started_at is None and cancellation.finished_at is None
    assert selectors.cancellation_progress(cancellation) == (0, 5, 5)

    call_command("cancel_date", str(date.pk), verbosity=0)
    cancellation.refresh_from_db()
    assert cancellation.finished_at is not None
    _assert_refunded_exactly_once(date, paid)
