"""The seat picker ("Pick the best seats for me"): hold the best free seats side by side (booking.seat_rows)
for a count and a price."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from concerts.models import ConcertDate, Seat

from .. import seat_rows
from ..exceptions import InvalidSeatSelection, NoSeatsTogether
from ..models import Reservation
from ._seats import read_last_history
from .holds import check_bookable, hold_locked_seats, offers_nudged_when_kept, take_hold_locks


def hold_best_seats(
    *, user: User, concert_date: ConcertDate, count: int, price: int | None = None, now: datetime.datetime | None = None
) -> list[Reservation]:
    """Hold the best `count` free seats side by side of the date for the fan (every one at `price`, when given)
    in one transaction, as hold_seats holds them (the same checks and locks, each taken once); return the HOLD
    reservations, in seat order.

    Locks the user row, share-locks the date (and a presale's row), then locks every free seat of the date (at
    `price`) in seat order: the project's lock order, so it never deadlocks with a hold or payment. Two picks on
    one date therefore take turns, and the second sees the seats the first took: two fans picking at once never
    get the same seat. The locks end with the transaction (a few milliseconds).

    Raises InvalidSeatSelection (a count outside 1..seat_rows.most_to_pick(), or a price no seat of the date has),
    DateNotBookable, SaleNotOpen, SeatsKeptForWaitlist, SeatLimitReached, PresaleQuotaReached, or NoSeatsTogether
    when no block fits.
    """
    now = now or timezone.now()
    most = seat_rows.most_to_pick()
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        raise InvalidSeatSelection.pick_count(most)
    presale = check_bookable(concert_date, now, user=user)
    with offers_nudged_when_kept(concert_date, now=now), transaction.atomic():
        take_hold_locks(user=user, concert_date=concert_date, presale=presale, count=count, now=now)
        free_now = Q(status=Seat.Status.AVAILABLE) | Q(status=Seat.Status.HELD, hold_expire_at__lte=now)
        seats = Seat.objects.filter(free_now, concert_date=concert_date)
        if price is not None:
            seats = seats.filter(price=price)
        # Locked in seat order; a seat another transaction is taking is waited for and then read again.
        free = {
            seat.seat_number: seat
            for seat in seats.order_by("seat_number").select_for_update(no_key=True, of=("self",))
        }
        best = seat_rows.best_block(
            {number: seat.price for number, seat in free.items()},
            count=count,
            seats=settings.SEATS_PER_DATE,
            price=price,
        )
        if best is None:
            if price is not None and not Seat.objects.filter(concert_date=concert_date, price=price).exists():
                raise InvalidSeatSelection.no_such_price()
            raise NoSeatsTogether(count=count, price=price)
        chosen = [free[number] for number in best.numbers]
        read_last_history(chosen)
        return hold_locked_seats(user=user, seats=chosen, presale=presale, now=now)
