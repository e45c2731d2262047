import datetime

import pytest

from booking import services
from booking.exceptions import (
    BookingError,
    CheckoutChanged,
    DateNotBookable,
    HoldExpired,
    InsufficientBalanceToPay,
    InvalidPaymentRequest,
    NothingToPay,
)
from booking.models import Payment, Reservation
from concerts.models import Seat, SeatStatusHistory
from tests import factories
from tests.support.checks import assert_consistent, seat_snapshot
from wallet.exceptions import WalletError
from wallet.models import UsageHistory
from wallet.selectors import balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiered_date():
    from concerts.pricing import PriceTier

    return factories.ConcertDateFactory(tiers=[PriceTier("VIP", 1, 10, 150_000), PriceTier("R", 11, 50, 80_000)])


def test_pay_confirms_every_live_hold_of_the_date(make_fan, tiered_date, now, django_capture_on_commit_callbacks):
    fan = make_fan(300_000)
    services.hold_seats(user=fan, concert_date=tiered_date, seat_numbers=[12, 2], now=now)
    paid_at = now + datetime.timedelta(seconds=30)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = services.pay(user=fan, concert_date=tiered_date, idempotency_key="abc", now=paid_at)

    # The seat version (booking.seat_versions), the e-mail and the end of the admission.
    assert [c.__qualname__.split(".")[0] for c in callbacks] == ["seats_changed", "enqueue_on_commit", "_after_payment"]
    assert result.total == 230_000 and result.balance_after == 70_000 and not result.replayed
    assert balance(user=fan) == 70_000
    assert [r.seat.seat_number for r in result.reservations] == [2, 12]
    for reservation in Reservation.objects.filter(user=fan):
        assert reservation.status == Reservation.Status.CONFIRMED and reservation.confirmed_at == paid_at
    assert {(p.amount, p.status, p.idempotency_key) for p in result.payments} == {
        (150_000, "SUCCESS", "abc"),
        (80_000, "SUCCESS", "abc"),
    }
    usages = UsageHistory.objects.filter(user=fan, action_type="RESERVATION", status="SUCCESS")
    assert sorted(u.amount for u in usages) == [80_000, 150_000]
    assert {u.reservation_id for u in usages} == {r.pk for r in result.reservations}
    seats = Seat.objects.filter(concert_date=tiered_date, seat_number__in=[2, 12])
    assert {(s.status, s.held_by_id, s.hold_expire_at) for s in seats} == {("RESERVED", None, None)}
    assert SeatStatusHistory.objects.filter(seat__in=seats, from_status="HELD", to_status="RESERVED").count() == 2
    assert_consistent()


def test_pay_ends_the_queue_token_once_committed(
    make_fan, concert_date, now, monkeypatch, django_capture_on_commit_callbacks
):
    from queueing import services as queue_services
    from wallet.services import charge

    calls = []
    monkeypatch.setattr(queue_services, "end_for_user", lambda **kwargs: calls.append(kwargs))
    fan = make_fan(197_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)

    with pytest.raises(InsufficientBalanceToPay), django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    assert callbacks == [] and calls == []

    charge(user=fan, amount=1_000)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    # The seat version, the confirmation e-mail and the end of the admission, independent of each other.
    assert len(callbacks) == 3
    assert calls == [{"user": fan, "concert": concert_date.concert, "reason": "paid"}]

    # A replay does not end the token again.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    assert callbacks == [] and len(calls) == 1


