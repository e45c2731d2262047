"""The expiry sweep: holds past their time back to AVAILABLE in batches, never waiting on a seat lock."""

import datetime

from django.db import transaction
from django.utils import timezone

from concerts.models import Seat

from . import waitlist
from ._seats import History, expire_seats, lock_seats

EXPIRE_BATCH_SIZE = 500


def expire_locked(seats: list[Seat], *, now: datetime.datetime) -> None:
    """Expire these locked seats' run-out holds (seats AVAILABLE, reservations EXPIRED, history written) and have a
    sold-out date's waiting list offered the seats once the caller's transaction commits."""
    history = History(now)
    expire_seats(seats, history=history, now=now)
    history.save()
    waitlist.seats_returned(history.dates)


def expire_holds(*, now: datetime.datetime | None = None, batch_size: int = EXPIRE_BATCH_SIZE) -> int:
    """Turn every hold past its expiry back into an AVAILABLE seat; return how many were expired.

    Works in set-based batches (one UPDATE for the seats, one for the reservations, one bulk INSERT of
    history per batch), each batch its own transaction. Seats are claimed with SKIP LOCKED, so two workers
    split the work instead of queueing, and a seat being held or paid right now is left to that request.
    Idempotent: a second run finds nothing to do. Dates with a waiting list get their offer job queued once a
    batch commits (booking.services.waitlist.seats_returned).
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            seats = lock_seats(
                Seat.objects.filter(status=Seat.Status.HELD, hold_expire_at__lte=now)
                .only("id", "concert_date", "status")  # the date: its seat version changes
                .order_by("hold_expire_at"),
                skip_locked=True,
                limit=batch_size,
            )
            if seats:
                expire_locked(seats, now=now)
        total += len(seats)
        if len(seats) < batch_size:
            return total
