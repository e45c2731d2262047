"""Real threads against PostgreSQL: the booking rules hold when requests race."""

import datetime

import pytest
from django.utils import timezone

from booking import services
from booking.exceptions import InsufficientBalanceToPay, NothingToPay, ReservationNotCancellable, SeatTaken
from booking.models import Payment, Reservation
from concerts.models import Seat, SeatStatusHistory
from concerts.pricing import PriceTier
from tests import factories
from tests.support.checks import assert_consistent
from tests.support.concurrency import run_at_once
from wallet.models import UsageHistory
from wallet.selectors import balance

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_fans_hold_the_same_seat_and_exactly_one_wins(make_fan, concert_date):
    fans = [make_fan() for _ in range(50)]
    now = timezone.now()

    outcomes = run_at_once(
        lambda fan: services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[7], now=now),
        [(fan,) for fan in fans],
    )

    winners = [result for result, error in outcomes if error is None]
    errors = [error for _result, error in outcomes if error is not None]
    assert len(winners) == 1
    assert len(errors) == 49 and all(isinstance(e, SeatTaken) for e in errors), errors
    seat = Seat.objects.get(concert_date=concert_date, seat_number=7)
    [live] = Reservation.objects.filter(seat=seat)
    assert live.pk == winners[0][0].pk and seat.held_by_id == live.user_id
    assert list(
        SeatStatusHistory.objects.filter(seat=seat).order_by("changed_at").values_list("to_status", flat=True)
    ) == [
        "AVAILABLE",
        "HELD",
    ]
    assert_consistent()


def test_overlapping_holds_in_opposite_orders_never_deadlock_or_half_hold(make_fan):
    concert = factories.ConcertFactory()
    first, second = make_fan(), make_fan()
    now = timezone.now()
    for round_ in range(8):
        date = factories.ConcertDateFactory(
            concert=concert, concert_date=timezone.localdate(concert.start_time) + datetime.timedelta(days=round_)
        )
        outcomes = run_at_once(
            lambda fan, numbers, date=date: services.hold_seats(
                user=fan, concert_date=date, seat_numbers=numbers, now=now
            ),
            [(first, [1, 2, 3, 4]), (second, [5, 4, 3, 2])],
        )
        errors = [error for _result, error in outcomes if error is not None]
        assert len(errors) == 1 and isinstance(errors[0], SeatTaken), errors
        held = Seat.objects.filter(concert_date=date, status="HELD")
        winner = first if outcomes[0][1] is None else second
        expected = {1, 2, 3, 4} if winner is first else {2, 3, 4, 5}
        assert {s.seat_number for s in held} == expected
        assert {s.held_by_id for s in held} == {winner.pk}
    assert_consistent()


def test_ten_payments_racing_for_fifty_thousand_won(make_fan):
    concert = factories.ConcertFactory()
    fan = make_fan(50_000)
    now = timezone.now()
    dates = [
        factories.ConcertDateFactory(
            concert=concert,
            concert_date=timezone.localdate(concert.start_time) + datetime.timedelta(days=i),
            tiers=[PriceTier("", 1, 50, 10_000)],
        )
        for i in range(10)
    ]
    for date in dates:
        services.hold_seats(user=fan, concert_date=date, seat_numbers=[1], now=now)

    outcomes = run_at_once(
        lambda date: services.pay(user=fan, concert_date=date, idempotency_key=f"k-{date.pk}", now=now),
        [(date,) for date in dates],
    )

    successes = [result for result, error in outcomes if error is None]
    errors = [error for _result, error in outcomes if error is not None]
    assert len(successes) == 5
    assert len(errors) == 5 and all(isinstance(e, InsufficientBalanceToPay) for e in errors), errors
    assert balance(user=fan) == 0
    assert Payment.objects.filter(status="SUCCESS").count() == 5
    assert Payment.objects.filter(status="FAILED").count() == 5
    assert UsageHistory.objects.filter(action_type="RESERVATION").count() == 5
    assert Reservation.objects.filter(status="CONFIRMED").count() == 5
    assert_consistent()


