"""The seat picker ("Pick the best seats for me"): hold the best free seats side by side (booking.seat_rows)
for a count and a price."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.locking import lock_user
from accounts.models import User
from concerts.models import ConcertDate, Seat

from .. import seat_rows, selectors
from ..exceptions import DateNotBookable, InvalidSeatSelection, NoSeatsTogether, PresaleQuotaReached, SeatLimitReached
from ..models import Reservation
from ._seats import share_lock_date_for_hold
from .holds import check_bookable, hold_seats, lock_presale_quota


def hold_best_seats(
    *, user: User, concert_date: ConcertDate, count: int, price: int | None = None, now: datetime.datetime | None = None
) -> list[Reservation]:
    """Hold the best `count` free seats side by side of the date for the fan (every one at `price`, when given)
    through hold_seats, in one transaction; return the HOLD reservations, in seat order.

    Locks the user row, share-locks the date, then locks every free seat of the date (at `price`) in seat order:
    the project's lock order, so it never deadlocks with a hold or payment. Two picks on one date therefore take
    turns, and the second sees the seats the first took: two fans picking at once never get the same seat. The
    locks end with the transaction (a few milliseconds).

    Raises InvalidSeatSelection (a count outside 1..seat_rows.most_to_pick(), or a price no seat of the date has),
    DateNotBookable, SaleNotOpen, SeatsKeptForWaitlist, SeatLimitReached, or NoSeatsTogether when no block fits.
    """
    now = now or timezone.now()
    most = seat_rows.most_to_pick()
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        raise InvalidSeatSelection.pick_count(most)
    presale = check_bookable(concert_date, now, user=user)
    with transaction.atomic():
        lock_user(user.pk)
        if share_lock_date_for_hold(concert_date) <= now:  # moved earlier by staff since the caller read it
            raise DateNotBookable()
        already = selectors.live_seat_count(user=user, concert_date=concert_date, now=now)
        if already + count > settings.MAX_SEATS_PER_USER:
            raise SeatLimitReached(limit=settings.MAX_SEATS_PER_USER, already=already, requested=count)
        if presale is not None:  # its row before the seats, as hold_seats takes it (the lock order)
            left = lock_presale_quota(presale, now=now)
            if count > left:
                raise PresaleQuotaReached(left=left)
        free_now = Q(status=Seat.Status.AVAILABLE) | Q(status=Seat.Status.HELD, hold_expire_at__lte=now)
        seats = Seat.objects.filter(free_now, concert_date=concert_date)
        if price is not None:
            seats = seats.filter(price=price)
        # Locked in seat order; a seat another transaction is taking is waited for and then read again.
        locked = seats.order_by("seat_number").select_for_update(no_key=True, of=("self",))
        free = dict(locked.values_list("seat_number", "price"))
        best = seat_rows.best_block(free, count=count, seats=settings.SEATS_PER_DATE, price=price)
        if best is None:
            if price is not None and not Seat.objects.filter(concert_date=concert_date, price=price).exists():
                raise InvalidSeatSelection.no_such_price()
            raise NoSeatsTogether(count=count, price=price)
        return hold_seats(user=user, concert_date=concert_date, seat_numbers=best.numbers, now=now)
