"""Holding, paying, cancelling and expiring seats: the only code that moves seats and reservations.

One module per workflow (holds, payments, cancellations, expiry); _seats has the date and seat locks and the
seat history they share. Locks are taken in the project's lock order (accounts.locking). Every status change
of a seat writes a SeatStatusHistory row in the same transaction. Callers use the names re-exported here:
`from booking import services; services.pay(...)`.
"""

from ._seats import lock_reservation
from .cancellations import cancel, refund_and_cancel, release_hold
from .expiry import EXPIRE_BATCH_SIZE, expire_holds
from .holds import hold_seats
from .payments import PaymentResult, pay

__all__ = [
    "EXPIRE_BATCH_SIZE",
    "PaymentResult",
    "cancel",
    "expire_holds",
    "hold_seats",
    "lock_reservation",
    "pay",
    "refund_and_cancel",
    "release_hold",
]