def test_the_same_checkout_paid_five_times_at_once_charges_once(make_fan, concert_date):
    fan = make_fan(300_000)
    now = timezone.now()
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)

    outcomes = run_at_once(
        lambda: services.pay(user=fan, concert_date=concert_date, idempotency_key="checkout-1", now=now),
        [()] * 5,
    )

    assert [error for _result, error in outcomes] == [None] * 5
    results = [result for result, _error in outcomes]
    assert sum(not r.replayed for r in results) == 1
    assert len({tuple(sorted(p.pk for p in r.payments)) for r in results}) == 1
    assert {r.total for r in results} == {198_000}
    assert balance(user=fan) == 300_000 - 198_000
    assert UsageHistory.objects.filter(user=fan, action_type="RESERVATION").count() == 2
    assert Payment.objects.filter(status="SUCCESS").count() == 2
    assert_consistent()


def test_two_tabs_paying_with_different_keys_charge_once(make_fan, concert_date):
    fan = make_fan(300_000)
    now = timezone.now()
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)

    outcomes = run_at_once(
        lambda key: services.pay(user=fan, concert_date=concert_date, idempotency_key=key, now=now),
        [("tab-a",), ("tab-b",), ("tab-c",)],
    )

    errors = [error for _result, error in outcomes if error is not None]
    assert len(errors) == 2 and all(isinstance(e, NothingToPay) for e in errors)
    assert balance(user=fan) == 300_000 - 99_000
    assert_consistent()


def test_double_click_on_cancel_refunds_once(make_fan, concert_date):
    fan = make_fan(100_000)
    now = timezone.now()
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    [reservation] = services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now).reservations

    outcomes = run_at_once(
        lambda: services.cancel(user=fan, reservation=reservation, now=now),
        [()] * 4,
    )

    errors = [error for _result, error in outcomes if error is not None]
    assert len(errors) == 3 and all(isinstance(e, ReservationNotCancellable) for e in errors)
    assert balance(user=fan) == 100_000
    assert UsageHistory.objects.filter(action_type="CANCELLATION").count() == 1
    assert_consistent()


def test_two_sweepers_and_a_fan_share_the_expired_holds(make_fan, concert_date, settings):
    settings.MAX_SEATS_PER_USER = 4
    start = timezone.now() - datetime.timedelta(seconds=settings.HOLD_SECONDS + 1)
    old = []
    for first in range(1, 41, 4):
        old += services.hold_seats(
            user=make_fan(), concert_date=concert_date, seat_numbers=range(first, first + 4), now=start
        )
    [unexpired] = services.hold_seats(user=make_fan(), concert_date=concert_date, seat_numbers=[50], now=timezone.now())
    taker = make_fan()
    now = timezone.now()

    outcomes = run_at_once(
        lambda job: (
            services.expire_holds(now=now, batch_size=7)
            if job == "sweep"
            else services.hold_seats(user=taker, concert_date=concert_date, seat_numbers=[1, 2], now=now)
        ),
        [("sweep",), ("sweep",), ("hold",)],
    )

    assert [error for _result, error in outcomes] == [None, None, None]
    swept = outcomes[0][0] + outcomes[1][0]
    assert 38 <= swept <= 40
    assert Reservation.objects.filter(pk__in=[r.pk for r in old], status="EXPIRED").count() == 40
    for reservation in old:
        expiries = SeatStatusHistory.objects.filter(
            seat_id=reservation.seat_id, reason=SeatStatusHistory.Reason.HOLD_EXPIRED
        )
        assert expiries.count() == 1
    assert Seat.objects.get(pk=unexpired.seat_id).status == "HELD"
    assert set(Seat.objects.filter(held_by=taker).values_list("seat_number", flat=True)) == {1, 2}
    assert services.expire_holds(now=now) == 0
    assert_consistent()


def test_a_failing_queue_hook_does_not_undo_a_committed_payment(make_fan, concert_date, monkeypatch):
    from queueing import services as queue_services

    def broken(**kwargs):
        raise ConnectionError("queue backend down")

    monkeypatch.setattr(queue_services, "end_for_user", broken)
    fan = make_fan(100_000)
    now = timezone.now()
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)

    result = services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)

    assert result.balance_after == 1_000
    assert Reservation.objects.get().status == "CONFIRMED"


def test_cancelling_a_date_waits_for_a_hold_in_flight(make_fan, concert_date):
    import threading
    import time

    from django.db import connection, transaction

    from booking.services import mark_date_cancelled

    fan = make_fan()
    now = timezone.now()
    held = threading.Event()
    outcome = {}

    def hold_slowly():
        try:
            # Keeps the hold's transaction open a moment after the hold, as a slow request would.
            with transaction.atomic():
                services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
                held.set()
                time.sleep(0.5)
        finally:
            connection.close()

    def cancel():
        try:
            assert held.wait(10)
            outcome["cancellation"], _created = mark_date_cancelled(concert_date=concert_date, reason="storm", now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=hold_slowly), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    # The cancellation saw the hold (it waited for it to commit), so its refund job will end it.
    assert outcome["cancellation"].total == 1