def test_same_key_pays_once_and_returns_the_same_result(make_fan, concert_date, now):
    fan = make_fan(200_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    first = services.pay(user=fan, concert_date=concert_date, idempotency_key="key-1", now=now)
    again = services.pay(user=fan, concert_date=concert_date, idempotency_key="key-1", now=now)

    assert again.replayed
    assert [p.pk for p in again.payments] == [p.pk for p in first.payments]
    assert [r.pk for r in again.reservations] == [r.pk for r in first.reservations]
    assert (again.total, again.balance_after) == (first.total, first.balance_after)
    assert UsageHistory.objects.filter(user=fan, action_type="RESERVATION").count() == 1
    assert balance(user=fan) == 200_000 - 99_000


def test_a_second_checkout_with_a_new_key_finds_nothing_to_pay(make_fan, concert_date, now):
    fan = make_fan(200_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    services.pay(user=fan, concert_date=concert_date, idempotency_key="tab-1", now=now)
    with pytest.raises(NothingToPay):
        services.pay(user=fan, concert_date=concert_date, idempotency_key="tab-2", now=now)
    assert balance(user=fan) == 200_000 - 99_000


def test_insufficient_balance_records_failed_payments_and_changes_nothing_else(make_fan, concert_date, now):
    fan = make_fan(150_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)
    before = seat_snapshot(concert_date)

    with pytest.raises(InsufficientBalanceToPay) as exc:
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)

    assert isinstance(exc.value, BookingError) and isinstance(exc.value, WalletError)
    assert (exc.value.needed, exc.value.available) == (198_000, 150_000)
    assert "150,000" in str(exc.value.message)
    failed = Payment.objects.filter(user=fan)
    assert failed.count() == 2
    assert {(p.status, p.reason) for p in failed} == {("FAILED", exc.value.reason)}
    assert balance(user=fan) == 150_000
    assert not UsageHistory.objects.filter(user=fan).exists()
    assert seat_snapshot(concert_date) == before
    assert_consistent()


def test_a_retry_after_topping_up_pays(make_fan, concert_date, now):
    from wallet.services import charge

    fan = make_fan(50_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    with pytest.raises(InsufficientBalanceToPay):
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    charge(user=fan, amount=50_000)
    result = services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    assert not result.replayed and result.balance_after == 1_000
    assert Payment.objects.filter(user=fan, status="FAILED").count() == 1
    assert_consistent()


def test_an_expired_hold_records_failed_payments_and_charges_nothing(make_fan, concert_date, now):
    fan = make_fan(500_000)
    [first] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    later = now + datetime.timedelta(seconds=200)
    [second] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[2], now=later)
    at = first.hold_expire_at + datetime.timedelta(seconds=1)

    with pytest.raises(HoldExpired) as exc:
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=at)

    assert exc.value.seat_numbers == [1]
    assert balance(user=fan) == 500_000
    assert {(p.reservation_id, p.status) for p in Payment.objects.all()} == {
        (first.pk, "FAILED"),
        (second.pk, "FAILED"),
    }
    assert not Reservation.objects.filter(status="CONFIRMED").exists()
    assert not Seat.objects.filter(status="RESERVED").exists()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "EXPIRED" and second.status == "HOLD"
    assert_consistent()
    # The live hold can still be paid.
    result = services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=at)
    assert [r.pk for r in result.reservations] == [second.pk]


def test_a_hold_taken_over_by_another_fan_is_not_paid(make_fan, concert_date, now):
    fan, other = make_fan(500_000), make_fan()
    [hold] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    at = hold.hold_expire_at + datetime.timedelta(seconds=1)
    services.hold_seats(user=other, concert_date=concert_date, seat_numbers=[1], now=at)
    with pytest.raises(NothingToPay):
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=at)
    assert balance(user=fan) == 500_000


def test_pay_only_pays_this_date(make_fan, concert_date, now):
    fan = make_fan(500_000)
    other_date = factories.ConcertDateFactory(
        concert=concert_date.concert, concert_date=concert_date.concert_date + datetime.timedelta(days=1)
    )
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    services.hold_seats(user=fan, concert_date=other_date, seat_numbers=[1], now=now)
    result = services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    assert [r.seat.concert_date_id for r in result.reservations] == [concert_date.pk]
    assert Reservation.objects.get(seat__concert_date=other_date).status == "HOLD"
    # The same key on the other date is a new checkout, not a replay.
    other = services.pay(user=fan, concert_date=other_date, idempotency_key="k", now=now)
    assert not other.replayed and other.balance_after == 500_000 - 2 * 99_000


