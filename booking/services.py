"""Holding, paying, cancelling and expiring seats: the only code that moves seats and reservations.

Locks are taken in the project's lock order (accounts.locking): the fan's user row, the date row, then seats
in seat_number order; the expiry sweep only skips locked seats. Every status change of a seat writes a
SeatStatusHistory row in the same transaction.
"""

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.locking import lock_user
from concerts.models import ConcertDate, Seat, SeatStatusHistory
from wallet import exceptions as wallet_exceptions
from wallet import services as wallet_services

from . import confirmations, selectors
from .exceptions import (
    CancellationClosed,
    CheckoutChanged,
    DateNotBookable,
    HoldExpired,
    InsufficientBalanceToPay,
    InvalidPaymentRequest,
    InvalidSeatSelection,
    NothingToPay,
    ReservationNotCancellable,
    SaleNotOpen,
    SeatLimitReached,
    SeatTaken,
)
from .models import Payment, Reservation

EXPIRE_BATCH_SIZE = 500


# --- locking and history ------------------------------------------------------------------------


def _lock_seats(queryset, *, skip_locked=False, limit=None):
    """Lock the seats in the queryset's order; each gets `last_history_at`, the time of its last history row."""
    queryset = queryset.select_for_update(no_key=True, of=("self",), skip_locked=skip_locked)
    seats = list(queryset if limit is None else queryset[:limit])
    if seats:
        # Read only once the locks are held: the locking statement's own snapshot predates a change we may
        # have waited for, and reusing that change's timestamp would make "the last row" ambiguous.
        last = dict(
            SeatStatusHistory.objects.filter(seat_id__in=[seat.pk for seat in seats])
            .order_by()
            .values("seat_id")
            .annotate(at=Max("changed_at"))
            .values_list("seat_id", "at")
        )
        for seat in seats:
            seat.last_history_at = last.get(seat.pk)
    return seats


class _History:
    """Collects SeatStatusHistory rows for one transaction.

    Each seat's rows get strictly increasing changed_at (at least `now`, after the seat's last row), so
    "the last history row" of a seat is well defined even when two changes happen in one transaction or a
    caller's `now` is behind an earlier change. The seat lock keeps this safe between transactions.
    """

    def __init__(self, now):
        self.now = now
        self.rows = []
        self.last = {}

    def add(self, seat, *, from_status, to_status, by, reason):
        last = self.last.get(seat.pk, getattr(seat, "last_history_at", None))
        at = self.now if last is None or last < self.now else last + datetime.timedelta(microseconds=1)
        self.last[seat.pk] = at
        self.rows.append(
            SeatStatusHistory(
                seat_id=seat.pk,
                from_status=from_status,
                to_status=to_status,
                changed_by_id=getattr(by, "pk", None),
                reason=reason,
                changed_at=at,
            )
        )

    def save(self):
        SeatStatusHistory.objects.bulk_create(self.rows)


def _free_seats(seats, *, live_status, ended_status, end_reason, by, reason, history, now):
    """Make locked seats AVAILABLE and end their live reservation (`live_status` → `ended_status`, and why)."""
    ids = [seat.pk for seat in seats]
    Reservation.objects.filter(seat_id__in=ids, status=live_status).update(
        status=ended_status, ended_at=now, end_reason=end_reason
    )
    Seat.objects.filter(pk__in=ids).update(status=Seat.Status.AVAILABLE, held_by=None, hold_expire_at=None)
    for seat in seats:
        history.add(seat, from_status=seat.status, to_status=Seat.Status.AVAILABLE, by=by, reason=reason)
        seat.status, seat.held_by_id, seat.hold_expire_at = Seat.Status.AVAILABLE, None, None


def _expire_seats(seats, *, history, now):
    """Free locked seats whose hold has passed; their HOLD reservations become EXPIRED."""
    _free_seats(
        seats,
        live_status=Reservation.Status.HOLD,
        ended_status=Reservation.Status.EXPIRED,
        end_reason=Reservation.EndReason.HOLD_EXPIRED,
        by=None,
        reason="hold expired",
        history=history,
        now=now,
    )


