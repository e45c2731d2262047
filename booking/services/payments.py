"""Paying: checkout of a fan's holds on one date from the wallet, once per idempotency key, and what follows
a payment (the confirmation e-mail owed, the fan's admission ended)."""

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.locking import lock_user
from accounts.models import User
from concerts.models import Concert, ConcertDate, Seat, SeatStatusHistory
from wallet import exceptions as wallet_exceptions
from wallet import services as wallet_services
from wallet.exceptions import IdempotencyKeyReused

from .. import selectors
from ..exceptions import (
    BookingError,
    CheckoutChanged,
    DateNotBookable,
    HoldExpired,
    InsufficientBalanceToPay,
    InvalidPaymentRequest,
    NothingToPay,
)
from ..models import ConfirmationEmail, Payment, Reservation
from . import confirmations, waitlist
from ._seats import History, expire_seats, lock_seats, share_lock_date


@dataclass(frozen=True)
class PaymentResult:
    reservations: list[Reservation]  # CONFIRMED reservations, in seat order, seats joined
    payments: list[Payment]  # one SUCCESS Payment per reservation
    total: int
    balance_after: int
    replayed: bool = False  # True when this key had already paid: nothing was charged this time


def _idempotency_key(raw: object) -> str:
    key = raw.strip() if isinstance(raw, str) else ""
    if not key or len(key) > 64:
        raise InvalidPaymentRequest()
    return key


def _reservation_ids(raw: object) -> set[uuid.UUID]:
    """The reservation ids a checkout form sends, as a set of UUIDs. Raises InvalidPaymentRequest."""
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raise InvalidPaymentRequest()
    ids: set[uuid.UUID] = set()
    for item in raw:
        try:
            ids.add(item if isinstance(item, uuid.UUID) else uuid.UUID(str(item)))
        except ValueError as exc:
            raise InvalidPaymentRequest() from exc
        if len(ids) > settings.SEATS_PER_DATE:
            raise InvalidPaymentRequest()
    return ids


def _holds_shown(holds: list[Reservation], shown: set[uuid.UUID], *, now: datetime.datetime) -> list[Reservation]:
    """The locked holds the checkout page showed (`shown`: their ids). Raises CheckoutChanged when one of
    them is gone or a live hold was not shown. A hold that had already run out when the page was drawn (so
    it was not shown; the sweep has not reached it yet) is expired here rather than blocking the payment;
    when the page showed nothing, such holds are left to pay's own expiry refusal."""
    if not shown <= {hold.pk for hold in holds}:
        raise CheckoutChanged()
    unshown = [hold for hold in holds if hold.pk not in shown]
    # hold_seats always sets hold_expire_at; a hold without one would count as run out.
    if any(hold.hold_expire_at is not None and hold.hold_expire_at > now for hold in unshown):
        raise CheckoutChanged()
    if not shown:
        return holds
    if unshown:
        history = History(now)
        expire_seats([hold.seat for hold in unshown], history=history, now=now)
        history.save()
        waitlist.seats_returned(history.dates)
    return [hold for hold in holds if hold.pk in shown]


def _paid_with_key(*, user: User, concert_date: ConcertDate, key: str, balance: int) -> PaymentResult | None:
    payments = list(
        selectors.payments_with_key(user=user, concert_date_id=concert_date.pk, idempotency_key=key)
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


def _end_admission_if_done(*, user: User, concert: Concert, now: datetime.datetime) -> None:
    """End the fan's admission once a payment leaves them nothing held on the concert (any date).

    Seats the fan still holds on another date keep the admission, so paying date 1 does not strand them.
    (A hold that slips in after this check is still payable: checkout lets live holds through the gate.)
    """
    from queueing import services as queue_services

    if not selectors.holds_seats_on_concert(user=user, concert=concert, now=now):
        queue_services.end_for_user(user=user, concert=concert, reason=queue_services.EXIT_PAID)


def _after_payment(
    *, user: User, concert_date: ConcertDate, confirmation: ConfirmationEmail, now: datetime.datetime
) -> None:
    """Schedule what follows a successful checkout, once it has committed.

    Each follow-up is its own robust on-commit callback: one that fails (the queue backend, RQ's Redis) is
    logged and never skips the other, and neither can turn the committed payment into an error page. The
    e-mail is owed in the payment's own transaction (`confirmation`), so the beat sweep sends it if its
    enqueue fails.
    """
    confirmations.enqueue_on_commit(confirmation)

    def end_admission() -> None:  # named, not a partial: Django logs a failed robust callback by its __qualname__
        _end_admission_if_done(user=user, concert=concert_date.concert, now=now)

    transaction.on_commit(end_admission, robust=True)


def pay(
    *,
    user: User,
    concert_date: ConcertDate,
    idempotency_key: str,
    reservation_ids: Iterable[uuid.UUID | str] | None = None,
    language: str | None = None,
    now: datetime.datetime | None = None,
) -> PaymentResult:
    """Pay all of the fan's holds on this date from the wallet in one transaction; return a PaymentResult.

    Locks the user row, then the held seats in seat order. The same idempotency key (a retry, double click,
    or a concurrent second request) charges once and returns the first result with replayed=True; the same key
    with other `reservation_ids` than the seats it paid raises IdempotencyKeyReused (422), charging nothing.
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
    failure: BookingError | None = None
    with transaction.atomic():
        locked_user = lock_user(user.pk)
        replay = _paid_with_key(user=user, concert_date=concert_date, key=key, balance=locked_user.balance)
        if replay is not None:
            if shown is not None and shown != {reservation.pk for reservation in replay.reservations}:
                raise IdempotencyKeyReused()
            return replay

        starts_at = share_lock_date(concert_date)
        # The date's seats the fan holds, locked in seat order; found and locked in one statement.
        held = Reservation.objects.filter(user_id=user.pk, status=Reservation.Status.HOLD).values("seat_id")
        seats = {
            seat.pk: seat
            for seat in lock_seats(Seat.objects.filter(concert_date=concert_date, pk__in=held).order_by("seat_number"))
        }
        if not seats:
            raise NothingToPay()
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

        expired = [hold for hold in holds if hold.hold_expire_at is None or hold.hold_expire_at <= now]
        if starts_at <= now:
            # The show has begun: a hold made just before it may still be live, but it is no longer payable.
            failure = DateNotBookable.show_started()
        elif expired:
            failure = HoldExpired(seat_numbers=[hold.seat.seat_number for hold in expired])
            history = History(now)
            expire_seats([hold.seat for hold in expired], history=history, now=now)
            history.save()
            waitlist.seats_returned(history.dates)
        else:
            try:
                debit = wallet_services.debit(
                    user=user, items=[(hold, hold.price) for hold in holds], now=now, locked=locked_user
                )
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


def _confirm(
    *,
    user: User,
    concert_date: ConcertDate,
    holds: list[Reservation],
    key: str,
    debit: wallet_services.Debit,
    language: str | None,
    now: datetime.datetime,
) -> PaymentResult:
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
    history = History(now)
    for hold in holds:
        history.add(
            hold.seat,
            from_status=Seat.Status.HELD,
            to_status=Seat.Status.RESERVED,
            by=user,
            reason=SeatStatusHistory.Reason.PAID,
        )
        hold.status, hold.confirmed_at = Reservation.Status.CONFIRMED, now
        hold.seat.status, hold.seat.held_by_id, hold.seat.hold_expire_at = Seat.Status.RESERVED, None, None
    history.save()
    _after_payment(user=user, concert_date=concert_date, confirmation=confirmation, now=now)
    return PaymentResult(reservations=holds, payments=payments, total=debit.total, balance_after=debit.balance_after)