def test_nothing_to_pay(make_fan, concert_date, now):
    fan = make_fan(100_000)
    with pytest.raises(NothingToPay):
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    assert not Payment.objects.exists()


@pytest.mark.parametrize("key", ["", "   ", None, 12, "x" * 65])
def test_a_bad_idempotency_key_is_refused(make_fan, concert_date, now, key):
    fan = make_fan(100_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    with pytest.raises(InvalidPaymentRequest):
        services.pay(user=fan, concert_date=concert_date, idempotency_key=key, now=now)
    assert not Payment.objects.exists()
    assert balance(user=fan) == 100_000


def test_paying_for_holds_on_a_cancelled_date_is_refused(make_fan, concert_date, now):
    from booking.exceptions import DateNotBookable
    from booking.services import mark_date_cancelled

    fan = make_fan(200_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    mark_date_cancelled(concert_date=concert_date, reason="storm", now=now)
    with pytest.raises(DateNotBookable):
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    assert balance(user=fan) == 200_000
    assert not Reservation.objects.filter(status="CONFIRMED").exists()


DEAD_RQ = {"default": {"URL": "redis://127.0.0.1:1/0", "ASYNC": False, "DEFAULT_TIMEOUT": 60}}


@pytest.mark.django_db(transaction=True)
def test_the_confirmation_mail_goes_out_even_when_ending_the_admission_fails(make_fan, concert_date, monkeypatch):
    from django.core import mail

    from queueing import services as queue_services

    def broken(**kwargs):
        raise RuntimeError("history write failed")

    monkeypatch.setattr(queue_services, "end_for_user", broken)
    fan = make_fan(100_000)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1])

    services.pay(user=fan, concert_date=concert_date, idempotency_key="k")

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [fan.email]


@pytest.mark.django_db(transaction=True)
def test_the_admission_ends_even_when_enqueueing_the_mail_fails(make_fan, concert_date, settings):
    from queueing import services as queue_services

    settings.QUEUE_BACKEND = "database"
    settings.RQ_QUEUES = DEAD_RQ  # Redis for RQ is unreachable at the moment of payment
    fan = make_fan(100_000)
    assert queue_services.join(user=fan, concert=concert_date.concert).admitted
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1])

    services.pay(user=fan, concert_date=concert_date, idempotency_key="k")

    assert Reservation.objects.get().status == "CONFIRMED"
    assert not queue_services.touch(user=fan, concert=concert_date.concert)


def test_paying_after_the_show_has_started_is_refused_recorded_and_changes_nothing_else(make_fan, concert_date):
    fan = make_fan(500_000)
    start = concert_date.starts_at
    services.hold_seats(
        user=fan, concert_date=concert_date, seat_numbers=[1, 2], now=start - datetime.timedelta(seconds=10)
    )
    before = seat_snapshot(concert_date)

    with pytest.raises(DateNotBookable) as exc:
        services.pay(
            user=fan, concert_date=concert_date, idempotency_key="k", now=start + datetime.timedelta(seconds=200)
        )

    failed = Payment.objects.filter(user=fan)
    assert failed.count() == 2
    assert {(p.status, p.reason) for p in failed} == {("FAILED", exc.value.reason)}
    assert "started" in exc.value.reason
    assert balance(user=fan) == 500_000
    assert not UsageHistory.objects.filter(user=fan).exists()
    assert set(Reservation.objects.filter(user=fan).values_list("status", flat=True)) == {"HOLD"}
    assert seat_snapshot(concert_date) == before
    assert_consistent()


def test_a_payment_made_before_the_show_still_replays_after_it_started(make_fan, concert_date):
    fan = make_fan(500_000)
    start = concert_date.starts_at
    services.hold_seats(
        user=fan, concert_date=concert_date, seat_numbers=[1], now=start - datetime.timedelta(minutes=3)
    )
    services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=start - datetime.timedelta(minutes=2))

    again = services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=start + datetime.timedelta(1))

    assert again.replayed and balance(user=fan) == 500_000 - again.total