def _share_lock_date(concert_date):
    """Share-lock the date row for this transaction, refuse it if it has been cancelled, and return its start
    as it is now (staff may have moved it since `concert_date` was read).

    concerts.services.cancel_date and reschedule_concert_date lock the row for update, so a date cannot be
    cancelled or moved while a hold or payment on it is in flight, and the refund job that follows a
    cancellation sees every reservation made before. Holds and payments on one date still run side by side
    (FOR SHARE does not block FOR SHARE).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT status, starts_at FROM {ConcertDate._meta.db_table} WHERE id = %s FOR SHARE",
                [concert_date.pk],
            )
            status, starts_at = cursor.fetchone()
    else:  # SQLite runs one writing transaction at a time anyway
        status, starts_at = ConcertDate.objects.values_list("status", "starts_at").get(pk=concert_date.pk)
    if status == ConcertDate.Status.CANCELLED:
        raise DateNotBookable.cancelled()
    return starts_at


def lock_reservation(reservation: Reservation) -> Reservation:
    """Lock the reservation's seat and re-read both: the seat lock guards every change of its reservations
    (cancel, refund, release) and the door's check-in of it (booking.checkins). Call inside a transaction."""
    seat = _lock_seats(Seat.objects.filter(pk=reservation.seat_id).select_related("concert_date__concert"))[0]
    fresh = Reservation.objects.get(pk=reservation.pk)
    fresh.seat = seat
    return fresh


# --- holding ------------------------------------------------------------------------------------


def _seat_numbers(raw):
    """Validate what a form or caller sends as seat numbers; return them sorted. Raises InvalidSeatSelection."""
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raise InvalidSeatSelection()
    numbers = []
    for item in raw:
        text = item.strip() if isinstance(item, str) else None
        if text and text.isascii() and text.isdigit() and len(text) <= 9:  # a form's "7"
            item = int(text)
        if isinstance(item, bool) or not isinstance(item, int):
            raise InvalidSeatSelection()
        numbers.append(item)
        if len(numbers) > settings.SEATS_PER_DATE:
            raise InvalidSeatSelection()
    if not numbers:
        raise InvalidSeatSelection()
    if any(not 1 <= n <= settings.SEATS_PER_DATE for n in numbers):
        raise InvalidSeatSelection.out_of_range(settings.SEATS_PER_DATE)
    if len(set(numbers)) != len(numbers):
        raise InvalidSeatSelection.repeated()
    return sorted(numbers)


def _check_bookable(concert_date, now):
    if concert_date.is_cancelled:
        raise DateNotBookable.cancelled()
    if selectors.show_has_started(concert_date, now=now):
        raise DateNotBookable()
    if not concert_date.concert.is_on_sale(now):
        raise SaleNotOpen()


def hold_seats(*, user, concert_date, seat_numbers, now=None):
    """Hold these seats of the date for the fan, all or nothing, for HOLD_SECONDS; return the HOLD reservations.

    Locks the user row, then the seats in seat order. A seat whose hold has expired counts as available: its
    old reservation becomes EXPIRED in the same transaction. Raises InvalidSeatSelection, DateNotBookable,
    SaleNotOpen, SeatLimitReached (more than MAX_SEATS_PER_USER live seats on the date) or SeatTaken.
    """
    now = now or timezone.now()
    numbers = _seat_numbers(seat_numbers)
    _check_bookable(concert_date, now)
    with transaction.atomic():
        lock_user(user.pk)
        if _share_lock_date(concert_date) <= now:  # moved earlier by staff since the caller read it
            raise DateNotBookable()
        already = selectors.live_seat_count(user=user, concert_date=concert_date, now=now)
        if already + len(numbers) > settings.MAX_SEATS_PER_USER:
            raise SeatLimitReached(limit=settings.MAX_SEATS_PER_USER, already=already, requested=len(numbers))
        seats = _lock_seats(
            Seat.objects.filter(concert_date=concert_date, seat_number__in=numbers).order_by("seat_number")
        )
        if len(seats) != len(numbers):
            raise InvalidSeatSelection()
        taken = [seat.seat_number for seat in seats if not seat.is_free_at(now)]
        if taken:
            raise SeatTaken(seat_numbers=taken)

        history = _History(now)
        expired = [seat for seat in seats if seat.status == Seat.Status.HELD]
        if expired:
            _expire_seats(expired, history=history, now=now)
        expire_at = now + datetime.timedelta(seconds=settings.HOLD_SECONDS)
        Seat.objects.filter(pk__in=[seat.pk for seat in seats]).update(
            status=Seat.Status.HELD, held_by=user.pk, hold_expire_at=expire_at
        )
        reservations = Reservation.objects.bulk_create(
            Reservation(
                user_id=user.pk,
                seat=seat,
                status=Reservation.Status.HOLD,
                price=seat.price,
                created_at=now,
                hold_expire_at=expire_at,
            )
            for seat in seats
        )
        for seat in seats:
            history.add(seat, from_status=Seat.Status.AVAILABLE, to_status=Seat.Status.HELD, by=user, reason="held")
            seat.status, seat.held_by_id, seat.hold_expire_at = Seat.Status.HELD, user.pk, expire_at
        history.save()
    return reservations


