"""Ending one reservation early: the fan's cancellation (refunded less the concert's cancellation fee, until the
cutoff), the fan's release of their own hold, staff's refund of a paid reservation (in full, no fee) and staff's
release of a hold. Each is idempotent or refuses a second time."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.locking import lock_user
from accounts.models import User
from concerts.models import SeatStatusHistory
from wallet import services as wallet_services

from .. import selectors
from ..exceptions import CancellationFeeChanged, HoldAlreadyPaid, HoldNotFound, ReservationNotCancellable
from ..models import Reservation
from . import expiry, waitlist
from ._seats import History, free_seats, lock_reservation, share_lock_date_row

# The seat history's code for each way a reservation ends here.
HISTORY_REASON: dict[str, SeatStatusHistory.Reason] = {
    Reservation.EndReason.FAN_CANCELLED: SeatStatusHistory.Reason.FAN_CANCELLED,
    Reservation.EndReason.STAFF_REFUNDED: SeatStatusHistory.Reason.STAFF_REFUNDED,
    Reservation.EndReason.STAFF_RELEASED: SeatStatusHistory.Reason.STAFF_RELEASED,
    Reservation.EndReason.FAN_RELEASED: SeatStatusHistory.Reason.FAN_RELEASED,
    Reservation.EndReason.DATE_CANCELLED: SeatStatusHistory.Reason.DATE_CANCELLED,
}


def _cancel_and_free(
    reservation: Reservation, *, end_reason: str, by: User | None, reason: str, now: datetime.datetime
) -> Reservation:
    """End a locked live reservation as CANCELLED for `end_reason` and make its seat AVAILABLE, with history
    (the code of `end_reason`; `reason`, the staff member's words if any, as its note)."""
    history = History(now)
    free_seats(
        [reservation.seat],
        live_status=reservation.status,
        ended_status=Reservation.Status.CANCELLED,
        end_reason=end_reason,
        by=by,
        reason=HISTORY_REASON.get(end_reason, SeatStatusHistory.Reason.OTHER),
        note=reason,
        history=history,
        now=now,
    )
    history.save()
    if end_reason != Reservation.EndReason.DATE_CANCELLED:  # a cancelled date sells nothing more
        waitlist.seats_returned([reservation.seat.concert_date_id])
    reservation.status, reservation.ended_at, reservation.end_reason = Reservation.Status.CANCELLED, now, end_reason
    return reservation


def _refund_and_free(
    *, user: User, reservation: Reservation, end_reason: str, by: User | None, reason: str, now: datetime.datetime
) -> Reservation:
    wallet_services.refund(user=user, amount=reservation.price, reservation=reservation, now=now)
    return _cancel_and_free(reservation, end_reason=end_reason, by=by, reason=reason, now=now)


def _audit_staff_end(action: str, reservation: Reservation, *, live_status: str, by: User | None, reason: str) -> None:
    """The audit entry of a staff refund or release (a date's cancellation has its own, for all its tickets)."""
    changes: dict[str, tuple[object, object]] = {
        "status": (live_status, reservation.status),
        "end_reason": (None, reservation.end_reason),
    }
    if action == "reservation.refund":
        changes["refunded_won"] = (0, reservation.price)
    audit.record(action, reservation, changes=changes, actor=by, note=reason)


def cancel(
    *,
    user: User,
    reservation: Reservation,
    accepted_fee: int | None = None,
    now: datetime.datetime | None = None,
) -> Reservation:
    """The fan cancels a paid reservation: the price less the concert's cancellation fee back to the wallet (a
    CANCELLATION row), the fee on record (a CANCELLATION_FEE row), reservation CANCELLED, seat AVAILABLE. The
    returned reservation carries `fee_charged` and `refunded` (won).

    Allowed until selectors.cancellation_deadline, never on the show's day, unless the organiser cancelled the
    date. Locks the fan's user row, then share-locks the date's row, then the seat (the lock order in
    accounts.locking), and checks selectors.cancellation_refusal and computes selectors.fee_for under those
    locks: so staff cancelling the date either wait for this cancellation (their refund job then finds the
    ticket ended by the fan) or come first (this refuses, the job refunds the ticket for the date's reason);
    never both. `accepted_fee` is the fee the fan confirmed (the cancel page's): a higher fee now raises
    CancellationFeeChanged and changes nothing; a lower one is charged (the fan is never charged more than
    they saw). None (callers that showed no page) charges the fee of `now`. Raises ReservationNotCancellable
    (not the fan's, or not CONFIRMED — so a second cancel is refused, never refunded twice),
    DateCancelledByOrganiser, TicketUsed, CancellationOnShowDay or CancellationClosed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked_user = lock_user(user.pk)
        if reservation.user_id != user.pk:
            raise ReservationNotCancellable()
        share_lock_date_row(reservation.seat.concert_date)
        reservation = lock_reservation(reservation)  # re-reads the reservation and its date under the locks
        if refusal := selectors.cancellation_refusal(reservation, now=now):
            raise refusal
        fee = selectors.fee_for(reservation, now=now)
        if accepted_fee is not None and fee.fee > accepted_fee:
            raise CancellationFeeChanged(accepted=accepted_fee, fee=fee.fee, refund=fee.refund)
        if fee.refund:
            wallet_services.refund(user=locked_user, amount=fee.refund, reservation=reservation, now=now)
        if fee.fee:
            wallet_services.keep_cancellation_fee(user=locked_user, amount=fee.fee, reservation=reservation, now=now)
        cancelled = _cancel_and_free(
            reservation, end_reason=Reservation.EndReason.FAN_CANCELLED, by=user, reason="", now=now
        )
        cancelled.fee_charged, cancelled.refunded = fee.fee, fee.refund
        return cancelled


def refund_and_cancel(
    *,
    reservation: Reservation,
    by: User | None = None,
    reason: str = "",
    end_reason: str = Reservation.EndReason.STAFF_REFUNDED,
    now: datetime.datetime | None = None,
) -> Reservation:
    """Staff refund of a paid reservation whatever the cutoff (e.g. a cancelled date: end_reason=DATE_CANCELLED).
    Idempotent. `reason` is the staff member's words (the seat history's note and the audit entry's).

    A reservation already CANCELLED is returned unchanged; one that is not CONFIRMED raises
    ReservationNotCancellable. Locks the reservation's user, then its seat. A staff refund (STAFF_REFUNDED) is
    audited ("reservation.refund"); a cancelled date's refunds are covered by the date's "date.cancel".
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked_user = lock_user(reservation.user_id)
        reservation = lock_reservation(reservation)
        if reservation.status == Reservation.Status.CANCELLED:
            return reservation
        if reservation.status != Reservation.Status.CONFIRMED:
            raise ReservationNotCancellable()
        reservation = _refund_and_free(
            user=locked_user, reservation=reservation, end_reason=end_reason, by=by, reason=reason, now=now
        )
        if end_reason == Reservation.EndReason.STAFF_REFUNDED:
            _audit_staff_end(
                "reservation.refund", reservation, live_status=Reservation.Status.CONFIRMED, by=by, reason=reason
            )
        return reservation


def release_hold(
    *,
    reservation: Reservation,
    by: User | None = None,
    reason: str = "",
    end_reason: str = Reservation.EndReason.STAFF_RELEASED,
    now: datetime.datetime | None = None,
) -> Reservation:
    """Staff end a fan's hold early: the seat becomes AVAILABLE, the reservation CANCELLED. Idempotent.

    A hold already ended (EXPIRED or CANCELLED) is returned unchanged; a paid one raises
    ReservationNotCancellable (refund it with refund_and_cancel instead). A staff release (STAFF_RELEASED) is
    audited ("reservation.release").
    """
    now = now or timezone.now()
    with transaction.atomic():
        reservation = lock_reservation(reservation)
        if reservation.status in (Reservation.Status.EXPIRED, Reservation.Status.CANCELLED):
            return reservation
        if reservation.status != Reservation.Status.HOLD:
            raise ReservationNotCancellable()
        reservation = _cancel_and_free(reservation, end_reason=end_reason, by=by, reason=reason, now=now)
        if end_reason == Reservation.EndReason.STAFF_RELEASED:
            _audit_staff_end(
                "reservation.release", reservation, live_status=Reservation.Status.HOLD, by=by, reason=reason
            )
        return reservation


def release_own_hold(*, user: User, reservation: Reservation, now: datetime.datetime | None = None) -> Reservation:
    """The fan lets one of their holds go (checkout's Release button, DELETE /api/v1/holds/{id}): the reservation
    CANCELLED (FAN_RELEASED), the seat AVAILABLE to anyone, as every release frees it (_cancel_and_free: the seat's
    history, a new seat version so seat maps refresh, the date's waiting list offered the seat once this commits).
    One transaction. Not audited: a fan's own action, recorded by its history rows (accounts.audit).

    Idempotent: a hold that has already ended (released before, run out, released by staff, an offer declined) is
    returned unchanged, and so is a hold whose time ran out before the fan let it go but that no sweep has ended
    yet, which ends here as the expiry sweep would end it (EXPIRED, HOLD_EXPIRED: a hold past its time is expired,
    swept or not). So the fan releasing while the sweep runs ends it once: the sweep skips a seat this holds
    locked, and this finds the hold ended once the sweep's lock is gone. Raises HoldNotFound for another fan's
    reservation, HoldAlreadyPaid for a paid one (even one cancelled since: only cancelling ends a booking).

    Locks the fan's user row, then the seat (accounts.locking), so a payment of the same hold either comes first
    (this refuses) or finds the hold gone.
    """
    now = now or timezone.now()
    if reservation.user_id != user.pk:
        raise HoldNotFound()
    with transaction.atomic():
        lock_user(user.pk)
        reservation = lock_reservation(reservation)  # re-reads it under the seat's lock
        if reservation.confirmed_at is not None:
            raise HoldAlreadyPaid()
        if reservation.status != Reservation.Status.HOLD:
            return reservation
        if reservation.hold_expire_at is not None and reservation.hold_expire_at > now:
            return _cancel_and_free(
                reservation, end_reason=Reservation.EndReason.FAN_RELEASED, by=user, reason="", now=now
            )
        expiry.expire_locked([reservation.seat], now=now)  # run out, not swept yet: ended as the sweep ends it
        reservation.status, reservation.ended_at = Reservation.Status.EXPIRED, now
        reservation.end_reason = Reservation.EndReason.HOLD_EXPIRED
        return reservation