def test_a_fan_cancelling_while_staff_cancel_the_date_ends_the_ticket_once_for_whoever_came_first(make_fan):
    from booking.services import end_reservations_of_cancelled_date, mark_date_cancelled

    for _round in range(6):  # which side wins each round is up to the threads: both orders are checked
        date = factories.ConcertDateFactory()
        fan = make_fan(100_000)
        now = timezone.now()
        services.hold_seats(user=fan, concert_date=date, seat_numbers=[1], now=now)
        [ticket] = services.pay(user=fan, concert_date=date, idempotency_key="k", now=now).reservations

        def staff_cancel(date=date, now=now):
            cancellation, _created = mark_date_cancelled(concert_date=date, reason="storm", now=now)
            end_reservations_of_cancelled_date(cancellation=cancellation)
            return cancellation

        def fan_cancel(fan=fan, ticket=ticket, now=now):
            return services.cancel(user=fan, reservation=ticket, now=now)

        (_, fan_error), (cancellation, staff_error) = run_at_once(lambda work: work(), [(fan_cancel,), (staff_cancel,)])

        assert staff_error is None
        ticket.refresh_from_db()
        assert ticket.status == Reservation.Status.CANCELLED
        if fan_error is None:  # the fan's cancel came first: the date's cancellation found nothing live
            assert (ticket.end_reason, cancellation.total) == (Reservation.EndReason.FAN_CANCELLED, 0)
        else:  # the date came first: the fan is told so, and the refund is the date's
            assert getattr(fan_error, "code", None) == "date_cancelled", fan_error
            assert (ticket.end_reason, cancellation.total) == (Reservation.EndReason.DATE_CANCELLED, 1)
        assert UsageHistory.objects.filter(reservation=ticket, action_type="CANCELLATION").count() == 1
        assert balance(user=fan) == 100_000
    assert_consistent()


def test_fans_releasing_their_holds_while_the_sweep_expires_them_end_each_once(make_fan, concert_date, settings):
    """Eight fans let their holds go while the expiry sweep, its clock a moment later, finds them run out: each
    hold ends exactly once (released by its fan, or expired by the sweep, whichever locked its seat first), nobody
    gets an error, and every seat is free once, for the next fan."""
    deadline = timezone.now()
    fans = [make_fan() for _ in range(8)]
    holds = [
        services.hold_seats(
            user=fan,
            concert_date=concert_date,
            seat_numbers=[number],
            now=deadline - datetime.timedelta(seconds=settings.HOLD_SECONDS),
        )[0]
        for number, fan in enumerate(fans, start=1)
    ]
    fan_clock, sweep_clock = deadline - datetime.timedelta(seconds=1), deadline + datetime.timedelta(seconds=1)

    outcomes = run_at_once(
        lambda hold: (
            services.expire_holds(now=sweep_clock)
            if hold is None
            else services.release_own_hold(user=hold.user, reservation=hold, now=fan_clock)
        ),
        [(None,)] + [(hold,) for hold in holds],
    )

    assert [error for _result, error in outcomes] == [None] * 9
    swept, answers = outcomes[0][0], [result for result, _error in outcomes[1:]]
    released = [answer for answer in answers if answer.end_reason == Reservation.EndReason.FAN_RELEASED]
    assert swept + len(released) == 8
    for hold, answer in zip(holds, answers, strict=True):
        stored = Reservation.objects.get(pk=hold.pk)
        assert (stored.status, stored.end_reason) == (answer.status, answer.end_reason)
        assert stored.end_reason in (Reservation.EndReason.FAN_RELEASED, Reservation.EndReason.HOLD_EXPIRED)
        freed = SeatStatusHistory.objects.filter(seat_id=hold.seat_id, from_status="HELD", to_status="AVAILABLE")
        assert freed.count() == 1
    assert set(Seat.objects.filter(pk__in=[h.seat_id for h in holds]).values_list("status", flat=True)) == {"AVAILABLE"}
    assert services.expire_holds(now=sweep_clock) == 0
    taker = make_fan()
    settings.MAX_SEATS_PER_USER = 8
    assert len(services.hold_seats(user=taker, concert_date=concert_date, seat_numbers=range(1, 9))) == 8
    assert_consistent()