# --- paying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    reservations: list  # CONFIRMED reservations, in seat order, seats joined
    payments: list  # one SUCCESS Payment per reservation
    total: int
    balance_after: int
    replayed: bool = False  # True when this key had already paid: nothing was charged this time


def _idempotency_key(raw):
    key = raw.strip() if isinstance(raw, str) else ""
    if not key or len(key) > 64:
        raise InvalidPaymentRequest()
    return key


def _reservation_ids(raw):
    """The reservation ids a checkout form sends, as a set of UUIDs. Raises InvalidPaymentRequest."""
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raise InvalidPaymentRequest()
    ids = set()
    for item in raw:
        try:
            ids.add(item if isinstance(item, uuid.UUID) else uuid.UUID(str(item)))
        except ValueError as exc:
            raise InvalidPaymentRequest() from exc
        if len(ids) > settings.SEATS_PER_DATE:
            raise InvalidPaymentRequest()
    return ids


def _holds_shown(holds, shown, *, now):
    """The locked holds the checkout page showed (`shown`: their ids). Raises CheckoutChanged when one of
    them is gone or a live hold was not shown. A hold that had already run out when the page was drawn (so
    it was not shown; the sweep has not reached it yet) is expired here rather than blocking the payment;
    when the page showed nothing, such holds are left to pay's own expiry refusal."""
    if not shown <= {hold.pk for hold in holds}:
        raise CheckoutChanged()
    unshown = [hold for hold in holds if hold.pk not in shown]
    if any(hold.hold_expire_at > now for hold in unshown):
        raise CheckoutChanged()
    if not shown:
        return holds
    if unshown:
        history = _History(now)
        _expire_seats([hold.seat for hold in unshown], history=history, now=now)
        history.save()
    return [hold for hold in holds if hold.pk in shown]


def _paid_with_key(*, user, concert_date, key, balance):
    payments = list(
        Payment.objects.filter(
            user_id=user.pk,
            idempotency_key=key,
            status=Payment.Status.SUCCESS,
            reservation__seat__concert_date=concert_date,
        )
        .select_related("reservation__seat")
        .order_by("reservation__seat__seat_number")
    )
    if not payments:
        return None
    return PaymentResult(
        reservations=[p.reservation for p in payments],
        payments=payments,
        total=sum(p.amount for p in payments),
        balance_after=balance,
        replayed=True,
    )


def _end_admission_if_done(*, user, concert, now):
    """End the fan's admission once a payment leaves them nothing held on the concert (any date).

    Seats the fan still holds on another date keep the admission, so paying date 1 does not strand them.
    (A hold that slips in after this check is still payable: checkout lets live holds through the gate.)
    """
    from queueing import services as queue_services

    if not selectors.holds_seats_on_concert(user=user, concert=concert, now=now):
        queue_services.end_for_user(user=user, concert=concert, reason="paid")


def _after_payment(*, user, concert_date, confirmation, now):
    """Schedule what follows a successful checkout, once it has committed.

    Each follow-up is its own robust on-commit callback: one that fails (the queue backend, RQ's Redis) is
    logged and never skips the other, and neither can turn the committed payment into an error page. The
    e-mail is owed in the payment's own transaction (`confirmation`), so the beat sweep sends it if its
    enqueue fails.
    """
    confirmations.enqueue_on_commit(confirmation)

    def end_admission():  # named, not a partial: Django logs a failed robust callback by its __qualname__
        _end_admission_if_done(user=user, concert=concert_date.concert, now=now)

    transaction.on_commit(end_admission, robust=True)


