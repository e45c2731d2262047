"""Door check-in: the one write that lets a ticket in. A paid ticket enters once, for its own date, and the
entry is recorded (CheckIn: which ticket, when, at which door, which staff member); every other scan is refused
with its reason and writes nothing. The door page (booking.door_views) only calls this: it is the one place a
check-in is written, so whatever must happen with each entry (an audit row) belongs here, in its transaction.
"""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from concerts.models import ConcertDate

from .. import tickets
from ..exceptions import TicketAlreadyCheckedIn, TicketForAnotherDate, TicketNotValid
from ..models import CheckIn, Reservation
from ._seats import lock_reservation


def check_in_ticket(
    *,
    code: str,
    concert_date: ConcertDate,
    by: User | None,
    door: str = "",
    now: datetime.datetime | None = None,
) -> CheckIn:
    """Let the ticket with `code` in for `concert_date` (the date the door is checking) at `door` (its name, as
    the door page sets it; cut to CheckIn.DOOR_MAX_LENGTH); return its CheckIn.

    Locks the ticket's seat (lock_reservation, the lock every change of a reservation takes), so
    a refund and a check-in of one ticket run one after the other, and two doors scanning one ticket at
    once record one entry: the second waits for the lock, then finds the first entry and is refused.
    The unique constraint checkin_one_per_reservation says the same in the database.

    Raises (all TicketRefused, nothing written): TicketCodeInvalid (forged, altered, unknown code),
    TicketForAnotherDate, TicketNotValid (never paid, refunded, or its date cancelled),
    TicketAlreadyCheckedIn (carrying the first entry: when, at which door and by whom). The entry is audited
    ("ticket.check_in", with its door) in its transaction.
    """
    now = now or timezone.now()
    door = " ".join(door.split())[: CheckIn.DOOR_MAX_LENGTH]
    reservation = tickets.reservation_for_code(code)
    with transaction.atomic():
        reservation = lock_reservation(reservation)
        ticket_date = reservation.seat.concert_date
        if ticket_date.pk != concert_date.pk:
            raise TicketForAnotherDate(reservation=reservation)
        if reservation.status != Reservation.Status.CONFIRMED:
            raise TicketNotValid.for_reservation(reservation)
        if ticket_date.is_cancelled:
            raise TicketNotValid.date_cancelled(reservation)
        first = CheckIn.objects.select_related("checked_in_by").filter(reservation=reservation).first()
        if first is not None:
            first.reservation = reservation
            raise TicketAlreadyCheckedIn(check_in=first)
        try:
            with transaction.atomic():
                check_in = CheckIn.objects.create(
                    reservation=reservation, checked_in_by=by, checked_in_at=now, door=door
                )
        except IntegrityError:
            # Only a writer that skipped the seat lock gets here; the constraint kept the entry single.
            first = CheckIn.objects.select_related("checked_in_by").get(reservation=reservation)
            raise TicketAlreadyCheckedIn(check_in=first) from None
        # Audited with the entry (never the ticket's code); a refused scan writes nothing, here either.
        audit.record(
            "ticket.check_in", reservation, changes={"checked_in_at": (None, now), "door": (None, door)}, actor=by
        )
    return check_in
