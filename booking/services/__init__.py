"""booking's writes: holding, paying, cancelling and expiring seats (the only code that moves seats and
reservations), cancelling a whole date with its refunds, the CSV export, the door's check-in, the
confirmation e-mail outbox and the waiting lists of sold-out dates (waitlist, used as its module).

One module per workflow: holds, picks ("Pick the best seats for me"), payments, cancellations, expiry,
date_cancellations, exports, checkins, confirmations; _seats has the date and seat locks and the seat history
they share. Locks are taken in the project's lock order (accounts.locking). Every status change of a seat
writes a SeatStatusHistory row in the same transaction. Callers use the names re-exported here
(`from booking import services; services.pay(...)`); the outbox is used as its module
(`services.confirmations.send_owed(...)`), whose short names read with it.
"""

from . import confirmations, waitlist
from .cancellations import cancel, refund_and_cancel, release_hold, release_own_hold
from .checkins import check_in_ticket
from .date_cancellations import cancel_concert_date, end_reservations_of_cancelled_date, mark_date_cancelled
from .expiry import expire_holds
from .exports import request_export, write_export
from .holds import hold_seats
from .payments import PaymentResult, pay
from .picks import hold_best_seats

__all__ = [
    "PaymentResult",
    "cancel",
    "cancel_concert_date",
    "check_in_ticket",
    "confirmations",
    "end_reservations_of_cancelled_date",
    "expire_holds",
    "hold_best_seats",
    "hold_seats",
    "mark_date_cancelled",
    "pay",
    "refund_and_cancel",
    "release_hold",
    "release_own_hold",
    "request_export",
    "waitlist",
    "write_export",
]