def test_pay_charges_only_the_holds_the_checkout_page_showed(make_fan, concert_date, now):
    fan = make_fan(500_000)
    shown = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    # A second tab holds another seat after the first tab's checkout page was drawn.
    [extra] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[2], now=now)

    with pytest.raises(CheckoutChanged):
        services.pay(
            user=fan, concert_date=concert_date, idempotency_key="k", reservation_ids=[r.pk for r in shown], now=now
        )

    assert balance(user=fan) == 500_000
    assert not Payment.objects.exists()
    assert set(Reservation.objects.filter(user=fan).values_list("status", flat=True)) == {"HOLD"}
    # The page drawn again shows both seats; paying what it shows goes through, once.
    ids = [shown[0].pk, extra.pk]
    result = services.pay(user=fan, concert_date=concert_date, idempotency_key="k2", reservation_ids=ids, now=now)
    again = services.pay(user=fan, concert_date=concert_date, idempotency_key="k2", reservation_ids=ids, now=now)
    assert sorted(r.pk for r in result.reservations) == sorted(ids)
    assert again.replayed and balance(user=fan) == 500_000 - result.total
    assert_consistent()


def test_pay_refuses_a_bill_with_a_hold_that_is_gone(make_fan, concert_date, now):
    fan = make_fan(500_000)
    shown = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)
    services.release_hold(reservation=shown[1], now=now)

    with pytest.raises(CheckoutChanged):
        services.pay(
            user=fan, concert_date=concert_date, idempotency_key="k", reservation_ids=[r.pk for r in shown], now=now
        )
    assert balance(user=fan) == 500_000


def test_a_hold_that_ran_out_before_the_page_was_drawn_does_not_block_paying_what_it_shows(make_fan, concert_date, now):
    fan = make_fan(500_000)
    [old] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1], now=now)
    later = old.hold_expire_at + datetime.timedelta(seconds=1)  # seat 1's hold ran out; no sweep yet
    [shown] = services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[2], now=later)

    result = services.pay(
        user=fan, concert_date=concert_date, idempotency_key="k", reservation_ids=[shown.pk], now=later
    )

    assert [r.pk for r in result.reservations] == [shown.pk]
    old.refresh_from_db()
    assert old.status == "EXPIRED"
    assert_consistent()


def test_a_payment_and_the_end_of_its_admission_take_a_fixed_number_of_statements(
    make_fan, concert_date, now, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from queueing.models import QueueEntryHistory
    from tests.support import fans

    fan = make_fan(200_000)
    fans.admit(fan, concert_date.concert)
    services.hold_seats(user=fan, concert_date=concert_date, seat_numbers=[1, 2], now=now)

    # Savepoint and release (the test's transaction around it), the fan's lock, the key's payments, the date's
    # share lock, the seat locks, their last history times, the holds, then the debit (balance, ledger: under
    # the lock pay took, no second lock or savepoint), the holds confirmed, the seats sold, the e-mail owed,
    # the payments and the seats' history.
    with django_assert_num_queries(15), django_capture_on_commit_callbacks() as callbacks:
        services.pay(user=fan, concert_date=concert_date, idempotency_key="k", now=now)
    end_admission = callbacks[-1]
    assert end_admission.__qualname__.startswith("_after_payment")
    # Any seat held on the concert still? Then, in a savepoint, the token read and ended (the database
    # backend's two statements; Redis's one script) and its history row closed in one UPDATE, read first no more.
    with django_assert_num_queries(6):
        end_admission()
    row = QueueEntryHistory.objects.get(user=fan)
    assert row.exit_reason == "paid" and row.exited_at >= now
    assert row.duration_seconds == int((row.exited_at - row.entered_at).total_seconds())