def pay(*, user, concert_date, idempotency_key, reservation_ids=None, language=None, now=None):
    """Pay all of the fan's holds on this date from the wallet in one transaction; return a PaymentResult.

    Locks the user row, then the held seats in seat order. The same idempotency key (a retry, double click,
    or a concurrent second request) charges once and returns the first result with replayed=True.
    If the show has started, a hold has expired or the balance is short, one FAILED Payment per hold is
    committed with the reason and nothing is charged or confirmed; then DateNotBookable, HoldExpired or
    InsufficientBalanceToPay is raised. (Expired holds themselves are swept in that transaction, as every reader
    already sees them as free; a hold on a started show is left to expire.)
    Raises NothingToPay when the fan holds nothing on the date, InvalidPaymentRequest for a bad key,
    DateNotBookable when the date has been cancelled (its refund job releases the holds).
    `reservation_ids` are the holds the checkout page showed: when given, the fan's holds on the date must
    be exactly those, else CheckoutChanged is raised and nothing is charged or recorded (a hold made in
    another window is never added to the bill). None pays every hold on the date (scripts, benchmarks).
    A successful payment owes the fan a confirmation e-mail in `language` (default: the active language).
    """
    now = now or timezone.now()
    key = _idempotency_key(idempotency_key)
    shown = None if reservation_ids is None else _reservation_ids(reservation_ids)
    failure = None
    with transaction.atomic():
        locked_user = lock_user(user.pk)
        replay = _paid_with_key(user=user, concert_date=concert_date, key=key, balance=locked_user.balance)
        if replay is not None:
            return replay

        starts_at = _share_lock_date(concert_date)
        seat_ids = list(
            Reservation.objects.filter(
                user_id=user.pk, status=Reservation.Status.HOLD, seat__concert_date=concert_date
            ).values_list("seat_id", flat=True)
        )
        if not seat_ids:
            raise NothingToPay()
        seats = {seat.pk: seat for seat in _lock_seats(Seat.objects.filter(pk__in=seat_ids).order_by("seat_number"))}
        # Re-read under the seat locks: another fan may have taken over an expired hold meanwhile.
        holds = list(
            Reservation.objects.filter(user_id=user.pk, status=Reservation.Status.HOLD, seat_id__in=list(seats))
        )
        if not holds:
            raise NothingToPay()
        for hold in holds:
            hold.seat = seats[hold.seat_id]
        holds.sort(key=lambda r: r.seat.seat_number)
        if shown is not None:
            holds = _holds_shown(holds, shown, now=now)

        expired = [hold for hold in holds if hold.hold_expire_at <= now]
        if starts_at <= now:
            # The show has begun: a hold made just before it may still be live, but it is no longer payable.
            failure = DateNotBookable.show_started()
        elif expired:
            failure = HoldExpired(seat_numbers=[hold.seat.seat_number for hold in expired])
            history = _History(now)
            _expire_seats([hold.seat for hold in expired], history=history, now=now)
            history.save()
        else:
            try:
                debit = wallet_services.debit(user=user, items=[(hold, hold.price) for hold in holds], now=now)
            except wallet_exceptions.InsufficientBalance as exc:
                failure = InsufficientBalanceToPay(needed=exc.needed, available=exc.available)

        if failure is not None:
            # Committed, not rolled back: the refused attempt stays on record.
            Payment.objects.bulk_create(
                Payment(
                    user_id=user.pk,
                    reservation=hold,
                    amount=hold.price,
                    status=Payment.Status.FAILED,
                    reason=failure.reason,
                    idempotency_key=key,
                    paid_at=now,
                )
                for hold in holds
            )
        else:
            result = _confirm(
                user=user, concert_date=concert_date, holds=holds, key=key, debit=debit, language=language, now=now
            )
    if failure is not None:
        raise failure
    return result


def _confirm(*, user, concert_date, holds, key, debit, language, now):
    ids = [hold.pk for hold in holds]
    Reservation.objects.filter(pk__in=ids).update(status=Reservation.Status.CONFIRMED, confirmed_at=now)
    Seat.objects.filter(pk__in=[hold.seat_id for hold in holds]).update(
        status=Seat.Status.RESERVED, held_by=None, hold_expire_at=None
    )
    confirmation = confirmations.owe(user=user, language=language, now=now)
    payments = Payment.objects.bulk_create(
        Payment(
            user_id=user.pk,
            reservation=hold,
            amount=hold.price,
            status=Payment.Status.SUCCESS,
            idempotency_key=key,
            paid_at=now,
            confirmation=confirmation,
        )
        for hold in holds
    )
    history = _History(now)
    for hold in holds:
        history.add(hold.seat, from_status=Seat.Status.HELD, to_status=Seat.Status.RESERVED, by=user, reason="paid")
        hold.status, hold.confirmed_at = Reservation.Status.CONFIRMED, now
        hold.seat.status, hold.seat.held_by_id, hold.seat.hold_expire_at = Seat.Status.RESERVED, None, None
    history.save()
    _after_payment(user=user, concert_date=concert_date, confirmation=confirmation, now=now)
    return PaymentResult(reservations=holds, payments=payments, total=debit.total, balance_after=debit.balance_after)


# --- cancelling and releasing -------------------------------------------------------------------


def _cancel_and_free(reservation, *, end_reason, by, reason, now):
    """End a locked live reservation as CANCELLED for `end_reason` and make its seat AVAILABLE, with history."""
    history = _History(now)
    _free_seats(
        [reservation.seat],
        live_status=reservation.status,
        ended_status=Reservation.Status.CANCELLED,
        end_reason=end_reason,
        by=by,
        reason=reason,
        history=history,
        now=now,
    )
    history.save()
    reservation.status, reservation.ended_at, reservation.end_reason = Reservation.Status.CANCELLED, now, end_reason
    return reservation


def _refund_and_free(*, user, reservation, end_reason, by, reason, now):
    wallet_services.refund(user=user, amount=reservation.price, reservation=reservation, now=now)
    return _cancel_and_free(reservation, end_reason=end_reason, by=by, reason=reason, now=now)


def cancel(*, user, reservation, now=None):
    """The fan cancels a paid reservation: full refund to the wallet, reservation CANCELLED, seat AVAILABLE.

    Allowed until CANCEL_CUTOFF_HOURS before the show. Raises ReservationNotCancellable (not the fan's, or
    not CONFIRMED — so a second cancel is refused, never refunded twice) or CancellationClosed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked_user = lock_user(user.pk)
        reservation = lock_reservation(reservation)
        if reservation.user_id != user.pk or reservation.status != Reservation.Status.CONFIRMED:
            raise ReservationNotCancellable()
        if now >= selectors.cancellation_deadline(reservation.seat.concert_date):
            raise CancellationClosed()
        return _refund_and_free(
            user=locked_user,
            reservation=reservation,
            end_reason=Reservation.EndReason.FAN_CANCELLED,
            by=user,
            reason="cancelled by the fan",
            now=now,
        )


def refund_and_cancel(
    *, reservation, by=None, reason="refunded by staff", end_reason=Reservation.EndReason.STAFF_REFUNDED, now=None
):
    """Staff refund of a paid reservation whatever the cutoff (e.g. a cancelled date: end_reason=DATE_CANCELLED).
    Idempotent.

    A reservation already CANCELLED is returned unchanged; one that is not CONFIRMED raises
    ReservationNotCancellable. Locks the reservation's user, then its seat.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked_user = lock_user(reservation.user_id)
        reservation = lock_reservation(reservation)
        if reservation.status == Reservation.Status.CANCELLED:
            return reservation
        if reservation.status != Reservation.Status.CONFIRMED:
            raise ReservationNotCancellable()
        return _refund_and_free(
            user=locked_user, reservation=reservation, end_reason=end_reason, by=by, reason=reason, now=now
        )


def release_hold(
    *, reservation, by=None, reason="released by staff", end_reason=Reservation.EndReason.STAFF_RELEASED, now=None
):
    """Staff end a fan's hold early: the seat becomes AVAILABLE, the reservation CANCELLED. Idempotent.

    A hold already ended (EXPIRED or CANCELLED) is returned unchanged; a paid one raises
    ReservationNotCancellable (refund it with refund_and_cancel instead).
    """
    now = now or timezone.now()
    with transaction.atomic():
        reservation = lock_reservation(reservation)
        if reservation.status in (Reservation.Status.EXPIRED, Reservation.Status.CANCELLED):
            return reservation
        if reservation.status != Reservation.Status.HOLD:
            raise ReservationNotCancellable()
        return _cancel_and_free(reservation, end_reason=end_reason, by=by, reason=reason, now=now)


# --- expiry -------------------------------------------------------------------------------------


def expire_holds(*, now=None, batch_size=EXPIRE_BATCH_SIZE):
    """Turn every hold past its expiry back into an AVAILABLE seat; return how many were expired.

    Works in set-based batches (one UPDATE for the seats, one for the reservations, one bulk INSERT of
    history per batch), each batch its own transaction. Seats are claimed with SKIP LOCKED, so two workers
    split the work instead of queueing, and a seat being held or paid right now is left to that request.
    Idempotent: a second run finds nothing to do.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            seats = _lock_seats(
                Seat.objects.filter(status=Seat.Status.HELD, hold_expire_at__lte=now)
                .only("id", "status")
                .order_by("hold_expire_at"),
                skip_locked=True,
                limit=batch_size,
            )
            if seats:
                history = _History(now)
                _expire_seats(seats, history=history, now=now)
                history.save()
        total += len(seats)
        if len(seats) < batch_size:
            return total
